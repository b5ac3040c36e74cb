"""Many callers, cancellation, deadlines, work that outlives its caller (mirrors ConcurrencyTests.swift)."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import modelwire
from conftest import dataset, options, train
from modelwire import first_rows, pb
from modelwire import frames as F
from rawconn import RawConnection


def test_many_clients_and_many_calls_per_connection(server):
    iris = dataset("iris")
    with server.client() as client:
        train(client, "iris", iris, epochs=5)
        expected = list(client.predict("iris", first_rows(iris, 150)).class_ids)
    values = iris.features.values
    failures = []

    def one_client():
        with server.client() as client:  # one connection, 40 concurrent calls on it
            def call(i):
                row = i % 150
                return row, list(client.predict("iris", [values[row * 4:row * 4 + 4]]).class_ids)
            with ThreadPoolExecutor(40) as pool:
                for row, ids in pool.map(call, range(40)):
                    if ids != [expected[row]]:
                        failures.append((row, ids))
            assert client.connection is client._connection  # still the one connection

    threads = [threading.Thread(target=one_client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_concurrent_calls_interleave_on_one_connection(server, client):
    """Responses come back in any order: a slow call does not hold up fast ones behind it."""
    iris = dataset("iris")
    train(client, "iris", iris, epochs=2)
    stream = client.train("slow", dataset("digits"), pb.ModelSpec(dense=pb.DenseNetSpec(
        hidden=[pb.DenseLayerSpec(units=32)])), options(200))
    first = next(stream)
    assert first.WhichOneof("event") == "accepted"
    for _ in range(20):  # unary calls answered while the stream is open on the same connection
        assert client.health().live
    client.cancel_job(first.job_id)
    with pytest.raises(modelwire.ModelwireError):
        for _ in stream:
            pass


def test_predicts_are_served_while_a_training_job_runs(client):
    iris = dataset("iris")
    train(client, "iris", iris, epochs=2)
    long = client.train("digits", dataset("digits"), pb.ModelSpec(dense=pb.DenseNetSpec(
        hidden=[pb.DenseLayerSpec(units=64)])), options(400))
    assert next(long).WhichOneof("event") == "accepted"
    job_id = next(j.id for j in client.list_jobs() if j.model == "digits")
    while client.get_job(job_id).state != pb.JOB_STATE_RUNNING:
        time.sleep(0.005)
    served = 0
    for _ in range(50):
        client.predict("iris", first_rows(iris, 1))
        served += 1
    assert served == 50
    assert client.get_job(job_id).state == pb.JOB_STATE_RUNNING
    # Leaving the stream only detaches; cancelling the job stops it.
    long.close()
    cancelled = client.cancel_job(job_id)
    assert cancelled.state in (pb.JOB_STATE_RUNNING, pb.JOB_STATE_CANCELLED)
    state = pb.JOB_STATE_RUNNING
    for _ in range(500):
        state = client.get_job(job_id).state
        if state != pb.JOB_STATE_RUNNING:
            break
        time.sleep(0.01)
    assert state == pb.JOB_STATE_CANCELLED
    assert client.get_job(job_id).error.code == pb.STATUS_CODE_CANCELLED
    assert [m.name for m in client.list_models()] == ["iris"]


def test_cancelling_the_train_call_detaches_and_the_job_finishes(client):
    iris = dataset("iris")
    with client.train("iris", iris, "logistic", options(300)) as stream:
        job_id = next(stream).job_id  # leaving the with block sends CANCEL
    assert job_id
    job = client.get_job(job_id)
    for _ in range(2000):
        if job.state in (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED):
            break
        time.sleep(0.01)
        job = client.get_job(job_id)
    assert job.state == pb.JOB_STATE_SUCCEEDED
    assert [m.name for m in client.list_models()] == ["iris"]
    # WatchJob reattaches to a finished job and gives its result.
    assert list(client.watch_job(job_id))[-1].result.version == 1


def test_a_queued_predict_past_its_deadline_is_dropped_not_computed(start_server):
    # A 300 ms batching delay and a 20 ms deadline: the call expires in the queue.
    server = start_server("--max-queue-delay-us", "300000")
    with server.client() as client:
        iris = dataset("iris")
        train(client, "iris", iris, epochs=2)
        started = time.monotonic()
        with pytest.raises(modelwire.DeadlineExceeded):
            client.predict("iris", first_rows(iris, 1), timeout=0.02)
        assert time.monotonic() - started < 1.0  # failed at its deadline (a generous bound for loaded machines)
        ok = client.predict("iris", first_rows(iris, 1), timeout=5)
        assert ok.timings.queue_us >= 250_000
        # The server itself enforces the REQUEST header's timeout (no client-side timer here).
        raw = RawConnection(server.host, server.port)
        raw.handshake()
        request = pb.PredictRequest(model=pb.ModelRef(name="iris"), inputs=first_rows(iris, 1))
        raw.send(F.encode_frame(F.REQUEST, request.SerializeToString(), F.END_STREAM, 0x0101, 1, timeout_ms=20))
        header, status = raw.read_error()
        assert header.call_id == 1 and status.code == pb.STATUS_CODE_DEADLINE_EXCEEDED


def test_a_client_that_vanishes_mid_call_does_not_disturb_the_server(server):
    iris = dataset("iris")
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    request = pb.TrainRequest(model="orphan", inline_data=iris, spec=pb.ModelSpec(logistic=pb.LogisticRegressionSpec()),
                              options=options(50))
    raw.send(F.encode_frame(F.REQUEST, request.SerializeToString(), F.END_STREAM, 0x0102, 1))
    header, _ = raw.read_frame()  # the accepted event; then the connection goes away
    assert header.kind == F.MESSAGE
    raw.close()
    with server.client() as client:
        models = []
        for _ in range(1000):
            models = [m.name for m in client.list_models()]
            if models:
                break
            time.sleep(0.01)
        assert models == ["orphan"]  # the job ran to the end without its caller
        assert client.health().ready


def test_a_local_timeout_cancels_the_call_and_the_connection_stays_usable(start_server):
    server = start_server("--max-queue-delay-us", "300000")
    with server.client() as client:
        iris = dataset("iris")
        train(client, "iris", iris, epochs=2)
        with pytest.raises(modelwire.DeadlineExceeded):
            client.predict("iris", first_rows(iris, 1), timeout=0.001)
        assert client._connection.calls == {}
        assert client.health().ready


def test_a_full_predict_queue_answers_resource_exhausted_with_a_retry_hint(start_server):
    # One queued call per model version, held for 300 ms: the second concurrent call is refused at once.
    server = start_server("--max-queue-delay-us", "300000", "--max-queued-calls", "1")
    iris = dataset("iris")
    with server.client() as client:
        train(client, "iris", iris, epochs=2)
        results, errors = [], []

        def call():
            try:
                results.append(client.predict("iris", first_rows(iris, 1)))
            except modelwire.ModelwireError as error:
                errors.append(error)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 1 and len(errors) == 1
        assert isinstance(errors[0], modelwire.ResourceExhausted)
        assert errors[0].retry_after_ms is not None


def test_retries_follow_the_retry_hint(start_server):
    server = start_server("--max-queue-delay-us", "100000", "--max-queued-calls", "1")
    iris = dataset("iris")
    with server.client(retries=5) as client:
        train(client, "iris", iris, epochs=2)
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: client.predict("iris", first_rows(iris, 1)), range(3)))
        assert all(len(a.class_ids) == 1 for a in answers)
