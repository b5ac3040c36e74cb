"""Behaviour PROTOCOL.md did not say plainly before the clients were written (see its §2-§12 additions)."""
import time

import pytest

import modelwire
from conftest import dataset, options, train
from modelwire import pb
from modelwire import frames as F
from rawconn import RawConnection


def test_zero_rows_partial_rows_and_bad_class_ids_are_invalid(client):
    iris = dataset("iris")
    train(client, "iris", iris, epochs=2)
    for inputs in (pb.Tensor(columns=4), pb.Tensor(columns=0), pb.Tensor(columns=4, values=[1, 2, 3, 4, 5])):
        with pytest.raises(modelwire.InvalidArgument):
            client.predict("iris", inputs)
    v = list(iris.features.values[:8])
    with pytest.raises(modelwire.InvalidArgument):
        train(client, "oob", pb.Dataset(features=pb.Tensor(columns=4, values=v), class_names=["a", "b"], class_ids=[0, 5]))
    with pytest.raises(modelwire.InvalidArgument):
        train(client, "short", pb.Dataset(features=pb.Tensor(columns=4, values=v), class_names=["a", "b"], class_ids=[0]))
    with pytest.raises(modelwire.InvalidArgument):
        client.upload_dataset("empty", pb.Dataset(features=pb.Tensor(columns=4), class_names=["a"]))


def test_evaluate_matches_labels_by_name(client):
    iris = dataset("iris")
    train(client, "iris", iris, epochs=5)
    v = list(iris.features.values)
    # Rows of classes "2" and "0" only, listed in that order.
    subset = pb.Dataset(features=pb.Tensor(columns=4, values=v[-8:] + v[:8]), class_names=["2", "0"],
                        class_ids=[0, 0, 1, 1])
    metrics = client.evaluate("iris", subset).evaluation.classification
    assert metrics.confusion.classes == 3
    assert [m.label for m in metrics.per_class] == ["0", "1", "2"]
    counts = metrics.confusion.counts
    assert sum(counts[0:3]) == 2 and sum(counts[3:6]) == 0 and sum(counts[6:9]) == 2  # true-class rows, model order
    with pytest.raises(modelwire.InvalidArgument) as error:
        client.evaluate("iris", pb.Dataset(features=pb.Tensor(columns=4, values=v[:8]), class_names=["0", "zzz"],
                                           class_ids=[0, 1]))
    assert "zzz" in error.value.message


def test_a_train_deadline_ends_the_call_not_the_job(server, client):
    digits = dataset("digits")
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    request = pb.TrainRequest(model="d", inline_data=digits, options=options(300),
                              spec=pb.ModelSpec(dense=pb.DenseNetSpec(hidden=[pb.DenseLayerSpec(units=64)])))
    raw.send(F.encode_frame(F.REQUEST, request.SerializeToString(), F.END_STREAM, 0x0102, 1, timeout_ms=300))
    job_id = ""
    while True:
        header, payload = raw.read_frame()
        if header.kind == F.ERROR:
            assert pb.Status.FromString(payload).code == pb.STATUS_CODE_DEADLINE_EXCEEDED
            break
        assert not header.end_stream
        job_id = pb.TrainEvent.FromString(payload).job_id or job_id
    assert client.get_job(job_id).state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)
    assert client.cancel_job(job_id).state in (pb.JOB_STATE_RUNNING, pb.JOB_STATE_CANCELLED)
    for _ in range(500):
        if client.get_job(job_id).state == pb.JOB_STATE_CANCELLED:
            break
        time.sleep(0.01)
    # WatchJob of a cancelled job: ERROR with the job's status.
    with pytest.raises(modelwire.Cancelled):
        list(client.watch_job(job_id))


def test_frames_for_unknown_call_ids_are_ignored_and_empty_messages_are_zero_length(server):
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    raw.send(F.encode_frame(F.CANCEL, b"", call_id=77))
    raw.send(F.encode_frame(F.MESSAGE, b"", F.END_STREAM, call_id=78))
    raw.send(F.encode_frame(F.REQUEST, b"", F.END_STREAM, 0x010B, 1))  # ListModelsRequest: no fields, no bytes
    header, payload = raw.read_frame()
    assert header.kind == F.MESSAGE and header.call_id == 1 and header.end_stream
    assert header.length == 0 and pb.ListModelsResponse.FromString(payload).models == []


def test_server_hello_says_zlib_even_to_a_client_that_accepts_none(server):
    raw = RawConnection(server.host, server.port)
    assert raw.handshake().compression == pb.COMPRESSION_ZLIB  # what the server accepts
