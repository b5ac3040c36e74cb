"""Models survive restarts and crashes; corrupt files are skipped (mirrors DurabilityTests.swift)."""
import os

from conftest import dataset, options, train
from modelwire import first_rows, pb


def test_a_restart_keeps_every_model_alias_and_dataset(start_server, tmp_path):
    repository = str(tmp_path / "repo")
    iris = dataset("iris")
    server = start_server(repository=repository)
    with server.client() as client:
        train(client, "iris", iris, epochs=3)
        train(client, "iris", iris, epochs=4)
        client.set_alias("iris", "production", 1)
        client.upload_dataset("iris-data", iris)
        before = client.predict("iris", first_rows(iris, 10), version=1, include_probabilities=True)
    assert server.terminate() == 0
    server = start_server(repository=repository)
    with server.client() as client:
        models = client.list_models()
        assert [v.version for v in models[0].versions] == [1, 2]
        assert [(a.name, a.version) for a in models[0].aliases] == [("production", 1)]
        assert [d.name for d in client.list_datasets()] == ["iris-data"]
        after = client.predict("iris", first_rows(iris, 10), alias="production", include_probabilities=True)
        assert after.scores == before.scores  # bit for bit
        assert train(client, "iris", iris, epochs=2)[0].version == 3


def test_a_corrupt_version_is_skipped_at_start(start_server, tmp_path):
    repository = str(tmp_path / "repo")
    iris = dataset("iris")
    server = start_server(repository=repository)
    with server.client() as client:
        train(client, "iris", iris, epochs=2)
        train(client, "iris", iris, epochs=2)
    server.terminate()
    with open(os.path.join(repository, "iris", "2", "model.pb"), "wb") as fh:
        fh.write(bytes([0xFF, 0x00, 0x13]))
    os.makedirs(os.path.join(repository, "iris", ".staging-3-123"))
    server = start_server(repository=repository)
    with server.client() as client:
        assert [v.version for v in client.list_models()[0].versions] == [1]
    assert not os.path.exists(os.path.join(repository, "iris", ".staging-3-123"))


def test_kill_dash_nine_during_training_loses_nothing_and_leaves_no_partial_version(start_server, tmp_path):
    repository = str(tmp_path / "repo")
    iris, digits = dataset("iris"), dataset("digits")
    server = start_server(repository=repository)
    with server.client() as client:
        train(client, "iris", iris, epochs=3)
        stream = client.train("digits", digits, pb.ModelSpec(dense=pb.DenseNetSpec(hidden=[pb.DenseLayerSpec(units=64)])),
                              options(500))
        job_id = ""
        for event in stream:
            job_id = event.job_id
            if event.WhichOneof("event") == "progress":
                break  # training is under way
        server.kill9()
    server = start_server(repository=repository)
    with server.client() as client:
        models = client.list_models()
        assert [m.name for m in models] == ["iris"]
        assert [v.version for v in models[0].versions] == [1]
        job = client.get_job(job_id)
        assert job.state == pb.JOB_STATE_FAILED
        assert "interrupted" in job.error.message
        client.predict("iris", first_rows(iris, 1))
    leftovers = [n for n in os.listdir(repository) if not n.startswith(".")]
    assert leftovers == ["iris"]


def test_sigterm_drains_an_open_call_cancels_the_job_and_exits_zero(start_server, tmp_path):
    from modelwire import frames as F
    from rawconn import RawConnection
    repository = str(tmp_path / "repo")
    server = start_server(repository=repository)
    with server.client() as client:
        stream = client.train("digits", dataset("digits"), pb.ModelSpec(dense=pb.DenseNetSpec(
            hidden=[pb.DenseLayerSpec(units=64)])), options(500))
        job_id = next(e.job_id for e in stream if e.WhichOneof("event") == "progress")
        stream.close()
    # An upload in flight: first chunk sent, last chunk not yet.
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    chunk = pb.UploadDatasetRequest(name="drained", rows=pb.Dataset(features=pb.Tensor(columns=1, values=[1, 2]),
                                                                    class_names=["a", "b"], class_ids=[0, 1]))
    raw.send(F.encode_frame(F.REQUEST, chunk.SerializeToString(), 0, 0x0108, 1))
    raw.send(F.encode_frame(F.PING, b""))
    assert raw.read_frame()[0].kind == F.PONG  # frames are handled in order: the upload is open
    server.process.send_signal(15)
    header, payload = raw.read_frame()
    assert header.kind == F.GOAWAY and pb.GoAway.FromString(payload).last_call_id == 1
    raw.send(F.encode_frame(F.MESSAGE, chunk.SerializeToString(), F.END_STREAM, call_id=1))
    header, payload = raw.read_frame()
    assert header.kind == F.MESSAGE and pb.DatasetInfo.FromString(payload).rows == 4
    assert server.process.wait(15) == 0
    server = start_server(repository=repository)
    with server.client() as client:
        assert client.get_job(job_id).state == pb.JOB_STATE_CANCELLED
        assert [d.name for d in client.list_datasets()] == ["drained"]
        assert client.list_models() == []
