import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireTestSupport
import Testing

/// SIGTERM: GOAWAY to clients, in-flight calls finish, running jobs are cancelled cleanly, exit 0.
@Suite(.blockingThreads) struct GracefulShutdownTests {
    @Test func sigtermDrainsAnOpenCallCancelsTheJobAndExitsZero() async throws {
        let repository = TestServer.temporaryDirectory()
        let digits = try Fixtures.dataset("digits")
        let process = try ServerProcess(repository: repository)
        let jobID = try await withModelwireClient(endpoints: [process.endpoint], logger: TestServer.quiet) { client in
            let long = Fixtures.trainRequest(
                model: "digits",
                data: digits,
                spec: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64)])),
                epochs: 500
            )
            for try await event in try await client.train(long) {
                if case .progress? = event.event { return event.jobId }
            }
            return ""
        }
        // An upload in flight: first chunk sent, last chunk not yet.
        let raw = try RawConnection(process.endpoint)
        try raw.handshake()
        let chunk = { (last: Bool) throws -> [UInt8] in
            let payload = try Fixtures.twoRowUploadChunk("drained")
            var frame = ByteBufferWriter()
            frame.frameHeader(
                kind: last ? 3 : 2,
                flags: last ? 1 : 0,
                method: last ? 0 : 0x0108,
                callID: 1,
                length: UInt32(payload.count)
            )
            return frame.bytes + payload
        }
        try raw.send(try chunk(false))
        var ping = ByteBufferWriter()
        ping.frameHeader(kind: 6, flags: 0, method: 0, callID: 0, length: 0)
        try raw.send(ping.bytes)
        // frames are handled in order: the upload is open
        try #expect(raw.readFrame().kind == Frame.Kind.pong.rawValue)
        kill(process.process.processIdentifier, SIGTERM)
        let goAway = try raw.readFrame()
        #expect(goAway.kind == Frame.Kind.goAway.rawValue)
        try #expect(V1.GoAway(serializedBytes: goAway.payload).lastCallId == 1)
        try raw.send(try chunk(true))
        let answer = try raw.readFrame()
        #expect(answer.kind == Frame.Kind.message.rawValue)
        try #expect(V1.DatasetInfo(serializedBytes: answer.payload).rows == 4)
        process.process.waitUntilExit()
        #expect(process.process.terminationStatus == 0)

        let restarted = try ServerProcess(repository: repository)
        try await withModelwireClient(endpoints: [restarted.endpoint], logger: TestServer.quiet) { client in
            try await #expect(await client.getJob(id: jobID).state == .cancelled)
            try await #expect(await client.listDatasets().map(\.name) == ["drained"])
            try await #expect(await client.listModels().isEmpty)
        }
        restarted.terminate()
    }

    @Test("SIGTERM with a train attached: its stream ends with UNAVAILABLE saying why, within the grace period")
    func sigtermTellsAnAttachedTrain() async throws {
        let digits = try Fixtures.dataset("digits")
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--grace-period-ms", "3000"]
        )
        let started = Date()
        let outcome: Result<Void, any Error> = try await withModelwireClient(
            endpoints: [process.endpoint],
            logger: TestServer.quiet
        ) { client in
            let long = Fixtures.trainRequest(
                model: "digits",
                data: digits,
                spec: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64)])),
                epochs: 5000
            )
            do {
                var signalled = false
                for try await event in try await client.train(long) {
                    if case .progress? = event.event, !signalled {
                        kill(process.process.processIdentifier, SIGTERM)
                        signalled = true
                    }
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        guard case .failure(let error) = outcome else {
            Issue.record("the 5000-epoch job finished although the server was shutting down")
            return
        }
        let status = try #require(error as? ModelwireError)
        #expect(status.code == .unavailable)
        #expect(status.message.contains("shutting down"), "\(status.message)")
        #expect(elapsed < 30, "the stream ended \(elapsed) s after the start")
        process.process.waitUntilExit()
        #expect(process.process.terminationStatus == 0)
    }
}
