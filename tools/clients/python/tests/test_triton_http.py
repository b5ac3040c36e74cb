"""Issue 13: the Open Inference Protocol (KServe V2) REST API of `--http-port`, through a client
nobody here wrote: `tritonclient[http]` from PyPI (installed into .venv-peers by
tools/install-deps --python). Its answers are compared with the binary client's predict, for a
classifier and a regressor, with JSON inputs and with Triton's binary tensor extension."""
import numpy as np
import pytest

from conftest import dataset, train
import modelwire
from modelwire import pb

httpclient = pytest.importorskip("tritonclient.http", reason="tritonclient[http] is not installed")
from tritonclient.utils import InferenceServerException  # noqa: E402


@pytest.fixture
def http_server(start_server):
    """A server with --http-port 0; `.http_url` is HOST:PORT of its HTTP port (the second stdout line)."""
    server = start_server("--http-port", "0")
    line = server.process.stdout.readline().decode()
    assert line.startswith("modelwire-server http listening on "), line
    server.http_url = line.split()[-1]
    return server


def _infer(triton, model, rows, binary, outputs=None):
    tensor = httpclient.InferInput("input", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    requested = None if outputs is None else [httpclient.InferRequestedOutput(o, binary_data=False) for o in outputs]
    return triton.infer(model, inputs=[tensor], outputs=requested)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary-extension"])
def test_classifier_matches_binary_predict(http_server, binary):
    with http_server.client() as client:
        train(client, "iris", dataset("iris"))
        rows = np.array(list(dataset("iris").features.values)[:28], dtype=np.float32).reshape(7, 4)
        expected = client.predict("iris", rows.tolist(), include_probabilities=True)
    triton = httpclient.InferenceServerClient(url=http_server.http_url)
    assert triton.is_server_live() and triton.is_server_ready()
    assert triton.is_model_ready("iris")
    metadata = triton.get_model_metadata("iris")
    assert metadata["inputs"][0] == {"name": "input", "datatype": "FP32", "shape": [-1, 4]}
    assert [o["name"] for o in metadata["outputs"]] == ["label", "probabilities"]

    result = _infer(triton, "iris", rows, binary)
    names = list(expected.class_names)
    labels = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("label").tolist()]
    assert labels == [names[i] if names else str(i) for i in expected.class_ids]
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (7, 3)
    assert np.array_equal(probabilities.astype(np.float32).ravel(), np.array(expected.scores.values, dtype=np.float32))

    # `outputs` selection: only the label.
    only = _infer(triton, "iris", rows, binary, outputs=["label"])
    assert only.as_numpy("probabilities") is None and only.as_numpy("label") is not None


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary-extension"])
def test_regressor_matches_binary_predict(http_server, binary):
    v = list(dataset("iris").features.values)
    features = [v[i:i + 3] for i in range(0, len(v), 4)]
    targets = [v[i + 3] for i in range(0, len(v), 4)]
    spec = pb.ModelSpec(task=pb.TASK_REGRESSION, tree=pb.DecisionTreeSpec(max_depth=4, criterion=pb.TREE_CRITERION_MSE))
    with http_server.client() as client:
        client.train("petal", modelwire.dataset(features, targets=targets), spec).wait()
        expected = client.predict("petal", features[:32]).values
    triton = httpclient.InferenceServerClient(url=http_server.http_url)
    result = _infer(triton, "petal", np.array(features[:32], dtype=np.float32), binary)
    value = result.as_numpy("value")
    assert value.shape == (32,)
    assert np.array_equal(value.astype(np.float32), np.array(expected, dtype=np.float32))
    assert triton.get_model_metadata("petal", model_version="1")["outputs"][0]["name"] == "value"


def test_errors_reach_tritonclient(http_server):
    with http_server.client() as client:
        train(client, "iris", dataset("iris"))
    triton = httpclient.InferenceServerClient(url=http_server.http_url)
    with pytest.raises(InferenceServerException, match="does not exist"):
        _infer(triton, "nope", np.zeros((1, 4), dtype=np.float32), False)
    with pytest.raises(InferenceServerException, match="the model takes"):
        _infer(triton, "iris", np.zeros((1, 3), dtype=np.float32), True)
    assert not triton.is_model_ready("nope")
