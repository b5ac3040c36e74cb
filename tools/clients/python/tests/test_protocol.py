"""Client-side protocol behaviour: compression both ways, PING/PONG, GOAWAY and drain, limits, connection loss."""
import threading
import time
import zlib

import pytest

import modelwire
from conftest import dataset, train
from modelwire import first_rows, pb
from modelwire import frames as F
from rawconn import RawConnection


def test_compressed_requests_and_responses(server, client):
    digits = dataset("digits")
    train(client, "digits", digits, "tree", epochs=1)
    # A forced compressed small request, and a large one compressed because it passes the threshold.
    small = client.predict("digits", first_rows(digits, 1), compress=True)
    big = client.predict("digits", first_rows(digits, 400), include_probabilities=True)
    plain = client.predict("digits", first_rows(digits, 400), include_probabilities=True, compress=False)
    assert list(small.class_ids) == list(big.class_ids[:1])
    assert big.scores == plain.scores
    # The server compresses large responses for a client that accepts zlib, and not for one that does not.
    raw = RawConnection(server.host, server.port)
    raw.send_hello(pb.ClientHello(protocol_versions=[1], compression=[pb.COMPRESSION_NONE, pb.COMPRESSION_ZLIB]))
    header, payload = raw.read_frame()
    assert header.kind == F.HELLO and pb.ServerHello.FromString(payload).compression == pb.COMPRESSION_ZLIB
    request = pb.PredictRequest(model=pb.ModelRef(name="digits"), inputs=first_rows(digits, 400),
                                include_probabilities=True)
    packed = zlib.compress(request.SerializeToString())
    raw.send(F.encode_frame(F.REQUEST, packed, F.END_STREAM | F.COMPRESSED, 0x0101, 1))
    header, payload = raw.read_frame()
    assert header.kind == F.MESSAGE and header.compressed
    assert pb.PredictResponse.FromString(F.inflate(payload)).scores == big.scores
    none = RawConnection(server.host, server.port)
    none.handshake()  # accepts NONE only
    none.send(F.encode_frame(F.REQUEST, request.SerializeToString(), F.END_STREAM, 0x0101, 1))
    header, payload = none.read_frame()
    assert header.kind == F.MESSAGE and not header.compressed
    with server.client(accept_zlib=False) as plain_client:
        assert plain_client.predict("digits", first_rows(digits, 400), include_probabilities=True).scores == big.scores


def test_ping_pong_both_ways(server, client):
    assert client.ping() < 5
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    raw.send(F.encode_frame(F.PING, bytes(range(1, 9))))
    header, payload = raw.read_frame()
    assert header.kind == F.PONG and payload == bytes(range(1, 9))


def test_goaway_on_sigterm_lets_open_calls_finish(start_server):
    server = start_server("--max-queue-delay-us", "300000")
    iris = dataset("iris")
    with server.client() as client:
        train(client, "iris", iris, epochs=2)
        results = []
        slow = threading.Thread(target=lambda: results.append(client.predict("iris", first_rows(iris, 1), timeout=5)))
        slow.start()
        while not client._connection.calls:
            time.sleep(0.001)
        time.sleep(0.01)
        client.ping()  # frames are handled in order: the predict now waits in the 300 ms batch queue
        raw = RawConnection(server.host, server.port)
        raw.handshake()
        server.process.send_signal(15)
        header, payload = raw.read_frame()
        assert header.kind == F.GOAWAY and header.call_id == 0
        goaway = pb.GoAway.FromString(payload)
        slow.join()
        assert len(results) == 1 and len(results[0].class_ids) == 1  # the open call finished
        assert client._connection.goaway is not None
        assert client._connection.goaway.last_call_id >= 1
        assert goaway.reason
        assert server.process.wait(15) == 0
        with pytest.raises(modelwire.Unavailable):  # no new calls on a draining connection; no server to reconnect to
            client.health()


def test_a_server_that_goes_away_fails_open_calls_with_unavailable(start_server):
    server = start_server("--max-queue-delay-us", "300000")
    iris = dataset("iris")
    with server.client() as client:
        train(client, "iris", iris, epochs=2)
        errors = []

        def call():
            try:
                client.predict("iris", first_rows(iris, 1))
            except modelwire.ModelwireError as error:
                errors.append(error)

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(0.05)
        server.kill9()
        thread.join(10)
        assert len(errors) == 1 and isinstance(errors[0], modelwire.Unavailable)


def test_the_client_reconnects_after_losing_its_connection(server, client):
    client._connection.sock.shutdown(2)  # as if the network dropped it
    time.sleep(0.05)
    assert client.health().live  # a new connection


def test_too_many_concurrent_calls_is_answered_per_call(start_server):
    server = start_server("--max-concurrent-calls", "2", "--max-queue-delay-us", "200000")
    iris = dataset("iris")
    with server.client() as client:
        assert client.limits.max_concurrent_calls == 2
        train(client, "iris", iris, epochs=1)
        # Raw: a third open call gets RESOURCE_EXHAUSTED on its own id; the connection stays up.
        raw = RawConnection(server.host, server.port)
        raw.handshake()
        request = pb.PredictRequest(model=pb.ModelRef(name="iris"), inputs=first_rows(iris, 1)).SerializeToString()
        for call_id in (1, 2, 3):
            raw.send(F.encode_frame(F.REQUEST, request, F.END_STREAM, 0x0101, call_id))
        header, payload = raw.read_frame()
        assert header.kind == F.ERROR and header.call_id == 3
        assert pb.Status.FromString(payload).code == pb.STATUS_CODE_RESOURCE_EXHAUSTED
        got = {raw.read_frame()[0].call_id for _ in range(2)}
        assert got == {1, 2}
        # The client stays within the limit by waiting for a free slot.
        with modelwire.Client(server.host, server.port) as limited:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(lambda _: limited.predict("iris", first_rows(iris, 1)), range(6)))
        assert len(answers) == 6


def test_error_classes_carry_code_message_and_retry_hint():
    status = pb.Status(code=8, message="queue full", retry_after_ms=50)
    error = modelwire.error_for_status(status)
    assert isinstance(error, modelwire.ResourceExhausted) and isinstance(error, modelwire.ModelwireError)
    assert (error.code, error.message, error.retry_after_ms) == (8, "queue full", 50)
    assert modelwire.error_for_status(pb.Status(code=5, message="x")).retry_after_ms is None
    assert sorted(modelwire.BY_CODE) == list(range(1, 17))
    assert modelwire.NotFound.code == 5 and modelwire.Unauthenticated.code == 16


def test_an_idle_connection_is_closed_by_the_server_and_the_client_reconnects(start_server):
    server = start_server("--idle-timeout-ms", "1000")  # the smallest the server allows
    with server.client() as client:
        assert client.limits.idle_timeout_ms == 1000
        first = client._connection
        time.sleep(1.5)
        assert not first.usable  # GOAWAY then close, with no frames for 1 s
        assert client.health().live  # a new connection
        assert client._connection is not first
        # Pings keep a connection alive.
        second = client._connection
        for _ in range(6):
            client.ping()
            time.sleep(0.25)
        assert second.usable


def test_keepalive_pings_keep_an_idle_connection_open(start_server):
    server = start_server("--idle-timeout-ms", "1000")
    with server.client(keepalive=0.3) as client:
        first = client._connection
        time.sleep(1.6)
        assert first.usable and client._connection is first
        assert client.health().live and client._connection is first


def test_a_compressed_response_past_the_clients_own_limit_fails_only_that_call(server, client):
    digits = dataset("digits")
    train(client, "digits", digits, "tree", epochs=1)
    with server.client(max_message_bytes=4096) as small:
        with pytest.raises(modelwire.ResourceExhausted):
            small.predict("digits", first_rows(digits, 400), include_probabilities=True)
        assert small._connection.calls == {}
        assert len(small.predict("digits", first_rows(digits, 2)).class_ids) == 2  # same connection, still fine
