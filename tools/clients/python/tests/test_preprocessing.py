"""Models trained from raw tables (table.proto, preprocessing.proto) through the Python client against the real
server: text categories, gaps, bools; the preprocessing stored in the model and applied to raw tables in
Predict, Evaluate and Explain; unknown categories; chunked table uploads; and a scikit-learn comparison
(ColumnTransformer of SimpleImputer + OneHotEncoder, then LogisticRegression) on the same synthetic rows.

The data is small (a few hundred rows, four columns) so the file runs in seconds on 2 cores.
"""
import math

import pytest

import modelwire
from modelwire import pb

np = pytest.importorskip("numpy")

CITIES = ["oslo", "bergen", "tromso", "bodo"]
CITY_EFFECT = {"oslo": 1.2, "bergen": -0.6, "tromso": 0.4, "bodo": -1.2}
COLUMNS = ["city", "age", "income", "member"]  # the raw input columns, in the order the tables carry them
ENCODED = ["city=bergen", "city=bodo", "city=oslo", "city=tromso", "age", "income", "member"]


def synthetic(rows, seed=0, gaps=0.1):
    """A dict of columns: city (text, `gaps` of them None), age (float, `gaps` NaN), income (float),
    member (bool), label ("yes"/"no") from a logistic model of them."""
    rng = np.random.default_rng(seed)
    city = rng.choice(CITIES, rows)
    age = rng.normal(40, 12, rows)
    income = rng.normal(50, 15, rows)
    member = rng.random(rows) < 0.4
    logit = 0.08 * (age - 40) + np.array([CITY_EFFECT[c] for c in city]) + 1.5 * member - 0.04 * (income - 50)
    label = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    city = [None if gap else str(c) for c, gap in zip(city, rng.random(rows) < gaps)]
    age = np.where(rng.random(rows) < gaps, np.nan, age)
    return {"city": city, "age": age, "income": income, "member": member, "label": list(label)}


def rows_of(data, indices):
    return {name: [values[i] for i in indices] for name, values in data.items()}


def frame(data):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(data)


def train_table(client, model, data, family="logistic", preprocessing=None):
    result = client.train(model, data, family, pb.TrainingOptions(seed=0), label="label",
                          preprocessing=preprocessing).wait()
    assert result is not None, "the train stream ended without a result"
    return result


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from conftest import ServerProcess
    server = ServerProcess(str(tmp_path_factory.mktemp("preprocessing-repo")))
    try:
        with server.client() as c:
            yield c
    finally:
        server.terminate()


# -- the client's table conversion (no server) ---------------------------------------------------------------------
def test_tables_from_lists_rows_and_arrays_keep_types_and_gaps():
    t = modelwire.table({"i": [1, None, 3], "f": [1, 2.5, float("nan")], "b": [True, None, False],
                         "s": ["x", None, 7], "a": np.array([1.5, np.nan, 2.0], dtype=np.float32),
                         "n": np.array([4, 5, 6]), "z": np.array([True, False, True])})
    kinds = {c.name: c.WhichOneof("values") for c in t.columns}
    assert kinds == {"i": "ints", "f": "floats", "b": "bools", "s": "strings", "a": "floats", "n": "ints", "z": "bools"}
    records = modelwire.to_records(t)
    assert records["i"] == [1, None, 3] and records["s"] == ["x", None, "7"] and records["b"] == [True, None, False]
    assert records["a"] == [1.5, None, 2.0] and records["n"] == [4, 5, 6]
    by_name = {c.name: c for c in t.columns}
    assert math.isnan(by_name["f"].floats.values[2]) and list(by_name["f"].missing) == [False, False, True]
    assert list(by_name["n"].missing) == []  # no gaps: no flags
    assert by_name["s"].strings.values[1] == ""
    from_rows = modelwire.table([{"city": "oslo", "age": 31}, {"age": 40.5}, {"city": "bodo", "age": None}])
    assert modelwire.to_records(from_rows) == {"city": ["oslo", None, "bodo"], "age": [31.0, 40.5, None]}
    with pytest.raises(ValueError, match="different lengths"):
        modelwire.table({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="no column named 'y'"):
        modelwire.labelled_table({"a": [1, 2]}, "y")
    chunk = modelwire.slice_table(modelwire.labelled_table({"a": [1, 2, None], "y": ["p", "q", "p"]}, "y"), 1, 3)
    assert chunk.label_column == "y" and modelwire.to_records(chunk) == {"a": [2, None], "y": ["q", "p"]}
    empty = modelwire.slice_table(t, 3, 3)
    assert [c.WhichOneof("values") for c in empty.columns] == list(kinds.values())  # types kept with no rows


def test_tables_from_pandas_dtypes():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"f": [1.0, np.nan, 3.0], "I": pd.array([1, None, 3], dtype="Int64"), "b": [True, False, True],
                       "s": ["x", None, "y"], "c": pd.Categorical(["a", "b", None]),
                       "t": pd.array(["p", pd.NA, "q"], dtype="string")})
    t = modelwire.table(df)
    assert [c.WhichOneof("values") for c in t.columns] == ["floats", "ints", "bools", "strings", "strings", "strings"]
    assert modelwire.to_records(t) == {"f": [1.0, None, 3.0], "I": [1, None, 3], "b": [True, False, True],
                                       "s": ["x", None, "y"], "c": ["a", "b", None], "t": ["p", None, "q"]}
    labelled = modelwire.labelled_table((df[["f", "s"]], pd.Series(["y", "n", "y"], name="target")))
    assert labelled.label_column == "target" and [c.name for c in labelled.table.columns] == ["f", "s", "target"]


def test_preprocessing_spec_from_a_dict():
    spec = modelwire.preprocessing_spec({"categorical": ["zip"], "drop": "id", "encoding": "ordinal",
                                         "unknown_categories": "error", "numeric_imputation": "constant",
                                         "numeric_fill": -1, "categorical_fill": "none", "missing_indicators": True})
    assert list(spec.categorical) == ["zip"] and list(spec.drop) == ["id"]
    assert spec.encoding == pb.CATEGORICAL_ENCODING_ORDINAL and spec.unknown_categories == pb.UNKNOWN_CATEGORIES_ERROR
    assert spec.numeric_imputation == pb.IMPUTATION_CONSTANT and spec.numeric_fill == -1.0
    assert spec.categorical_fill == "none" and spec.missing_indicators
    with pytest.raises(ValueError, match="encoding"):
        modelwire.preprocessing_spec({"encoding": "hash"})
    with pytest.raises(ValueError, match="unknown preprocessing key"):
        modelwire.preprocessing_spec({"categoricals": ["x"]})


# -- against the server --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["logistic", "tree"])
def test_train_from_a_table_then_predict_and_evaluate_raw_tables(client, family):
    pd = pytest.importorskip("pandas")
    data = synthetic(300, seed=1)
    df = pd.DataFrame(data)
    model = f"tab-{family}"
    train_table(client, model, df, family)

    info = client.describe_model(model)
    assert info.HasField("preprocessing")
    columns = {c.name: c for c in info.preprocessing.columns}
    assert [c.name for c in info.preprocessing.columns] == COLUMNS  # the label column is not an input
    assert columns["city"].WhichOneof("kind") == "categorical"
    assert list(columns["city"].categorical.categories) == sorted(CITIES)
    assert [columns[n].WhichOneof("kind") for n in ("age", "income", "member")] == ["numeric"] * 3
    present_ages = [a for a in data["age"] if not math.isnan(a)]
    assert columns["age"].numeric.fill == pytest.approx(sum(present_ages) / len(present_ages), rel=1e-4)
    cities = [c for c in data["city"] if c is not None]
    most_frequent = max(sorted(set(cities)), key=cities.count)
    assert columns["city"].categorical.fill == most_frequent
    assert list(info.feature_names) == ENCODED
    assert list(info.class_names) == ["no", "yes"]

    # Predict on the raw training frame (extra label column ignored) agrees with Evaluate on the same table.
    predicted = client.predict(model, table=df)
    assert list(predicted.class_names) == ["no", "yes"] and len(predicted.class_ids) == 300
    labels = [predicted.class_names[i] for i in predicted.class_ids]
    accuracy = float(np.mean([p == y for p, y in zip(labels, data["label"])]))
    evaluation = client.evaluate(model, df, label="label").evaluation
    assert evaluation.rows == 300
    assert evaluation.classification.accuracy == pytest.approx(accuracy, abs=1e-6)
    assert accuracy > 0.7, f"{family}: training accuracy {accuracy:.3f} on learnable data"
    # The DataFrame given as `inputs` goes as a table too (DescribeModel shows the preprocessing).
    assert list(client.predict(model, df).class_ids) == list(predicted.class_ids)

    # Unseen category (ignored by default) and gaps: a gap predicts as its training fill.
    new = pd.DataFrame({"income": [50.0, 61.0, 61.0, 45.0], "city": ["paris", None, most_frequent, "oslo"],
                        "age": [30.0, np.nan, columns["age"].numeric.fill, 44.0],
                        "member": [True, False, False, True]})
    scored = client.predict(model, table=new, include_probabilities=True)
    assert len(scored.class_ids) == 4 and scored.scores_are_probabilities
    scores = np.asarray(scored.scores.values).reshape(4, 2)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(scores[1], scores[2], atol=1e-5)
    # A list of dict rows is a table too (None: missing; a row without a key: missing there).
    as_rows = client.predict(model, table=[{"city": most_frequent, "age": None, "income": 61.0, "member": False},
                                           {"city": None, "income": 61.0, "member": False}],
                             include_probabilities=True)
    assert len(as_rows.class_ids) == 2
    np.testing.assert_allclose(np.asarray(as_rows.scores.values).reshape(2, 2), [scores[2], scores[2]], atol=1e-5)
    # A column the model takes is required (matched by name).
    with pytest.raises(modelwire.InvalidArgument, match="age"):
        client.predict(model, table={"city": ["oslo"], "income": [50.0], "member": [True]})


def test_unknown_categories_error_names_the_column_and_value(client):
    data = synthetic(200, seed=2)
    train_table(client, "strict", data, preprocessing={"unknown_categories": "error"})
    assert client.describe_model("strict").preprocessing.unknown_categories == pb.UNKNOWN_CATEGORIES_ERROR
    known = {"city": ["oslo"], "age": [33.0], "income": [40.0], "member": [True]}
    assert len(client.predict("strict", table=known).class_ids) == 1
    with pytest.raises(modelwire.InvalidArgument) as error:
        client.predict("strict", table=dict(known, city=["reykjavik"]))
    assert "city" in error.value.message and "reykjavik" in error.value.message, error.value.message
    # The default model ignores the same category.
    train_table(client, "lenient", data)
    assert len(client.predict("lenient", table=dict(known, city=["reykjavik"])).class_ids) == 1


def test_text_where_the_model_wants_numbers_is_refused_naming_the_column(client):
    train_table(client, "typed", synthetic(200, seed=3))
    with pytest.raises(modelwire.InvalidArgument) as error:
        client.predict("typed", table={"city": ["oslo", "bodo"], "age": ["old", "young"], "income": [40.0, 50.0],
                                       "member": [True, False]})
    assert "age" in error.value.message, error.value.message


def test_explain_a_table_model_per_raw_column_with_completeness(client):
    data = synthetic(300, seed=4)
    train_table(client, "explained", data)
    inputs = {name: data[name] for name in COLUMNS}
    explanation = client.explain("explained", table=inputs, rows=[0, 1, 2, 3, 4, 5])
    assert explanation.feature_names == COLUMNS
    assert explanation.encoded_feature_names == ENCODED
    assert explanation.attributions.shape == (6, len(COLUMNS))
    assert len(explanation.baseline) == len(ENCODED)
    gap = np.abs(explanation.values - explanation.baseline_values)
    np.testing.assert_allclose(explanation.attributions.sum(axis=1), explanation.values - explanation.baseline_values,
                               atol=0.01 * max(gap.max(), 1e-3))
    # The same rows with the label column (named): the same attributions.
    labelled = client.explain("explained", table=data, label="label", rows=[0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(labelled.attributions, explanation.attributions, atol=1e-6)
    # A dict given as `data` is routed to the table field as well.
    routed = client.explain("explained", inputs, rows=[0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(routed.attributions, explanation.attributions, atol=1e-6)


def test_upload_a_table_in_chunks_then_train_from_it_by_name(client, monkeypatch):
    data = synthetic(400, seed=5)
    connection = client.connection
    frames = []
    original = connection.send_frame

    def counting(kind, payload, *args, **kwargs):
        frames.append(kind)
        return original(kind, payload, *args, **kwargs)

    monkeypatch.setattr(connection, "send_frame", counting)
    info = client.upload_dataset("tabular", data, label="label", chunk_bytes=2048)
    monkeypatch.undo()
    chunks = frames.count(modelwire.frames.REQUEST) + frames.count(modelwire.frames.MESSAGE)
    assert chunks >= 4, f"{chunks} chunks for {modelwire.labelled_table(data, 'label').ByteSize()} bytes"
    assert info.rows == 400 and info.label_column == "label"
    assert list(info.feature_names) == COLUMNS and list(info.class_names) == ["no", "yes"]
    listed = {d.name: d for d in client.list_datasets()}
    assert listed["tabular"].label_column == "label"

    result = client.train("from-upload", "tabular", "logistic", pb.TrainingOptions(seed=0),
                          preprocessing={"missing_indicators": True}).wait()
    assert result is not None
    info = client.describe_model("from-upload")
    assert [c.name for c in info.preprocessing.columns] == COLUMNS
    indicators = {c.name: c.indicator for c in info.preprocessing.columns}
    assert indicators == {"city": True, "age": True, "income": False, "member": False}
    assert "age (missing)" in info.feature_names and "city (missing)" in info.feature_names
    # The same rows sent inline give the same model (logistic regression is deterministic).
    train_table(client, "inline-same", data, preprocessing={"missing_indicators": True})
    probe = rows_of(data, range(20))
    a = client.predict("from-upload", table=probe, include_probabilities=True).scores.values
    b = client.predict("inline-same", table=probe, include_probabilities=True).scores.values
    np.testing.assert_allclose(a, b, atol=1e-5)
    # Evaluate by name on the uploaded table.
    assert client.evaluate("from-upload", "tabular").evaluation.rows == 400


def test_onnx_export_of_a_table_model_is_refused(client):
    train_table(client, "no-onnx", synthetic(150, seed=6), "tree")
    with pytest.raises(modelwire.FailedPrecondition):
        client.export_onnx("no-onnx")
    assert client.export_model("no-onnx").model_file  # the native format keeps the preprocessing
    model_file = pb.ModelFile.FromString(client.export_model("no-onnx").model_file)
    assert [c.name for c in model_file.preprocessing.columns] == COLUMNS


def test_logistic_regression_matches_sklearn_column_transformer(client):
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = synthetic(600, seed=7)
    df = pd.DataFrame(data)
    train, test = df.iloc[:400].reset_index(drop=True), df.iloc[400:].reset_index(drop=True)

    def for_sklearn(part):  # object text with np.nan gaps (what SimpleImputer treats as missing), bools as 0/1
        return pd.DataFrame({"city": pd.Series([np.nan if c is None or c != c else c for c in part["city"]],
                                               dtype=object),
                             "age": part["age"].astype(float), "income": part["income"].astype(float),
                             "member": part["member"].astype(float)})

    num_cols, cat_cols = ["age", "income", "member"], ["city"]
    peer = Pipeline([
        ("prep", ColumnTransformer([
            ("num", SimpleImputer(strategy="mean"), num_cols),
            ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]), cat_cols)])),
        ("lr", LogisticRegression(max_iter=1000)),  # income is unscaled: the default 100 iterations stop short
    ]).fit(for_sklearn(train), train["label"])
    theirs = float((peer.predict(for_sklearn(test)) == test["label"]).mean())

    train_table(client, "vs-sklearn", train, "logistic")
    evaluation = client.evaluate("vs-sklearn", test, label="label").evaluation.classification
    predicted = client.predict("vs-sklearn", table=test)
    ours = float(np.mean([predicted.class_names[i] == y for i, y in zip(predicted.class_ids, test["label"])]))
    assert evaluation.accuracy == pytest.approx(ours, abs=1e-6)
    print(f"table logistic: modelwire {ours:.4f}, scikit-learn {theirs:.4f}, {100 * (ours - theirs):+.2f} pt")
    assert ours > 0.6
    assert abs(ours - theirs) <= 0.03, f"test accuracy {ours:.4f} against scikit-learn's {theirs:.4f}"


def test_tune_on_a_table_refits_with_the_preprocessing(client):
    data = synthetic(240, seed=5)
    result = client.tune("tab-tune", data, "logistic", {"c": [0.01, 1.0]}, folds=3, seed=1, label="label",
                         preprocessing={"numeric_imputation": "median"}).wait()
    assert len(result.tune.trials) == 2
    info = client.describe_model("tab-tune")
    assert [c.name for c in info.preprocessing.columns] == COLUMNS
    ages = sorted(a for a in data["age"] if not math.isnan(a))
    median = (ages[len(ages) // 2] + ages[(len(ages) - 1) // 2]) / 2
    age = next(c for c in info.preprocessing.columns if c.name == "age")
    assert age.numeric.fill == pytest.approx(median, rel=1e-4)
    predicted = client.predict("tab-tune", rows_of({k: v for k, v in data.items() if k != "label"}, range(5)))
    assert len(predicted.class_ids) == 5


def test_quantize_a_table_model_with_raw_calibration_and_evaluation_rows(client):
    data = synthetic(300, seed=6)
    client.train("tab-dense", data, {"dense": {"hidden": [{"units": 16}]}}, {"epochs": 5, "seed": 1},
                 label="label").wait()
    calibration = {k: v for k, v in data.items() if k != "label"}
    result = client.quantize("tab-dense", to="tab-int8", calibration_data=calibration, eval_data=data,
                             label="label").wait()
    assert result.model == "tab-int8" and result.report.result.evaluation.rows == 300
    info = client.describe_model("tab-int8")
    assert [c.name for c in info.preprocessing.columns] == COLUMNS
    assert len(client.predict("tab-int8", rows_of(calibration, range(7))).class_ids) == 7
