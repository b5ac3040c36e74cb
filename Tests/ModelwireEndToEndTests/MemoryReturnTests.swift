import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import Testing

/// A burst must not pin the server's peak memory forever (issue 11, item 8): the allocator keeps
/// large buffers on the heap for speed, and `MemoryReturn` gives them back once they are free.
@Suite("Memory return", .blockingThreads, .blockingThreads)
struct MemoryReturnTests {
    @Test("the policy trims once much memory is free, and again after more was freed or the process grew")
    func policy() {
        let policy = MemoryReturn.defaults
        func reading(_ free: Int, _ resident: Int) -> MemoryReturn.Reading {
            MemoryReturn.Reading(freeBytes: free << 20, residentBytes: resident << 20)
        }
        #expect(policy.decide(reading(1, 900), afterLastTrim: nil) == .keep)
        #expect(policy.decide(reading(31, 900), afterLastTrim: nil) == .keep)
        #expect(policy.decide(reading(500, 900), afterLastTrim: nil) == .trim)
        #expect(policy.decide(reading(500, 100), afterLastTrim: reading(495, 95)) == .keep)
        #expect(policy.decide(reading(500, 300), afterLastTrim: reading(495, 95)) == .trim)  // pages used again
        #expect(policy.decide(reading(500, 90), afterLastTrim: reading(200, 150)) == .trim)  // freed since
    }

    /// One large predict of a model that does not exist: the server reads and decodes it, then answers not_found.
    static func predictAbsent(_ endpoint: String, _ model: V1.ModelRef, _ values: [Float]) async throws {
        try await withModelwireClient(endpoints: [endpoint], logger: TestServer.quiet) { client -> Void in
            await #expect(throws: ModelwireError.self) {
                _ = try await client.predict(model: model, columns: 4, values: values)
            }
        }
    }

    @Test("after a burst of large predicts the server's RSS returns to within 24 MiB of before")
    func burstIsGivenBack() async throws {
        let server = try ServerProcess(repository: TestServer.temporaryDirectory())
        defer { server.terminate() }
        let pid = server.process.processIdentifier
        let rows = 750_000  // 4 columns: 12 MB of floats per request, random so it does not compress
        var generator = SystemRandomNumberGenerator()
        let values = (0..<(rows * 4)).map { _ in Float.random(in: -1...1, using: &generator) }
        let absent = V1.ModelRef(name: "absent", selector: nil)
        try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
            _ = try await client.serverInfo()
        }
        let before = try BackpressureTests.residentBytes(pid)
        var peak = before
        for _ in 0..<3 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await Self.predictAbsent(server.endpoint, absent, values) }
                }
                try await group.waitForAll()
            }
            peak = max(peak, try BackpressureTests.residentBytes(pid))
        }
        #expect(peak - before >= 100 << 20, "the burst raised RSS by only \((peak - before) >> 20) MiB: not a burst")
        var after = try BackpressureTests.residentBytes(pid)
        let deadline = Date().addingTimeInterval(15)
        while after - before > 24 << 20, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            after = try BackpressureTests.residentBytes(pid)
        }
        #expect(
            after - before <= 24 << 20,
            "RSS \(before >> 20) MiB before, \(peak >> 20) MiB at the peak, \(after >> 20) MiB 15 s after"
        )
    }
}
