import Glibc
import ModelwireCodec
import ModelwireProtocol

// sockaddr_in's fields: with swift-nio's HTTP and swift-prometheus in the server, clang takes the
// struct's definition from CNIOLinux's headers (loaded first), and MemberImportVisibility then
// wants that module imported.
#if canImport(CNIOLinux)
import CNIOLinux
#endif

/// A blocking TCP connection speaking raw bytes, for tests that send what a real client never would.
final class RawConnection {
    private let fd: Int32

    /// Connects to `endpoint` (IPv4 host:port), from `sourceAddress` when given (e.g. 127.0.0.2:
    /// every 127/8 address is loopback, so tests can be several clients).
    init(_ endpoint: String, sourceAddress: String? = nil) throws {
        let parts = endpoint.split(separator: ":")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let sourceAddress {
            var source = sockaddr_in()
            source.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, sourceAddress, &source.sin_addr)
            let bound = withUnsafePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw ModelwireErrorForTests("bind to \(sourceAddress) failed: errno \(errno)") }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(parts[1])!).bigEndian
        inet_pton(AF_INET, String(parts[0]), &address.sin_addr)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw ModelwireErrorForTests("connect failed: errno \(errno)") }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == bytes.count else { throw ModelwireErrorForTests("send failed") }
    }

    /// Sends what the socket takes now without blocking; returns the bytes taken (0 when full).
    func sendWithoutBlocking(_ bytes: ArraySlice<UInt8>) throws -> Int {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        guard n >= 0 else { throw ModelwireErrorForTests("send failed: errno \(errno)") }
        return n
    }

    /// Waits up to `milliseconds` for bytes (or the close) to arrive; true when they did.
    func waitReadable(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Sends a REQUEST frame (END_STREAM) of `method` with `payload` on `callID`.
    func sendRequest(method: UInt16, callID: UInt32, payload: [UInt8] = []) throws {
        var frame = ByteBufferWriter()
        frame.frameHeader(kind: 2, flags: 1, method: method, callID: callID, length: UInt32(payload.count))
        try send(frame.bytes + payload)
    }

    func sendHello(_ hello: V1.ClientHello) throws {
        let payload = try hello.serializedBytes()
        var frame = ByteBufferWriter()
        frame.frameHeader(kind: 1, flags: 0, method: 0, callID: 0, length: UInt32(payload.count))
        try send(frame.bytes + payload)
    }

    func handshake() throws {
        try sendHello(V1.ClientHello(protocolVersions: [1], compression: [.none], clientName: "raw"))
        let (kind, _, _) = try readFrame()
        guard kind == Frame.Kind.hello.rawValue else { throw ModelwireErrorForTests("no HELLO answer") }
    }

    /// Handshakes with `token` as the bearer token (nil: no credentials); the ServerHello.
    @discardableResult
    func handshake(token: String?) throws -> V1.ServerHello {
        try sendHello(
            V1.ClientHello(
                protocolVersions: [1],
                compression: [.none],
                credentials: token.map { V1.Credentials(bearerToken: $0) },
                clientName: "raw"
            )
        )
        let (kind, _, payload) = try readFrame()
        guard kind == Frame.Kind.hello.rawValue else {
            throw ModelwireErrorForTests("no HELLO answer (kind \(kind))")
        }
        return try V1.ServerHello(serializedBytes: payload)
    }

    private func read(_ count: Int) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n == 0 { return nil }
            guard n > 0 else { throw ModelwireErrorForTests("recv failed: errno \(errno)") }
            got += n
        }
        return out
    }

    /// The next frame's kind, call id and payload.
    func readFrame() throws -> (kind: UInt8, callID: UInt32, payload: [UInt8]) {
        let frame = try readFrameWithFlags()
        return (frame.kind, frame.callID, frame.payload)
    }

    /// The next frame's kind, flags, call id and payload (as sent: compressed when flagged).
    func readFrameWithFlags() throws -> (kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8]) {
        guard let header = try read(Frame.headerSize) else { throw ModelwireErrorForTests("connection closed") }
        let length = header[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let callID = header[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let payload = length == 0 ? [] : (try read(length) ?? [])
        return (header[3], header[4], callID, payload)
    }

    func readErrorFrame() throws -> (kind: UInt8, callID: UInt32, status: V1.Status) {
        let (kind, callID, payload) = try readFrame()
        return (kind, callID, try V1.Status(serializedBytes: payload))
    }

    /// The bytes that arrive next (waiting up to the receive timeout); empty when the peer closed.
    func receiveSome() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 || (n < 0 && errno == ECONNRESET) { return [] }
        guard n > 0 else { throw ModelwireErrorForTests("recv failed: errno \(errno)") }
        return Array(buffer[0..<n])
    }

    /// Reads until the server closes the connection; true when it did (false on a timeout).
    func readUntilClosed() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

/// Builds frame headers byte by byte (PROTOCOL.md §2), independently of `ByteBuffer.writeFrameHeader`.
struct ByteBufferWriter {
    var bytes: [UInt8] = []

    mutating func frameHeader(
        kind: UInt8,
        flags: UInt8,
        method: UInt16,
        callID: UInt32,
        length: UInt32,
        timeout: UInt32 = 0
    ) {
        bytes += [0x4D, 0x57, 1, kind, flags, 0, UInt8(method >> 8), UInt8(method & 0xFF)]
        bytes += withUnsafeBytes(of: callID.bigEndian, Array.init)
        bytes += withUnsafeBytes(of: timeout.bigEndian, Array.init)
        bytes += withUnsafeBytes(of: length.bigEndian, Array.init)
    }
}
