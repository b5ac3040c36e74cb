import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireTestSupport
import Testing

/// A client that sends and never reads must not make the server hold its answers (issue 11,
/// item 7): the connection stops reading once 1 MiB of answers wait, holds what it has read,
/// and closes after `--stalled-write-timeout-ms`.
@Suite("Backpressure", .blockingThreads, .blockingThreads)
struct BackpressureTests {
    /// The resident set of a process, in bytes (VmRSS of /proc/PID/status).
    static func residentBytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
    }

    /// 20,000 ServerInfo requests (each answer ~48 KB), then PINGs, up to 100 MB.
    static func flood() -> [UInt8] {
        var writer = ByteBufferWriter()
        for id in 1...20_000 {
            writer.frameHeader(
                kind: 2,
                flags: 1,
                method: UInt16(V1.Method.serverInfo.rawValue),
                callID: UInt32(id),
                length: 0
            )
        }
        var ping = ByteBufferWriter()
        ping.frameHeader(kind: 6, flags: 0, method: 0, callID: 0, length: 8)
        let pingFrame = ping.bytes + [1, 2, 3, 4, 5, 6, 7, 8]
        var bytes = writer.bytes
        bytes.reserveCapacity(100 << 20)
        while bytes.count + pingFrame.count <= 100 << 20 { bytes += pingFrame }
        return bytes
    }

    @Test("a never-reading client raises the server's RSS by at most 32 MiB, and others are still served")
    func neverReadingClient() async throws {
        let server = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--stalled-write-timeout-ms", "60000"]
        )
        defer { server.terminate() }
        let pid = server.process.processIdentifier
        try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
            _ = try await client.serverInfo()  // the server's own first-call allocations happen before the baseline
        }
        let before = try Self.residentBytes(pid)
        let raw = try RawConnection(server.endpoint)
        try raw.handshake()
        let bytes = Self.flood()
        var sent = 0
        var stalledSince = Date()
        // Stop once the server has not read for 2 s.
        while sent < bytes.count, Date().timeIntervalSince(stalledSince) < 2 {
            let n = try raw.sendWithoutBlocking(bytes[sent...])
            if n > 0 {
                sent += n
                stalledSince = Date()
            } else {
                usleep(1_000)
            }
        }
        let during = try Self.residentBytes(pid)
        #expect(sent < bytes.count, "the server read all \(sent) bytes without the client reading anything")
        #expect(
            during - before <= 32 << 20,
            "RSS grew by \((during - before) >> 20) MiB while \(sent >> 20) MiB were sent"
        )
        try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
            let health = try await client.health()
            #expect(health.live)
        }
        _ = raw  // closed at the end of the test
    }

    @Test("a connection whose client stops reading is closed after --stalled-write-timeout-ms")
    func stalledConnectionIsClosed() async throws {
        let server = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--stalled-write-timeout-ms", "1000"]
        )
        defer { server.terminate() }
        let raw = try RawConnection(server.endpoint)
        try raw.handshake()
        let bytes = Self.flood()
        var sent = 0
        let start = Date()
        var closed = false
        while Date().timeIntervalSince(start) < 10 {
            do {
                let n = try raw.sendWithoutBlocking(bytes[(sent % (bytes.count - 1))...])
                sent += n
                if n == 0 { usleep(10_000) }
            } catch {
                closed = true  // EPIPE / ECONNRESET: the server closed the connection
                break
            }
        }
        #expect(closed, "the stalled connection was still open after 10 s")
    }
}
