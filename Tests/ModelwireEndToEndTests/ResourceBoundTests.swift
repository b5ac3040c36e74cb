import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireTestSupport
import Testing

/// Each resource bound of issue 12 item 4 fed its bad input against the real `modelwire-server`,
/// with the status (or close) PROTOCOL.md §10 names, and a server that keeps serving others.
@Suite("Resource bounds", .blockingThreads, .blockingThreads)
struct ResourceBoundTests {
    /// Whether a fresh client gets an answer: the server still serves.
    static func stillServes(_ endpoint: String, token: String? = nil) throws -> Bool {
        let connection = try RawConnection(endpoint)
        try connection.handshake(token: token)
        return try AuthTests.call(connection, .health, id: 1) == .ok
    }

    /// Sends `bytes` one every `interval` ms until the server answers or closes; the time it took.
    static func trickle(
        _ connection: RawConnection,
        _ bytes: [UInt8],
        intervalMilliseconds: Int32
    ) throws
        -> (seconds: Double, bytesSent: Int)
    {
        let start = Date()
        for (index, byte) in bytes.enumerated() {
            if connection.waitReadable(milliseconds: index == 0 ? 0 : intervalMilliseconds) {
                return (Date().timeIntervalSince(start), index)
            }
            try connection.send([byte])
        }
        _ = connection.waitReadable(milliseconds: 30_000)
        return (Date().timeIntervalSince(start), bytes.count)
    }

    @Test("slowloris on the HELLO (one byte every 0.5 s) is closed within --handshake-timeout-ms")
    func slowHello() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--handshake-timeout-ms", "1500"]
        )
        defer { process.terminate() }
        let connection = try RawConnection(process.endpoint)
        let hello = try V1.ClientHello(protocolVersions: [1], compression: [.none], clientName: "slow-loris-client")
            .serializedBytes()
        var frame = ByteBufferWriter()
        frame.frameHeader(kind: 1, flags: 0, method: 0, callID: 0, length: UInt32(hello.count))
        let (seconds, sent) = try Self.trickle(connection, frame.bytes + hello, intervalMilliseconds: 500)
        let (kind, callID, status) = try connection.readErrorFrame()
        #expect(kind == Frame.Kind.error.rawValue && callID == 0)
        #expect(status.code == .deadlineExceeded)
        #expect(status.message == "no HELLO within 1500 ms")
        #expect(try connection.readUntilClosed())
        #expect(sent < frame.bytes.count + hello.count, "closed before the whole HELLO arrived")
        // From the connect: at the timeout, not before; the upper bound is loose for a loaded machine.
        #expect(seconds >= 1.0 && seconds < 6, "closed after \(seconds) s")
        #expect(try Self.stillServes(process.endpoint))
    }

    @Test("a frame trickled after the handshake is cut at --frame-timeout-ms (the idle timer never fires)")
    func slowFrame() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--frame-timeout-ms", "1500", "--idle-timeout-ms", "600000"]
        )
        defer { process.terminate() }
        let connection = try RawConnection(process.endpoint)
        try connection.handshake(token: nil)
        #expect(try AuthTests.call(connection, .health, id: 1) == .ok)  // whole frames are fine
        var frame = ByteBufferWriter()
        frame.frameHeader(kind: 2, flags: 1, method: 0x0111, callID: 2, length: 64)
        let (seconds, sent) = try Self.trickle(
            connection,
            frame.bytes + [UInt8](repeating: 0, count: 64),
            intervalMilliseconds: 500
        )
        let (kind, callID, status) = try connection.readErrorFrame()
        #expect(kind == Frame.Kind.error.rawValue && callID == 0)
        #expect(status.code == .deadlineExceeded)
        #expect(status.message == "a frame's bytes did not all arrive within 1500 ms of its first byte")
        #expect(try connection.readUntilClosed())
        #expect(sent < 84)
        #expect(seconds >= 1.0 && seconds < 6, "closed after \(seconds) s")
        #expect(try Self.stillServes(process.endpoint))
    }

    @Test("a connection without frames either way for --idle-timeout-ms gets GOAWAY, then the close")
    func idleTimeout() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--idle-timeout-ms", "1000"]
        )
        defer { process.terminate() }
        let connection = try RawConnection(process.endpoint)
        try connection.handshake(token: nil)
        let start = Date()
        let (kind, _, payload) = try connection.readFrame()
        let seconds = Date().timeIntervalSince(start)
        #expect(kind == Frame.Kind.goAway.rawValue)
        #expect(try V1.GoAway(serializedBytes: payload).reason == "the connection was idle too long")
        #expect(try connection.readUntilClosed())
        #expect(seconds >= 0.8 && seconds < 6, "GOAWAY after \(seconds) s")
        #expect(try Self.stillServes(process.endpoint))
    }

    @Test("--max-connections: one more is refused with ERROR RESOURCE_EXHAUSTED on call 0; a freed slot admits again")
    func maxConnections() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--max-connections", "2"]
        )
        defer { process.terminate() }
        var first: RawConnection? = try RawConnection(process.endpoint)
        try first?.handshake(token: nil)
        let second = try RawConnection(process.endpoint)
        try second.handshake(token: nil)
        let third = try RawConnection(process.endpoint)
        let (kind, callID, status) = try third.readErrorFrame()
        #expect(kind == Frame.Kind.error.rawValue && callID == 0)
        #expect(status.code == .resourceExhausted)
        #expect(status.message == "the server has 2 connections open (--max-connections); try again later")
        #expect(status.retryAfterMs == 1000)
        #expect(try third.readUntilClosed())
        #expect(try AuthTests.call(second, .health, id: 1) == .ok)  // the admitted ones are served
        first = nil  // closes it; the server frees the slot when it sees the close
        var admitted = false
        for _ in 0..<500 where !admitted {
            admitted = (try? Self.stillServes(process.endpoint)) ?? false
            if !admitted { usleep(10_000) }
        }
        #expect(admitted)
    }

    @Test("--max-connections-per-address: a second connection from 127.0.0.1 is refused, 127.0.0.2 is served")
    func maxConnectionsPerAddress() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--max-connections-per-address", "1"]
        )
        defer { process.terminate() }
        let first = try RawConnection(process.endpoint, sourceAddress: "127.0.0.1")
        try first.handshake(token: nil)
        let second = try RawConnection(process.endpoint, sourceAddress: "127.0.0.1")
        let (_, callID, status) = try second.readErrorFrame()
        #expect(callID == 0 && status.code == .resourceExhausted)
        #expect(status.message == "127.0.0.1 has 1 connections open (--max-connections-per-address)")
        let other = try RawConnection(process.endpoint, sourceAddress: "127.0.0.2")
        try other.handshake(token: nil)
        #expect(try AuthTests.call(other, .health, id: 1) == .ok)
        #expect(try AuthTests.call(first, .health, id: 1) == .ok)
    }

    @Test(
        "training caps and hyper-parameters: each bad request is refused with the cap or field named, before a job exists"
    )
    func trainingCaps() async throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: [
                "--max-train-epochs", "50", "--max-layer-width", "32", "--max-model-parameters", "5000",
                "--max-tree-depth", "8", "--max-trees", "20", "--max-train-cells", "2000",
                "--max-job-memory-bytes", "100000",
            ]
        )
        defer { process.terminate() }
        let server = TestServer(endpoint: process.endpoint, repository: "")
        let iris = try Fixtures.dataset("iris")  // 150 rows × 4 features
        func request(
            _ family: V1.ModelSpec.Family = .logistic(V1.LogisticRegressionSpec()),
            epochs: UInt32 = 5,
            data: V1.Dataset = iris,
            _ edit: (inout V1.TrainRequest) -> Void = { _ in }
        ) -> V1.TrainRequest {
            var r = Fixtures.trainRequest(model: "capped", data: data, spec: family, epochs: epochs)
            edit(&r)
            return r
        }
        let dense = { (units: [UInt32]) in
            V1.ModelSpec.Family.dense(V1.DenseNetSpec(hidden: units.map { V1.DenseLayerSpec(units: $0) }))
        }
        var wide = iris
        wide.features = V1.Tensor(columns: 40, values: Array(repeating: 1, count: 40 * 60))
        wide.classIds = Array(repeating: 0, count: 30) + Array(repeating: 1, count: 30)
        wide.featureNames = []
        let cases: [(V1.TrainRequest, V1.StatusCode, String)] = [
            (
                request(epochs: 51), .resourceExhausted,
                "epochs: 51 is over the server's limit of 50 (--max-train-epochs)"
            ),
            (request(dense([33])), .resourceExhausted, "a dense layer's units: 33 is over the server's limit of 32"),
            (request(dense([32, 32, 32, 32, 32, 32])), .resourceExhausted, "model parameters: 5539 is over"),
            (
                request(.tree(V1.DecisionTreeSpec(maxDepth: 9))), .resourceExhausted,
                "max_depth: 9 is over the server's limit of 8 (--max-tree-depth)"
            ),
            (request(.forest(V1.ForestSpec(trees: 21))), .resourceExhausted, "trees (or boosting iterations): 21"),
            (request(data: wide), .resourceExhausted, "rows × features: 2400 is over the server's limit of 2000"),
            (
                request(.gbdt(V1.GradientBoostingSpec(iterations: 20))), .resourceExhausted,
                "the job's estimated memory (bytes): 251880 is over the server's limit of 100000"
            ),
            (
                request { $0.options?.optimizer?.learningRate = .nan }, .invalidArgument,
                "learning_rate must be a finite number >= 0, got nan"
            ),
            (
                request { $0.options?.l2 = -.infinity }, .invalidArgument,
                "l2 must be a finite number >= 0, got -inf"
            ),
            (
                request(.logistic(V1.LogisticRegressionSpec(c: -1))), .invalidArgument,
                "c must be a finite number >= 0, got -1.0"
            ),
        ]
        try await server.client { client in
            for (bad, code, message) in cases {
                let error = await expectError(code) { _ = try await client.trainToResult(bad) }
                #expect(error?.message.contains(message) == true, "\(error?.message ?? "") lacks \(message)")
            }
            #expect(try await client.listJobs().isEmpty, "no job was created")
            // Within the caps, training and serving go on.
            let (result, _) = try await client.trainToResult(request(epochs: 5))
            #expect(result.version == 1)
        }
    }

    @Test(
        "a stored dataset replaced by a larger one while its job waits: the job fails RESOURCE_EXHAUSTED at its start"
    )
    func capsCheckedAgainWhenTheJobStarts() async throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--max-train-cells", "2000", "--max-concurrent-jobs", "1"]
        )
        defer { process.terminate() }
        let server = TestServer(endpoint: process.endpoint, repository: "")
        let iris = try Fixtures.dataset("iris")  // 600 cells
        var wide = iris
        wide.features = V1.Tensor(columns: 40, values: (0..<(40 * 60)).map { Float($0 % 7) })
        wide.classIds = Array(repeating: 0, count: 30) + Array(repeating: 1, count: 30)
        wide.featureNames = []
        try await server.client { client in
            _ = try await client.uploadDataset(name: "d", dataset: iris)
            // A job that holds the only training thread until it is cancelled.
            let busy = V1.ModelSpec.Family.dense(
                V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 512), V1.DenseLayerSpec(units: 512)])
            )
            var blocker = try await client.train(
                Fixtures.trainRequest(model: "blocker", data: iris, spec: busy, epochs: 10_000)
            ).makeAsyncIterator()
            let blockerJob = try #require(try await blocker.next()?.jobId)
            var queued = V1.TrainRequest(model: "queued", data: .dataset("d"), spec: V1.ModelSpec(family: nil))
            queued.options = V1.TrainingOptions(epochs: 1)
            var events = try await client.train(queued).makeAsyncIterator()
            guard case .accepted? = try await events.next()?.event else {
                Issue.record("the queued job was not accepted")
                return
            }
            _ = try await client.uploadDataset(name: "d", dataset: wide, replace: true)
            _ = try await client.cancelJob(id: blockerJob)
            let error = await expectError(.resourceExhausted) {
                while let event = try await events.next() {
                    if case .result? = event.event { return }
                }
            }
            #expect(error?.message.contains("rows × features: 2400 is over the server's limit of 2000") == true)
        }
    }
}
