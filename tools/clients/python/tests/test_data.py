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
