"""Frames (PROTOCOL.md §2) and compression (§8): pure functions, no sockets."""
import struct
import zlib

from .errors import InvalidArgument, ResourceExhausted

HEADER = struct.Struct(">HBBBBHIII")  # magic, frame version, kind, flags, reserved, method, call id, timeout ms, length
HEADER_SIZE = HEADER.size  # 20
MAGIC = 0x4D57
FRAME_VERSION = 1
HELLO, REQUEST, MESSAGE, ERROR, CANCEL, PING, PONG, GOAWAY = range(1, 9)
KIND_NAMES = {HELLO: "HELLO", REQUEST: "REQUEST", MESSAGE: "MESSAGE", ERROR: "ERROR", CANCEL: "CANCEL",
              PING: "PING", PONG: "PONG", GOAWAY: "GOAWAY"}
END_STREAM = 0x01
COMPRESSED = 0x02
MAX_PING_BYTES = 8


class FramingError(Exception):
    """The peer broke the framing rules: the connection cannot be used any more."""


class Header:
    __slots__ = ("kind", "flags", "method", "call_id", "timeout_ms", "length")

    def __init__(self, kind, flags=0, method=0, call_id=0, timeout_ms=0, length=0):
        self.kind, self.flags, self.method = kind, flags, method
        self.call_id, self.timeout_ms, self.length = call_id, timeout_ms, length

    @property
    def end_stream(self):
        return bool(self.flags & END_STREAM)

    @property
    def compressed(self):
        return bool(self.flags & COMPRESSED)

    def __repr__(self):
        return (f"Header({KIND_NAMES.get(self.kind, self.kind)}, flags={self.flags:#x}, method={self.method:#06x}, "
                f"call_id={self.call_id}, timeout_ms={self.timeout_ms}, length={self.length})")


def encode_header(kind, length, flags=0, method=0, call_id=0, timeout_ms=0):
    return HEADER.pack(MAGIC, FRAME_VERSION, kind, flags, 0, method, call_id, timeout_ms, length)


def encode_frame(kind, payload=b"", flags=0, method=0, call_id=0, timeout_ms=0):
    return encode_header(kind, len(payload), flags, method, call_id, timeout_ms) + payload


def decode_header(data):
    """Parses and validates 20 header bytes; raises FramingError on any rule of §2 broken."""
    if len(data) < HEADER_SIZE:
        raise FramingError("short header")
    magic, version, kind, flags, reserved, method, call_id, timeout_ms, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FramingError(f"bad magic {magic:#06x}")
    if version != FRAME_VERSION:
        raise FramingError(f"unsupported frame version {version}")
    if kind not in KIND_NAMES:
        raise FramingError(f"unknown frame kind {kind}")
    if flags & ~(END_STREAM | COMPRESSED) or reserved:
        raise FramingError(f"reserved bits set (flags {flags:#x}, reserved {reserved})")
    return Header(kind, flags, method, call_id, timeout_ms, length)


def compress(payload, threshold=1024, force=False, max_ratio=200, ratio_check_min_bytes=1 << 20):
    """(bytes, compressed?) following §8: only payloads >= threshold, only when smaller; `force` always compresses.

    Never a payload the peer would refuse as a bomb (inflating past `ratio_check_min_bytes` by more
    than `max_ratio`): that one is sent plain, even with `force`.
    """
    if not force and len(payload) < threshold:
        return payload, False
    packed = zlib.compress(payload)
    if max_ratio and len(payload) > ratio_check_min_bytes and len(payload) > len(packed) * max_ratio:
        return payload, False
    if force or len(packed) < len(payload):
        return packed, True
    return payload, False


def inflate(data, max_bytes=64 << 20, max_ratio=200, ratio_check_min_bytes=1 << 20):
    """Inflates a zlib payload while enforcing the §8 limits (memory stays bounded).

    More than min(max_bytes, max(max_ratio * len(data), ratio_check_min_bytes)) inflated bytes:
    ResourceExhausted. Corrupt, truncated or trailing data: InvalidArgument.
    """
    limit = max_bytes
    if max_ratio:
        limit = min(limit, max(max_ratio * len(data), ratio_check_min_bytes))
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise InvalidArgument(f"corrupt compressed payload: {error}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        if len(out) > max_bytes:
            raise ResourceExhausted(f"compressed payload inflates past {max_bytes} bytes")
        raise ResourceExhausted(f"compressed payload inflates past {max_ratio}x its {len(data)} bytes")
    if not inflater.eof:
        raise InvalidArgument("truncated compressed payload")
    if inflater.unused_data:
        raise InvalidArgument("trailing bytes after the compressed payload")
    return out
