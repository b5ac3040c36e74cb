import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import NIOCore
import NIOPosix
import Testing

/// Many callers, cancellation, deadlines, and work that outlives its caller.
@Suite(.blockingThreads) struct ConcurrencyTests {
    /// Trains "iris" on the server; returns the dataset and the class id the model predicts for each row.
    static func trainIris(on server: TestServer) async throws -> (V1.Dataset, [UInt32]) {
        let iris = try Fixtures.dataset("iris")
        let expected = try await server.client { client in
            _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 5))
            return try await client.predict(
                V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 150))
            )
            .classIds
        }
        return (iris, expected)
    }

    @Test func manyClientsAndManyCallsPerConnection() async throws {
        try await TestServer.with { server in
            let (iris, expected) = try await Self.trainIris(on: server)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {  // six clients, one connection each, 40 concurrent calls on each
                    group.addTask {
                        try await server.client(configure: { $0.connectionsPerEndpoint = 1 }) { client in
                            try await withThrowingTaskGroup(of: (Int, [UInt32]).self) { calls in
                                for i in 0..<40 {
                                    calls.addTask {
                                        let row = i % 150
                                        let inputs = V1.Tensor(
                                            columns: 4,
                                            values: Array(iris.features!.values[(row * 4)..<(row * 4 + 4)])
                                        )
                                        return (
                                            row,
                                            try await client.predict(
                                                V1.PredictRequest(
                                                    model: V1.ModelRef(name: "iris"),
                                                    inputs: inputs
                                                )
                                            ).classIds
                                        )
                                    }
                                }
                                for try await (row, ids) in calls { #expect(ids == [expected[row]]) }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func predictOnEventLoopAnswersLikePredictWithoutATask() async throws {
        try await TestServer.with { server in
            let (iris, expected) = try await Self.trainIris(on: server)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let client = ModelwireClient(
                endpoints: [try Endpoint(parsing: server.endpoint)],
                configuration: .defaults { $0.connectionsPerEndpoint = 1 },
                eventLoopGroup: group,
                logger: TestServer.quiet
            )
            @Sendable func request(_ row: Int) -> V1.PredictRequest {
                V1.PredictRequest(
                    model: V1.ModelRef(name: "iris"),
                    inputs: V1.Tensor(columns: 4, values: Array(iris.features!.values[(row * 4)..<(row * 4 + 4)]))
                )
            }
            // Not connected yet: the call takes the async path and still answers.
            #expect(try await client.predictOnEventLoop(request(0)).get().classIds == [expected[0]])
            // Connected: 150 calls started on the client's own event loop, completed there.
            let loop = group.next()
            let answers = try await loop.flatSubmit {
                EventLoopFuture.whenAllSucceed(
                    (0..<150).map { row in
                        client.predictOnEventLoop(request(row)).map { response -> UInt32? in
                            loop.preconditionInEventLoop()
                            return response.classIds.first
                        }
                    },
                    on: loop
                )
            }.get()
            #expect(answers == expected.map { Optional($0) })
            // Errors arrive as the async call's: the status code of the server's answer.
            for (bad, code) in [
                (
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "no-such-model"),
                        inputs: V1.Tensor(columns: 4, values: [1, 2, 3, 4])
                    ),
                    V1.StatusCode.notFound
                ),
                (
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "iris"),
                        inputs: V1.Tensor(columns: 3, values: [1, 2, 3])
                    ),
                    .invalidArgument
                ),
            ] {
                do {
                    _ = try await client.predictOnEventLoop(bad).get()
                    Issue.record("\(bad) was answered")
                } catch let error as ModelwireError {
                    #expect(error.code == code)
                }
            }
            await client.shutdown()
            try await group.shutdownGracefully()
        }
    }

    @Test func predictsAreServedWhileATrainingJobRuns() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let iris = try Fixtures.dataset("iris")
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                let digits = try Fixtures.dataset("digits")
                let long = Fixtures.trainRequest(
                    model: "digits",
                    data: digits,
                    spec: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64)])),
                    epochs: 400
                )
                let events = try await client.train(long)
                var iterator = events.makeAsyncIterator()
                guard case .accepted? = try await iterator.next()?.event else {
                    Issue.record("no accepted event")
                    return
                }
                let jobID = try #require(try await client.listJobs().first { $0.model == "digits" }?.id)
                var served = 0
                while try await client.getJob(id: jobID).state != .running {
                    try await Task.sleep(for: .milliseconds(5))
                }
                for _ in 0..<50 {
                    _ = try await client.predict(
                        V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 1))
                    )
                    served += 1
                }
                #expect(served == 50)
                try await #expect(await client.getJob(id: jobID).state == .running)
                // Leaving the stream only detaches; cancelling the job stops it.
                // CancelJob answers once the job has stopped.
                try await #expect(await client.cancelJob(id: jobID).state == .cancelled)
                try await #expect(await client.getJob(id: jobID).state == .cancelled)
                try await #expect(await client.listModels().map(\.name) == ["iris"])
            }
        }
    }

    @Test func cancellingTheTrainCallDetachesAndTheJobFinishes() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let iris = try Fixtures.dataset("iris")
                let task = Task {
                    for try await event in try await client.train(
                        Fixtures.trainRequest(model: "iris", data: iris, epochs: 300)
                    ) {
                        if case .accepted? = event.event { return event.jobId }
                    }
                    return ""
                }
                let jobID = try await task.value  // leaves the stream after the first event: sends CANCEL
                #expect(!jobID.isEmpty)
                var job = try await client.getJob(id: jobID)
                for _ in 0..<2000 where job.state != .succeeded && job.state != .failed {
                    try await Task.sleep(for: .milliseconds(10))
                    job = try await client.getJob(id: jobID)
                }
                #expect(job.state == .succeeded)
                try await #expect(await client.listModels().map(\.name) == ["iris"])
            }
        }
    }

    @Test func aQueuedPredictPastItsDeadlineIsDroppedNotComputed() async throws {
        // A 300 ms batching delay and a 20 ms deadline: the call expires in the queue, and the server
        // itself answers deadline_exceeded (the raw connection enforces nothing locally).
        try await TestServer.with(configure: { $0.batching.maxQueueDelayMicroseconds = 300_000 }) { server in
            let iris = try Fixtures.dataset("iris")
            let (raw, payload) = try await Self.irisModelAndRawConnection(server, iris)
            var frame = ByteBufferWriter()
            frame.frameHeader(kind: 2, flags: 1, method: 0x0101, callID: 1, length: UInt32(payload.count), timeout: 20)
            try raw.send(frame.bytes + payload)
            let (kind, callID, status) = try raw.readErrorFrame()
            #expect(kind == 4 && callID == 1)
            #expect(status.code == .deadlineExceeded)
            // Without a deadline the same call waits for its batch and is answered.
            try await server.client { client in
                let ok = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 1)),
                    options: .init(timeout: .seconds(5))
                )
                #expect((ok.timings?.queueUs ?? 0) >= 250_000)
            }
        }
    }

    @Test func aFullPredictQueueAnswersResourceExhaustedWithARetryHint() async throws {
        // One queued call per model version, held for 300 ms: the second concurrent call is refused at once.
        try await TestServer.with(configure: {
            $0.batching.maxQueueDelayMicroseconds = 300_000
            $0.batching.maxQueuedCalls = 1
        }) { server in
            let (raw, payload) = try await Self.irisModelAndRawConnection(server, try Fixtures.dataset("iris"))
            var frames = ByteBufferWriter()
            frames.frameHeader(kind: 2, flags: 1, method: 0x0101, callID: 1, length: UInt32(payload.count))
            frames.bytes += payload
            frames.frameHeader(kind: 2, flags: 1, method: 0x0101, callID: 2, length: UInt32(payload.count))
            frames.bytes += payload
            try raw.send(frames.bytes)
            let refused = try raw.readFrame()  // the refusal comes first: the queued call waits 300 ms
            #expect(refused.kind == 4 && refused.callID == 2)
            let status = try V1.Status(serializedBytes: refused.payload)
            #expect(status.code == .resourceExhausted)
            #expect(status.retryAfterMs != nil)
            let answered = try raw.readFrame()
            #expect(answered.kind == 3 && answered.callID == 1)
        }
    }

    @Test func predictOnEventLoopRetriesWhatPredictRetries() async throws {
        // One queued call per model version, held for 300 ms: of two calls sent together, the second
        // is refused with resource_exhausted and a 300 ms retry hint.
        try await TestServer.with(configure: {
            $0.batching.maxQueueDelayMicroseconds = 300_000
            $0.batching.maxQueuedCalls = 1
        }) { server in
            let (iris, expected) = try await Self.trainIris(on: server)
            let request = V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 1))
            for policy in [RetryPolicy.defaults, .none] {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                let client = ModelwireClient(
                    endpoints: [try Endpoint(parsing: server.endpoint)],
                    configuration: .defaults {
                        $0.connectionsPerEndpoint = 1
                        $0.retryPolicy = policy
                    },
                    eventLoopGroup: group,
                    logger: TestServer.quiet
                )
                _ = try await client.predict(request)  // connected
                let loop = group.next()
                let outcomes = try await loop.submit {
                    [client.predictOnEventLoop(request), client.predictOnEventLoop(request)]
                }.get()
                #expect(try await outcomes[0].get().classIds == [expected[0]])
                if policy == .none {
                    let refused = await #expect(throws: ModelwireError.self) { try await outcomes[1].get() }
                    #expect(refused?.code == .resourceExhausted && refused?.retryAfterMilliseconds != nil)
                } else {
                    #expect(try await outcomes[1].get().classIds == [expected[0]])  // retried after the hint
                }
                await client.shutdown()
                try await group.shutdownGracefully()
            }
        }
    }

    /// Trains a small iris model, then opens a raw connection; returns it with a 1-row predict payload.
    static func irisModelAndRawConnection(
        _ server: TestServer,
        _ iris: V1.Dataset
    ) async throws -> (RawConnection, [UInt8]) {
        try await server.client { client in
            _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
        }
        let raw = try RawConnection(server.endpoint)
        try raw.handshake()
        return (
            raw,
            try V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 1)).serializedBytes()
        )
    }

    @Test func aClientThatVanishesMidCallDoesNotDisturbTheServer() async throws {
        try await TestServer.with { server in
            let iris = try Fixtures.dataset("iris")
            do {
                let raw = try RawConnection(server.endpoint)
                try raw.handshake()
                let payload = try Fixtures.trainRequest(model: "orphan", data: iris, epochs: 50).serializedBytes()
                var frame = ByteBufferWriter()
                frame.frameHeader(kind: 2, flags: 1, method: 0x0102, callID: 1, length: UInt32(payload.count))
                try raw.send(frame.bytes + payload)
                _ = try raw.readFrame()  // the accepted event; then the connection goes away
            }
            try await server.client { client in
                var models: [String] = []
                for _ in 0..<1000 where models.isEmpty {
                    models = try await client.listModels().map(\.name)
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(models == ["orphan"])  // the job ran to the end without its caller
                try await #expect(await client.health().ready)
            }
        }
    }
}
