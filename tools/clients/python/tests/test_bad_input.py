"""Bad input gets a typed error, fails only its call, never hurts the server (mirrors BadInputTests.swift)."""
import math

import pytest

import modelwire
from conftest import dataset, options, train
from modelwire import first_rows, pb
from modelwire import frames as F
from rawconn import RawConnection


def test_bad_predicts_fail_their_call_with_the_right_code(client):
    iris = dataset("iris")
    train(client, "iris", iris, epochs=2)
    with pytest.raises(modelwire.InvalidArgument) as wrong:
        client.predict("iris", pb.Tensor(columns=3, values=[1, 2, 3]))
    assert "expects 4 features" in wrong.value.message and "got 3" in wrong.value.message
    assert wrong.value.code == 3 and isinstance(wrong.value, modelwire.ModelwireError)
    with pytest.raises(modelwire.InvalidArgument):
        client.predict("iris", [[1, math.nan, 3, 4]])
    with pytest.raises(modelwire.InvalidArgument):
        client.predict("iris", [[1, 2, math.inf, 4]])
    with pytest.raises(modelwire.NotFound):
        client.predict("nope", first_rows(iris, 1))
    with pytest.raises(modelwire.NotFound):
        client.predict("iris", first_rows(iris, 1), version=9)
    with pytest.raises(modelwire.NotFound):
        client.predict("iris", first_rows(iris, 1), alias="canary")
    with pytest.raises(modelwire.InvalidArgument):
        client.describe_model("../etc")
    with pytest.raises(modelwire.NotFound):
        client.get_job("job-does-not-exist")
    with pytest.raises(modelwire.InvalidArgument):
        client.set_alias("iris", "latest", 1)
    # The server still serves, on the same connection.
    assert len(client.predict("iris", first_rows(iris, 1)).class_ids) == 1


def test_bad_training_data_is_rejected(client):
    empty = pb.Dataset(features=pb.Tensor(columns=2), class_names=["a", "b"])
    with pytest.raises(modelwire.InvalidArgument):
        train(client, "m", empty)
    one_class = pb.Dataset(features=pb.Tensor(columns=1, values=[1, 2, 3]), class_names=["only"], class_ids=[0, 0, 0])
    with pytest.raises(modelwire.InvalidArgument) as error:
        train(client, "m", one_class)
    assert "one class" in error.value.message
    nan = pb.Dataset(features=pb.Tensor(columns=1, values=[1, math.nan]), class_names=["a", "b"], class_ids=[0, 1])
    with pytest.raises(modelwire.InvalidArgument):
        train(client, "m", nan)
    with pytest.raises(modelwire.InvalidArgument):
        train(client, ".hidden", dataset("iris"))
    with pytest.raises(modelwire.NotFound):
        client.train("m", "missing", "logistic").wait()
    assert client.list_models() == []


def test_oversized_frame_closes_only_that_connection(start_server):
    server = start_server("--max-frame-bytes", str(64 * 1024))
    with server.client() as client:
        assert client.limits.max_frame_bytes == 64 * 1024
        # The client refuses to send what the server would refuse.
        with pytest.raises(modelwire.ResourceExhausted):
            client.predict("iris", pb.Tensor(columns=1, values=[float(i) for i in range(40000)]), compress=False)
        raw = RawConnection(server.host, server.port)
        raw.handshake()
        raw.send(F.encode_header(F.REQUEST, 10 << 20, F.END_STREAM, 0x0101, 1))  # 10 MiB announced, never sent
        header, status = raw.read_error()
        assert header.call_id == 0
        assert status.code == pb.STATUS_CODE_RESOURCE_EXHAUSTED
        assert raw.read_until_closed()
        assert client.health().live  # the other connection is untouched


def test_garbage_bytes_close_that_connection_and_nothing_else(server, client):
    iris = dataset("iris")
    train(client, "iris", iris, epochs=2)
    raw = RawConnection(server.host, server.port)
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _, status = raw.read_error()
    assert status.code == pb.STATUS_CODE_INVALID_ARGUMENT
    assert "magic" in status.message
    assert raw.read_until_closed()
    after = RawConnection(server.host, server.port)
    after.handshake()
    after.send(bytes((i * 37) & 0xFF for i in range(64)))
    assert after.read_until_closed()
    # A first frame other than HELLO.
    early = RawConnection(server.host, server.port)
    early.send(F.encode_frame(F.REQUEST, b"", F.END_STREAM, 0x0111, 1))
    header, status = early.read_error()
    assert header.call_id == 0 and status.code != 0
    assert early.read_until_closed()
    # The client's connection was untouched.
    assert len(client.predict("iris", first_rows(iris, 2)).class_ids) == 2


def test_unknown_method_and_unsupported_version(server):
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    raw.send(F.encode_frame(F.REQUEST, b"", F.END_STREAM, 0x01FF, 5))
    header, status = raw.read_error()
    assert header.call_id == 5 and status.code == pb.STATUS_CODE_UNIMPLEMENTED
    # The connection survives a call error.
    raw.send(F.encode_frame(F.REQUEST, b"", F.END_STREAM, 0x0111, 6))
    header, payload = raw.read_frame()
    assert header.kind == F.MESSAGE and header.call_id == 6 and header.end_stream
    assert pb.HealthResponse.FromString(payload).live

    future = RawConnection(server.host, server.port)
    future.send_hello(pb.ClientHello(protocol_versions=[7], client_name="future"))
    _, refusal = future.read_error()
    assert refusal.code == pb.STATUS_CODE_UNIMPLEMENTED
    assert list(refusal.supported_protocol_versions) == [1]
    assert future.read_until_closed()
    # Through the client: the handshake raises the typed error.
    with pytest.raises(modelwire.Unimplemented) as error:
        modelwire.Client(server.host, server.port, protocol_versions=[7])
    assert error.value.supported_protocol_versions == [1]


def test_bad_request_payload_fails_only_that_call(server):
    raw = RawConnection(server.host, server.port)
    raw.handshake()
    raw.send(F.encode_frame(F.REQUEST, b"\xff\xff\xff", F.END_STREAM, 0x0101, 1))  # not a PredictRequest
    header, status = raw.read_error()
    assert header.call_id == 1 and status.code == pb.STATUS_CODE_INVALID_ARGUMENT
    raw.send(F.encode_frame(F.REQUEST, b"not zlib", F.END_STREAM | F.COMPRESSED, 0x0101, 2))  # corrupt zlib
    header, status = raw.read_error()
    assert header.call_id == 2 and status.code == pb.STATUS_CODE_INVALID_ARGUMENT
    import zlib
    bomb = zlib.compress(bytes(4 << 20))  # ~1000x and past ratio_check_min_bytes (1 MiB): a bomb
    raw.send(F.encode_frame(F.REQUEST, bomb, F.END_STREAM | F.COMPRESSED, 0x0101, 3))
    header, status = raw.read_error()
    assert header.call_id == 3 and status.code == pb.STATUS_CODE_RESOURCE_EXHAUSTED
    raw.send(F.encode_frame(F.REQUEST, b"", F.END_STREAM, 0x0111, 4))
    header, _ = raw.read_frame()
    assert header.kind == F.MESSAGE and header.call_id == 4


def test_compressible_inputs_are_not_refused_as_bombs(client):
    """All-zero rows compress ~1000x: below ratio_check_min_bytes the bomb check does not apply,
    and above it the client sends the request plain instead of a frame the server would refuse."""
    train(client, "iris", dataset("iris"), epochs=2)
    small = client.predict("iris", [[0.0] * 4] * 2000)  # 32 KB inflated, compressed ~100 bytes
    assert len(small.class_ids) == 2000
    large = client.predict("iris", [[0.0] * 4] * 65536)  # past 1 MiB inflated: sent plain
    assert len(large.class_ids) == 65536


def test_family_names_are_the_clis(client):
    """"mlp" is the CLI's 64-64 relu net (it raised KeyError); an unknown name is a ValueError naming the choices."""
    from modelwire.client import _spec
    mlp = _spec("mlp")
    assert [layer.units for layer in mlp.dense.hidden] == [64, 64]
    assert _spec("dense") == mlp and _spec("svm") == _spec("linear_svm")
    with pytest.raises(ValueError, match="use one of"):
        client.train("x", dataset("iris"), spec="perceptron")
