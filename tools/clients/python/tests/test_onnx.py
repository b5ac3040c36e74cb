"""ONNX import and export (issue 14, items 5 and 6) against the real peers from PyPI.

Import: scikit-learn models trained here, converted with skl2onnx, imported into the running server
and predicted through Modelwire: labels identical to scikit-learn's predict, probabilities within
PROBABILITY_TOLERANCE of predict_proba, regression values within RELATIVE_TOLERANCE. Export: models
trained by Modelwire, exported as ONNX, run by onnxruntime: outputs within PROBABILITY_TOLERANCE of
Modelwire's predict. Hostile files: each a clear INVALID_ARGUMENT naming what is wrong, and the
server keeps serving.

The peers (onnx, onnxruntime, skl2onnx) are in .venv-peers/, installed by tools/install-deps --python.
"""
import pytest

np = pytest.importorskip("numpy")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
pytest.importorskip("sklearn")

from onnx import TensorProto, helper  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

import modelwire  # noqa: E402
from modelwire import pb  # noqa: E402

PROBABILITY_TOLERANCE = 1e-5
RELATIVE_TOLERANCE = 1e-5


def split(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    stratify = None if name == "diabetes" else y
    X_train, X_test, y_train, y_test = train_test_split(X.astype(np.float32), y, test_size=0.2, random_state=0,
                                                        stratify=stratify)
    return X_train, X_test, y_train, y_test


SCIKIT_CLASSIFIERS = {
    "mlp": lambda: make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=800, random_state=0)),
    "mlp_tanh_2_layers": lambda: MLPClassifier((12, 8), activation="tanh", max_iter=800, random_state=0),
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    "tree": lambda: DecisionTreeClassifier(random_state=0),
    "forest": lambda: RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0),
}


def convert(model, X):
    return to_onnx(model, X[:1]).SerializeToString()


@pytest.mark.parametrize("data", ["iris", "breast_cancer"])
@pytest.mark.parametrize("family", list(SCIKIT_CLASSIFIERS))
def test_import_scikit_learn_classifier(client, family, data):
    X_train, X_test, y_train, _ = split(data)
    peer = SCIKIT_CLASSIFIERS[family]().fit(X_train, y_train)
    info = client.import_onnx(convert(peer, X_train), f"{family}-{data}")
    assert info.task == pb.TASK_CLASSIFICATION
    assert list(info.class_names) == [str(c) for c in peer.classes_]
    answer = client.predict(info.name, X_test, include_probabilities=True)
    labels = np.array([answer.class_names[i] for i in answer.class_ids])
    assert (labels == np.array([str(c) for c in peer.predict(X_test)])).all()
    ours = np.array(answer.scores.values, dtype=np.float64).reshape(len(X_test), -1)
    difference = np.abs(ours - peer.predict_proba(X_test)).max()
    assert difference <= PROBABILITY_TOLERANCE, f"{family} on {data}: probabilities differ by {difference}"
    assert answer.scores_are_probabilities


@pytest.mark.parametrize("family", ["tree", "tree_depth3", "forest"])
def test_import_scikit_learn_regressor(client, family):
    X_train, X_test, y_train, _ = split("diabetes")
    peer = {"tree": lambda: DecisionTreeRegressor(random_state=0),
            "tree_depth3": lambda: DecisionTreeRegressor(max_depth=3, random_state=0),
            "forest": lambda: RandomForestRegressor(n_estimators=4, max_depth=5, random_state=0)}[family]()
    peer.fit(X_train, y_train)
    info = client.import_onnx(convert(peer, X_train), f"regressor-{family}")
    assert info.task == pb.TASK_REGRESSION
    ours = np.array(client.predict(info.name, X_test).values, dtype=np.float64)
    theirs = peer.predict(X_test)
    relative = np.abs(ours - theirs).max() / np.abs(theirs).max()
    assert relative <= RELATIVE_TOLERANCE, f"{family}: values differ by {relative} (relative)"


def test_import_keeps_onnx_names_and_labels(client):
    X_train, _, y_train, _ = split("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y_train]
    peer = MLPClassifier((8,), max_iter=800, random_state=0).fit(X_train, names)
    info = client.import_onnx(convert(peer, X_train), "named")
    assert list(info.class_names) == ["setosa", "versicolor", "virginica"]
    model_file = pb.ModelFile.FromString(client.export_model("named").model_file)
    assert model_file.onnx.input_name == "X"
    assert list(model_file.onnx.output_names) == ["output_label", "output_probability"]
    assert model_file.onnx.producer_name == "skl2onnx"
    assert list(model_file.onnx.operators) == ["Cast", "MatMul", "Add", "Relu", "MatMul", "Add", "Softmax"]


MODELWIRE_FAMILIES = {
    "mlp": {"dense": {"hidden": [{"units": 16}, {"units": 8, "activation": "ACTIVATION_TANH"}]}},
    "mlp_sigmoid_output": {"dense": {"hidden": [{"units": 8}], "output_activation": "ACTIVATION_SIGMOID"}},
    "logistic": "logistic",
    "svm": "svm",
    "tree": "tree",
    "forest": {"forest": {"trees": 5}},
    "gbdt": {"gbdt": {"iterations": 10}},
}


def run_onnx(onnx_bytes, X):
    onnx.checker.check_model(onnx.load_from_string(onnx_bytes))
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


# A sigmoid output is for two classes only.
EXPORTS = [(f, d) for f in MODELWIRE_FAMILIES for d in ["iris", "breast_cancer"]
           if not (f == "mlp_sigmoid_output" and d == "iris")]


@pytest.mark.parametrize("family,data", EXPORTS)
def test_export_runs_in_onnxruntime(client, family, data):
    X_train, X_test, y_train, _ = split(data)
    model = f"export-{family}-{data}"
    spec = MODELWIRE_FAMILIES[family]
    options = pb.TrainingOptions(epochs=30, seed=3) if family == "mlp" else pb.TrainingOptions(seed=3)
    client.train(model, (X_train, y_train.astype(np.int64)), spec, options).wait()
    response = client.export_onnx(model)
    assert response.onnx_model and not response.model_file
    outputs = run_onnx(response.onnx_model, X_test)
    answer = client.predict(model, X_test, include_probabilities=True)
    assert (outputs["label"].reshape(-1) == np.array(answer.class_ids)).all()
    scores = np.array(answer.scores.values, dtype=np.float32).reshape(len(X_test), -1)
    key = "probabilities" if answer.scores_are_probabilities else "scores"
    difference = np.abs(outputs[key].reshape(len(X_test), -1) - scores).max()
    assert difference <= PROBABILITY_TOLERANCE, f"{family} on {data}: {key} differ by {difference}"


@pytest.mark.parametrize("family", ["mlp", "tree", "forest", "gbdt"])
def test_export_regression_runs_in_onnxruntime(client, family):
    X_train, X_test, y_train, _ = split("diabetes")
    model = f"export-regression-{family}"
    spec = pb.ModelSpec(task=pb.TASK_REGRESSION)
    if family == "mlp":
        spec.dense.hidden.add(units=16)
    else:
        getattr(spec, family).SetInParent()
    client.train(model, modelwire.dataset(X_train, targets=y_train), spec, pb.TrainingOptions(seed=3)).wait()
    outputs = run_onnx(client.export_onnx(model).onnx_model, X_test)
    ours = np.array(client.predict(model, X_test).values, dtype=np.float64)
    relative = np.abs(outputs["variable"].reshape(-1) - ours).max() / np.abs(ours).max()
    assert relative <= RELATIVE_TOLERANCE, f"{family}: values differ by {relative} (relative)"


def test_export_then_import_predicts_the_same(client):
    X_train, X_test, y_train, _ = split("iris")
    client.train("round", (X_train, y_train.astype(np.int64)), "mlp", pb.TrainingOptions(epochs=10, seed=1)).wait()
    client.import_onnx(client.export_onnx("round").onnx_model, "round-again")
    first = client.predict("round", X_test, include_probabilities=True)
    again = client.predict("round-again", X_test, include_probabilities=True)
    assert list(first.class_ids) == list(again.class_ids)
    assert list(again.class_names) == list(first.class_names)  # from the export's modelwire.class_names
    assert np.abs(np.array(first.scores.values) - np.array(again.scores.values)).max() <= PROBABILITY_TOLERANCE


# Hostile and malformed files -------------------------------------------------------------------------------

def graph_model(nodes, initializers, opset=13, inputs=None, outputs=None):
    inputs = inputs or [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])]
    outputs = outputs or [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def weights(name, rows, columns):
    return helper.make_tensor(name, TensorProto.FLOAT, [rows, columns], np.ones(rows * columns, dtype=np.float32))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_subgraphs(depth):
    """A ModelProto whose graph's one node has a graph attribute, `depth` times over (built as bytes:
    Python's protobuf refuses to build it)."""
    graph = field(2, b"g")  # GraphProto.name
    for _ in range(depth):
        attribute = field(1, b"body") + field(6, graph)  # AttributeProto.name, .g
        node = field(4, b"If") + field(5, attribute)  # NodeProto.op_type, .attribute
        graph = field(1, node)  # GraphProto.node
    return field(7, graph)  # ModelProto.graph


def valid_mlp_bytes():
    return graph_model([helper.make_node("MatMul", ["X", "W"], ["Y"], name="layer")], [weights("W", 4, 3)])


HOSTILE = {
    "not protobuf": (b"\xff\xff\xff\xff", "not a well-formed protobuf message"),
    "truncated": (valid_mlp_bytes()[:-7], "truncated"),
    "wrong opset": (graph_model([helper.make_node("MatMul", ["X", "W"], ["Y"], name="layer")],
                                [weights("W", 4, 3)], opset=1000),
                    'node "layer" (MatMul): opset ai.onnx version 1000 is not supported'),
    "unsupported op": (graph_model([helper.make_node("Conv", ["X", "W"], ["Y"], name="conv1")], [weights("W", 4, 3)]),
                       'node "conv1" (Conv): operator Conv is not supported'),
    "shape mismatch": (graph_model([helper.make_node("MatMul", ["X", "W"], ["H"], name="m1"),
                                    helper.make_node("Add", ["H", "B"], ["Y"], name="bias1")],
                                   [weights("W", 4, 8), helper.make_tensor("B", TensorProto.FLOAT, [5], np.ones(5))]),
                       'node "bias1" (Add): initializer "B" has shape [5]; 8 values'),
    "weights for another width": (graph_model([helper.make_node("MatMul", ["X", "W"], ["Y"], name="m1")],
                                              [weights("W", 6, 3)]),
                                  'node "m1" (MatMul): the weight matrix expects 6 columns but its input has 4'),
    "1e8-element claim": (graph_model([helper.make_node("MatMul", ["X", "W"], ["Y"], name="huge")],
                                      [TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[10000, 10000])]),
                          'initializer "W" (used by node "huge" (MatMul)): dims [10000, 10000] claim more than'),
    "deep nesting": (nested_subgraphs(5000), "deeper than 64 levels"),
    "subgraph": (nested_subgraphs(2), 'node #0 (If): attribute body: subgraphs are not supported'),
    "cycle": (graph_model([helper.make_node("Add", ["X", "T2"], ["T1"], name="a"),
                           helper.make_node("Relu", ["T1"], ["T2"], name="r")], [],
                          outputs=[helper.make_tensor_value_info("T2", TensorProto.FLOAT, None)]),
              "is part of a cycle in the graph"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_onnx_is_invalid_argument(server, case):
    data, expected = HOSTILE[case]
    with server.client() as client:
        with pytest.raises(modelwire.InvalidArgument) as refused:
            client.import_onnx(data, "hostile")
        assert expected in refused.value.message, refused.value.message
        assert client.health().ready
        assert not [m for m in client.list_models() if m.name == "hostile"]
    if case == "1e8-element claim":
        assert len(data) < 200  # the claim is in a tiny file, refused before anything is allocated
