"""Tensors and datasets from lists, numpy arrays and CSV files (no server needed)."""
import os
import subprocess
import sys

import pytest

import modelwire
from conftest import DATA, HERE
from modelwire import pb


def test_tensors_from_lists():
    assert modelwire.tensor([[1, 2], [3, 4], [5, 6]]) == pb.Tensor(columns=2, values=[1, 2, 3, 4, 5, 6])
    assert modelwire.tensor([1, 2, 3]) == pb.Tensor(columns=3, values=[1, 2, 3])  # one row
    assert modelwire.tensor([1, 2, 3, 4], columns=2) == pb.Tensor(columns=2, values=[1, 2, 3, 4])
    t = pb.Tensor(columns=1, values=[7])
    assert modelwire.tensor(t) is t
    assert modelwire.rows(modelwire.tensor([[1, 2], [3, 4]])) == 2
    with pytest.raises(ValueError):
        modelwire.tensor([[1, 2], [3]])


def test_tensors_from_numpy():
    np = pytest.importorskip("numpy")
    assert modelwire.tensor(np.arange(6, dtype=np.float64).reshape(3, 2)) == pb.Tensor(columns=2, values=range(6))
    assert modelwire.tensor(np.arange(4)) == pb.Tensor(columns=4, values=range(4))
    with pytest.raises(ValueError):
        modelwire.tensor(np.zeros((2, 2, 2)))


def test_datasets_from_labels_and_targets():
    d = modelwire.dataset([[1], [2], [3]], ["b", "a", "b"])
    assert list(d.class_names) == ["a", "b"] and list(d.class_ids) == [1, 0, 1]
    d = modelwire.dataset([[1], [2]], [1, 0], class_names=["no", "yes"], feature_names=["x"])
    assert list(d.class_names) == ["no", "yes"] and list(d.class_ids) == [1, 0] and list(d.feature_names) == ["x"]
    d = modelwire.dataset([[1], [2]], targets=[0.5, 1.5])
    assert list(d.targets) == [0.5, 1.5] and not d.class_names


def test_read_csv_orders_integer_labels_numerically():
    iris = modelwire.read_csv(os.path.join(DATA, "iris.csv"))
    assert iris.features.columns == 4 and modelwire.rows(iris.features) == 150
    assert list(iris.class_names) == ["0", "1", "2"] and len(iris.class_ids) == 150
    assert iris.feature_names[0] == "sepal length (cm)"
    digits = modelwire.read_csv(os.path.join(DATA, "digits.csv"))
    assert list(digits.class_names) == [str(i) for i in range(10)]  # 10 after 9, not after 1


def test_the_package_works_without_numpy():
    code = ("import sys; sys.modules['numpy'] = None; sys.path.insert(0, sys.argv[1]); import modelwire; "
            "t = modelwire.tensor([[1.5, 2], [3, 4]]); assert t.columns == 2 and list(t.values) == [1.5, 2, 3, 4]; "
            "print('ok')")
    run = subprocess.run([sys.executable, "-c", code, os.path.dirname(HERE)], capture_output=True, text=True)
    assert run.stdout.strip() == "ok", run.stderr


def _csv(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_read_csv_trims_names_and_strips_a_bom(tmp_path):
    d = modelwire.read_csv(_csv(tmp_path, "\ufeff a , b ,label\r\n1, 2 ,x\r\n\r\n3,4,y\r\n"))
    assert list(d.feature_names) == ["a", "b"]
    assert list(d.features.values) == [1, 2, 3, 4] and list(d.class_names) == ["x", "y"]


def test_read_csv_detects_semicolon_and_tab_like_the_swift_reader(tmp_path):
    d = modelwire.read_csv(_csv(tmp_path, "a;b;label\n1;2;x,y\n3;4;z\n"))
    assert list(d.feature_names) == ["a", "b"] and list(d.class_names) == ["x,y", "z"]
    t = modelwire.read_csv(_csv(tmp_path, "a\tb\tlabel\n1\t2\tx\n3\t4\ty\n"))
    assert list(t.feature_names) == ["a", "b"] and list(t.features.values) == [1, 2, 3, 4]
    # Delimiters inside quotes do not count; the most frequent outside them wins.
    q = modelwire.read_csv(_csv(tmp_path, '"a,b,c";d;label\n1;2;x\n3;4;y\n'))
    assert list(q.feature_names) == ["a,b,c", "d"]
    assert modelwire.data.detect_delimiter("\n\na,b;c;d\n") == ";"
    assert modelwire.data.detect_delimiter("a\tb,c\n") == ","  # a tie: , before ; before tab
    assert modelwire.data.detect_delimiter("abc\n") == ","
    p = modelwire.read_csv(_csv(tmp_path, "a|b|label\n1|2|x\n3|4|y\n"), delimiter="|")
    assert list(p.feature_names) == ["a", "b"]


def test_read_csv_quoted_fields(tmp_path):
    text = '"sepal, length","the ""width""",label\n"14.2", 3 ,"a, b"\n1.5,"2","line one\nline two"\n'
    d = modelwire.read_csv(_csv(tmp_path, text))
    assert list(d.feature_names) == ["sepal, length", 'the "width"']
    assert list(d.features.values) == pytest.approx([14.2, 3, 1.5, 2])
    assert list(d.class_names) == ["a, b", "line one\nline two"]


def test_read_csv_refuses_duplicate_names(tmp_path):
    with pytest.raises(modelwire.CSVError, match="'a' twice") as caught:
        modelwire.read_csv(_csv(tmp_path, "a,b, a,label\n1,2,3,x\n"))
    assert caught.value.line == 1 and caught.value.column == 3


def test_read_csv_refuses_a_numeric_header_and_reads_headerless_files(tmp_path):
    path = _csv(tmp_path, "14.23,1.71,0\n13.2,1.78,1\n12.1,1.2,0\n")
    with pytest.raises(modelwire.CSVError, match="seems to have no header") as caught:
        modelwire.read_csv(path)
    assert caught.value.line == 1 and isinstance(caught.value, ValueError)
    d = modelwire.read_csv(path, has_header=False)
    assert modelwire.rows(d.features) == 3 and list(d.feature_names) == ["f1", "f2"]
    assert list(d.class_names) == ["0", "1"] and list(d.class_ids) == [0, 1, 0]
    by_name = modelwire.read_csv(_csv(tmp_path, "0;1;2\n1;3;4\n"), label_column="f1", has_header=False)
    assert list(by_name.feature_names) == ["f2", "f3"] and list(by_name.class_ids) == [0, 1]


def test_read_csv_errors_name_line_and_column(tmp_path):
    with pytest.raises(modelwire.CSVError, match=r"^line 3, column 3: 2 fields, the header has 3$"):
        modelwire.read_csv(_csv(tmp_path, "a,b,label\n1,2,x\n3,4\n"))
    with pytest.raises(modelwire.CSVError, match=r"^line 4, column 2 \('b'\): 'x7' is not a number$") as caught:
        modelwire.read_csv(_csv(tmp_path, 'a,b,label\n1,2,"two\nlines"\n3,x7,y\n'))
    assert (caught.value.line, caught.value.column) == (4, 2)
    with pytest.raises(modelwire.CSVError, match="empty"):
        modelwire.read_csv(_csv(tmp_path, "\ufeff\n\n"))
    with pytest.raises(modelwire.CSVError, match="no data rows"):
        modelwire.read_csv(_csv(tmp_path, "a,label\n"))
    with pytest.raises(modelwire.CSVError, match="delimiter ','"):
        modelwire.read_csv(_csv(tmp_path, "a|b\n1|2\n"))
