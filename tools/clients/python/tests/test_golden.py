"""Every golden vector of proto/testdata/ both ways (PROTOCOL.md §13): decode, re-encode, same bytes."""
import glob
import os
import sys
import zlib

import pytest

from conftest import PROTO, REPO
from modelwire import frames as F
from modelwire import pb

sys.path.insert(0, os.path.join(REPO, "tools"))
from golden import read_vector  # noqa: E402  (the vector file format has one reader: tools/golden.py)

VECTORS = sorted(glob.glob(os.path.join(PROTO, "testdata", "*.hex")))


def test_there_are_vectors():
    assert len(VECTORS) >= 17


@pytest.mark.parametrize("path", VECTORS, ids=[os.path.basename(p)[:-4] for p in VECTORS])
def test_vector_decodes_and_reencodes(path):
    message, raw = read_vector(path)
    header = F.decode_header(raw[:F.HEADER_SIZE])
    assert header.length == len(raw) - F.HEADER_SIZE
    payload = raw[F.HEADER_SIZE:]
    if header.compressed:
        payload = F.inflate(payload)  # with the default limits
    if message == "raw":
        decoded_bytes = payload
        assert len(payload) <= F.MAX_PING_BYTES
    else:
        decoded = pb.message_type(message).FromString(payload)
        decoded_bytes = decoded.SerializeToString(deterministic=True)
        assert decoded_bytes == payload
    # Re-encode the whole frame with this client's encoder.
    again_payload = decoded_bytes
    if header.compressed:
        again_payload, packed = F.compress(decoded_bytes, force=True)
        assert packed
        again = F.encode_frame(header.kind, again_payload, header.flags, header.method, header.call_id, header.timeout_ms)
        assert again[:16] == raw[:16]  # same header up to the length
        assert zlib.decompress(again[F.HEADER_SIZE:]) == zlib.decompress(raw[F.HEADER_SIZE:])
    else:
        again = F.encode_frame(header.kind, again_payload, header.flags, header.method, header.call_id, header.timeout_ms)
        assert again == raw


def test_specific_vectors_hold_what_their_comment_says():
    _, raw = read_vector(os.path.join(PROTO, "testdata", "predict_request.hex"))
    header = F.decode_header(raw)
    assert (header.kind, header.flags, header.method, header.call_id, header.timeout_ms) == (F.REQUEST, F.END_STREAM,
                                                                                             0x0101, 1, 250)
    request = pb.PredictRequest.FromString(raw[F.HEADER_SIZE:])
    assert request.model.name == "iris" and request.model.version == 3 and request.include_probabilities
    assert request.inputs.columns == 4 and len(request.inputs.values) == 8
    _, raw = read_vector(os.path.join(PROTO, "testdata", "error_overloaded.hex"))
    error = __import__("modelwire").error_for_status(pb.Status.FromString(raw[F.HEADER_SIZE:]))
    assert type(error).__name__ == "ResourceExhausted" and error.retry_after_ms == 50
    _, raw = read_vector(os.path.join(PROTO, "testdata", "server_hello.hex"))
    hello = pb.ServerHello.FromString(raw[F.HEADER_SIZE:])
    assert hello.limits.max_frame_bytes == 16 << 20 and hello.limits.max_decompression_ratio == 200


def test_header_validation():
    good = F.encode_header(F.MESSAGE, 0, call_id=1)
    F.decode_header(good)
    for index, value in ((0, 0x47), (2, 2), (3, 9), (3, 0), (4, 0x04), (5, 1)):
        bad = bytearray(good)
        bad[index] = value
        with pytest.raises(F.FramingError):
            F.decode_header(bytes(bad))


def test_inflate_limits():
    import modelwire
    data = bytes(1000) * 2000  # 2 MB of zeros: ~1000x ratio, past the 1 MiB ratio_check_min_bytes
    packed = zlib.compress(data)
    with pytest.raises(modelwire.ResourceExhausted):
        F.inflate(packed, max_bytes=64 << 20, max_ratio=200)
    with pytest.raises(modelwire.ResourceExhausted):
        F.inflate(packed, max_bytes=1000, max_ratio=0)
    assert F.inflate(packed, max_bytes=4 << 20, max_ratio=10000) == data
    small = bytes(100_000)  # as compressible, but below the floor: legitimate sparse data
    assert F.inflate(zlib.compress(small), max_ratio=200) == small
    with pytest.raises(modelwire.ResourceExhausted):
        F.inflate(zlib.compress(small), max_ratio=200, ratio_check_min_bytes=0)
    with pytest.raises(modelwire.InvalidArgument):
        F.inflate(zlib.compress(b"hello hello hello")[:-5])
    with pytest.raises(modelwire.InvalidArgument):
        F.inflate(zlib.compress(b"hello hello hello") + b"xx")
    with pytest.raises(modelwire.InvalidArgument):
        F.inflate(b"not zlib at all")
    small = b"abc"
    assert F.compress(small) == (small, False)
    assert F.compress(bytes(2000))[1] is True
    assert F.compress(os.urandom(2000))[1] is False  # incompressible: sent plain
