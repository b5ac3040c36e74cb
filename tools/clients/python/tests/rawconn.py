"""A blocking socket speaking raw bytes, for tests that send what a real client never would."""
import socket

from modelwire import frames as F
from modelwire import pb


class RawConnection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_hello(self, hello):
        self.send(F.encode_frame(F.HELLO, hello.SerializeToString(deterministic=True)))

    def handshake(self):
        self.send_hello(pb.ClientHello(protocol_versions=[1], compression=[pb.COMPRESSION_NONE], client_name="raw"))
        header, payload = self.read_frame()
        assert header.kind == F.HELLO, header
        return pb.ServerHello.FromString(payload)

    def _read(self, count):
        out = b""
        while len(out) < count:
            chunk = self.sock.recv(count - len(out))
            if not chunk:
                raise EOFError("connection closed")
            out += chunk
        return out

    def read_frame(self):
        header = F.decode_header(self._read(F.HEADER_SIZE))
        return header, self._read(header.length) if header.length else b""

    def read_error(self):
        header, payload = self.read_frame()
        assert header.kind == F.ERROR, header
        return header, pb.Status.FromString(payload)

    def read_until_closed(self):
        """True when the server closed the connection (False on a timeout)."""
        try:
            while self.sock.recv(4096):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
