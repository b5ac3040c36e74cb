import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import Testing

/// Bad input gets a typed error naming the problem, fails only its call, and never hurts the server.
@Suite(.blockingThreads) struct BadInputTests {
    @Test func badPredictsFailTheirCallWithTheRightCode() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let iris = try Fixtures.dataset("iris")
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                let model = V1.ModelRef(name: "iris")
                let wrong = await expectError(.invalidArgument) {
                    _ = try await client.predict(
                        V1.PredictRequest(model: model, inputs: V1.Tensor(columns: 3, values: [1, 2, 3]))
                    )
                }
                #expect(wrong?.message.contains("expects 4 features") == true)
                #expect(wrong?.message.contains("got 3") == true)
                await expectError(.invalidArgument) {
                    _ = try await client.predict(
                        V1.PredictRequest(model: model, inputs: V1.Tensor(columns: 4, values: [1, .nan, 3, 4]))
                    )
                }
                await expectError(.invalidArgument) {
                    _ = try await client.predict(
                        V1.PredictRequest(model: model, inputs: V1.Tensor(columns: 4, values: [1, 2, .infinity, 4]))
                    )
                }
                let located = await expectError(.invalidArgument) {
                    _ = try await client.predict(
                        V1.PredictRequest(
                            model: model,
                            inputs: V1.Tensor(columns: 4, values: [1, 2, 3, 4, 5, -.nan, 7, 8])
                        )
                    )
                }
                #expect(located?.message.contains("row 2, feature 2") == true, "\(String(describing: located))")
                await expectError(.notFound) {
                    _ = try await client.predict(
                        V1.PredictRequest(model: V1.ModelRef(name: "nope"), inputs: Fixtures.rows(iris, 1))
                    )
                }
                await expectError(.notFound) {
                    _ = try await client.predict(
                        V1.PredictRequest(
                            model: V1.ModelRef(name: "iris", selector: .version(9)),
                            inputs: Fixtures.rows(iris, 1)
                        )
                    )
                }
                await expectError(.notFound) {
                    _ = try await client.predict(
                        V1.PredictRequest(
                            model: V1.ModelRef(name: "iris", selector: .alias("canary")),
                            inputs: Fixtures.rows(iris, 1)
                        )
                    )
                }
                await expectError(.invalidArgument) { _ = try await client.describeModel(V1.ModelRef(name: "../etc")) }
                // The server still serves.
                try await #expect(
                    await client.predict(V1.PredictRequest(model: model, inputs: Fixtures.rows(iris, 1))).classIds.count
                        == 1
                )
            }
        }
    }

    @Test func badTrainingDataIsRejected() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let empty = V1.Dataset(features: V1.Tensor(columns: 2), classNames: ["a", "b"])
                await expectError(.invalidArgument) {
                    _ = try await client.trainToResult(Fixtures.trainRequest(model: "m", data: empty))
                }
                let oneClass = V1.Dataset(
                    features: V1.Tensor(columns: 1, values: [1, 2, 3]),
                    classNames: ["only"],
                    classIds: [0, 0, 0]
                )
                let error = await expectError(.invalidArgument) {
                    _ = try await client.trainToResult(Fixtures.trainRequest(model: "m", data: oneClass))
                }
                #expect(error?.message.contains("one class") == true)
                let nan = V1.Dataset(
                    features: V1.Tensor(columns: 1, values: [1, .nan]),
                    classNames: ["a", "b"],
                    classIds: [0, 1]
                )
                await expectError(.invalidArgument) {
                    _ = try await client.trainToResult(Fixtures.trainRequest(model: "m", data: nan))
                }
                await expectError(.invalidArgument) {
                    _ = try await client.trainToResult(
                        Fixtures.trainRequest(model: ".hidden", data: try Fixtures.dataset("iris"))
                    )
                }
                await expectError(.notFound) {
                    _ = try await client.trainToResult(V1.TrainRequest(model: "m", data: .dataset("missing")))
                }
                try await #expect(await client.listModels().isEmpty)
            }
        }
    }

    @Test func oversizedFrameClosesOnlyThatConnection() async throws {
        try await TestServer.with(configure: { $0.limits.maxFrameBytes = 64 * 1024 }) { server in
            let raw = try RawConnection(server.endpoint)
            try raw.handshake()
            var header = ByteBufferWriter()
            header.frameHeader(kind: 2, flags: 1, method: 0x0101, callID: 1, length: 10 << 20)  // 10 MiB announced
            try raw.send(header.bytes)
            let (kind, callID, status) = try raw.readErrorFrame()
            #expect(kind == Frame.Kind.error.rawValue)
            #expect(callID == 0)
            #expect(status.code == .resourceExhausted)
            try #expect(raw.readUntilClosed())
            try await server.client { client in try await #expect(await client.health().live) }
        }
    }

    @Test func garbageBytesCloseThatConnectionAndNothingElse() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let iris = try Fixtures.dataset("iris")
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                let raw = try RawConnection(server.endpoint)
                try raw.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                let (_, _, status) = try raw.readErrorFrame()
                #expect(status.code == .invalidArgument)
                #expect(status.message.contains("magic"))
                try #expect(raw.readUntilClosed())
                let afterHandshake = try RawConnection(server.endpoint)
                try afterHandshake.handshake()
                try afterHandshake.send((0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) })
                try #expect(afterHandshake.readUntilClosed())
                // The client's pooled connections were untouched.
                try await #expect(
                    await client.predict(
                        V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 2))
                    )
                    .classIds.count == 2
                )
            }
        }
    }

    @Test func unknownMethodAndUnsupportedVersion() async throws {
        try await TestServer.with { server in
            let raw = try RawConnection(server.endpoint)
            try raw.handshake()
            var frame = ByteBufferWriter()
            frame.frameHeader(kind: 2, flags: 1, method: 0x01FF, callID: 5, length: 0)
            try raw.send(frame.bytes)
            let (kind, callID, status) = try raw.readErrorFrame()
            #expect(kind == Frame.Kind.error.rawValue && callID == 5 && status.code == .unimplemented)

            var ping = ByteBufferWriter()
            ping.frameHeader(kind: 6, flags: 0, method: 0, callID: 0, length: 9)
            try raw.send(ping.bytes + [UInt8](repeating: 1, count: 9))
            let (_, _, tooLong) = try raw.readErrorFrame()
            #expect(tooLong.code == .invalidArgument)
            try #expect(raw.readUntilClosed())

            let future = try RawConnection(server.endpoint)
            try future.sendHello(V1.ClientHello(protocolVersions: [7], clientName: "future"))
            let (_, _, refusal) = try future.readErrorFrame()
            #expect(refusal.code == .unimplemented)
            #expect(refusal.supportedProtocolVersions == [1])
            try #expect(future.readUntilClosed())
        }
    }
}
