import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import Testing

/// What PROTOCOL.md left open, made exact (issue 11, "the spec, made exact"): each test is one
/// sentence of the spec, checked against the real server over a raw socket or the client.
@Suite("The spec, made exact", .blockingThreads, .blockingThreads)
struct SpecExactTests {
    static let pingFrame: [UInt8] = {
        var ping = ByteBufferWriter()
        ping.frameHeader(kind: 6, flags: 0, method: 0, callID: 0, length: 8)
        return ping.bytes + [1, 2, 3, 4, 5, 6, 7, 8]
    }()

    /// A frame header with every field chosen, the reserved byte included.
    static func header(
        kind: UInt8,
        flags: UInt8 = 0,
        reserved: UInt8 = 0,
        method: UInt16 = 0,
        callID: UInt32 = 0,
        timeout: UInt32 = 0,
        length: UInt32 = 0
    ) -> [UInt8] {
        var writer = ByteBufferWriter()
        writer.frameHeader(kind: kind, flags: flags, method: method, callID: callID, length: length, timeout: timeout)
        writer.bytes[5] = reserved
        return writer.bytes
    }

    /// Sends `bytes` (after a handshake unless `handshake` is false) and expects a connection
    /// ERROR with `code` on call 0, then the close.
    static func expectConnectionError(
        _ endpoint: String,
        _ bytes: [UInt8],
        handshake: Bool = true,
        _ code: V1.StatusCode,
        _ text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let raw = try RawConnection(endpoint)
        if handshake { try raw.handshake() }
        try raw.send(bytes)
        let (kind, callID, status) = try raw.readErrorFrame()
        #expect(kind == Frame.Kind.error.rawValue, sourceLocation: sourceLocation)
        #expect(callID == 0, sourceLocation: sourceLocation)
        #expect(status.code == code, "\(status.message)", sourceLocation: sourceLocation)
        #expect(status.message.contains(text), "\(status.message)", sourceLocation: sourceLocation)
        #expect(try raw.readUntilClosed(), sourceLocation: sourceLocation)
    }

    /// Sends `bytes` after a handshake, then a PING: the PONG shows the bytes were accepted (or ignored).
    static func expectStillServing(_ endpoint: String, _ bytes: [UInt8]) throws {
        let raw = try RawConnection(endpoint)
        try raw.handshake()
        try raw.send(bytes + pingFrame)
        #expect(try raw.readFrame().kind == Frame.Kind.pong.rawValue)
    }

    @Test(
        "§2: undefined flag bits and a reserved byte are framing errors on every kind; method, timeout and a connection frame's call id are ignored"
    )
    func mustBeZeroFields() async throws {
        try await TestServer.with { server in
            for kind: UInt8 in [1, 2, 3, 5, 6, 7] {
                try Self.expectConnectionError(
                    server.endpoint,
                    Self.header(kind: kind, flags: 0x04, callID: 1),
                    .invalidArgument,
                    "undefined flag bits"
                )
                try Self.expectConnectionError(
                    server.endpoint,
                    Self.header(kind: kind, reserved: 1, callID: 1),
                    .invalidArgument,
                    "reserved byte"
                )
            }
            try Self.expectStillServing(server.endpoint, Self.header(kind: 6, method: 0x0101, callID: 9, timeout: 50))
            try Self.expectStillServing(server.endpoint, Self.header(kind: 7, method: 7, callID: 3, timeout: 1))
            try Self.expectStillServing(server.endpoint, Self.header(kind: 5, method: 0x0101, callID: 4, timeout: 9))
            try Self.expectStillServing(server.endpoint, Self.header(kind: 6, flags: 0x01))  // END_STREAM on PING
        }
    }

    @Test("§3: an oversized frame before the handshake is RESOURCE_EXHAUSTED; bad magic INVALID_ARGUMENT")
    func beforeTheHandshake() async throws {
        try await TestServer.with { server in
            try Self.expectConnectionError(
                server.endpoint,
                Self.header(kind: 1, length: 100 << 20),
                handshake: false,
                .resourceExhausted,
                "exceeds the limit"
            )
            var badMagic = Self.header(kind: 1)
            badMagic[0] = 0x12
            try Self.expectConnectionError(server.endpoint, badMagic, handshake: false, .invalidArgument, "bad magic")
            try Self.expectConnectionError(
                server.endpoint,
                Self.pingFrame,
                handshake: false,
                .invalidArgument,
                "the first frame must be HELLO, got PING"
            )
        }
    }

    @Test("§3: no HELLO within the handshake timeout: ERROR DEADLINE_EXCEEDED on call 0, then close")
    func handshakeTimeout() async throws {
        try await TestServer.with(configure: { $0.handshakeTimeoutMilliseconds = 300 }) { server in
            let raw = try RawConnection(server.endpoint)
            let (kind, callID, status) = try raw.readErrorFrame()
            #expect(kind == Frame.Kind.error.rawValue && callID == 0)
            #expect(status.code == .deadlineExceeded)
            #expect(status.message == "no HELLO within 300 ms")
            #expect(try raw.readUntilClosed())
        }
    }

    @Test("§2, §8: COMPRESSED on HELLO, PING, PONG or CANCEL is a framing error")
    func compressedControlFrames() async throws {
        try await TestServer.with { server in
            let hello = try V1.ClientHello(protocolVersions: [1], compression: [.none]).serializedBytes()
            let compressedHello = try Zlib.compress(hello)
            try Self.expectConnectionError(
                server.endpoint,
                Self.header(kind: 1, flags: 0x02, length: UInt32(compressedHello.count)) + compressedHello,
                handshake: false,
                .invalidArgument,
                "HELLO frames are sent plain"
            )
            for kind: UInt8 in [5, 6, 7] {
                try Self.expectConnectionError(
                    server.endpoint,
                    Self.header(kind: kind, flags: 0x02, callID: kind == 5 ? 1 : 0),
                    .invalidArgument,
                    "are sent plain"
                )
            }
        }
    }

    @Test("§2: a second HELLO, REQUEST on call 0, a client's ERROR or GOAWAY are framing errors")
    func framesAClientMustNotSend() async throws {
        try await TestServer.with { server in
            let hello = try V1.ClientHello(protocolVersions: [1], compression: [.none]).serializedBytes()
            let cases: [([UInt8], String)] = [
                (Self.header(kind: 1, length: UInt32(hello.count)) + hello, "may not send HELLO"),
                (Self.header(kind: 2, flags: 1, method: UInt16(V1.Method.health.rawValue)), "REQUEST on call id 0"),
                (Self.header(kind: 4, callID: 3), "may not send ERROR"),
                (Self.header(kind: 8), "may not send GOAWAY"),
            ]
            for (bytes, text) in cases {
                try Self.expectConnectionError(server.endpoint, bytes, .invalidArgument, text)
            }
        }
    }

    @Test("§2: CANCEL's payload is ignored: a CANCEL with bytes still cancels its call")
    func cancelWithAPayload() async throws {
        try await TestServer.with { server in
            let raw = try RawConnection(server.endpoint)
            try raw.handshake()
            let chunk = try Fixtures.twoRowUploadChunk("half")
            let upload = UInt16(V1.Method.uploadDataset.rawValue)
            try raw.send(Self.header(kind: 2, method: upload, callID: 1, length: UInt32(chunk.count)) + chunk)
            try raw.send(Self.header(kind: 5, callID: 1, length: 2) + [0xAB, 0xCD])
            // The id is free again only if the CANCEL ended call 1; reusing an open id would close the connection.
            try raw.send(Self.header(kind: 2, flags: 1, method: UInt16(V1.Method.health.rawValue), callID: 1))
            let answer = try raw.readFrame()
            #expect(answer.kind == Frame.Kind.message.rawValue && answer.callID == 1)
            try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
                try await #expect(client.listDatasets().isEmpty, "the cancelled upload was stored")
            }
        }
    }

    @Test("§10: bytes of a partial frame count as activity for idle_timeout_ms")
    func partialFrameIsActivity() async throws {
        try await TestServer.with(configure: { $0.limits.idleTimeoutMilliseconds = 2000 }) { server in
            let raw = try RawConnection(server.endpoint)
            try raw.handshake()
            let frame = Self.pingFrame
            for byte in frame {  // 28 bytes, one every 150 ms: 4.2 s, twice the 2 s idle timeout
                try raw.send([byte])
                usleep(150_000)  // not Task.sleep: a busy cooperative pool may resume it seconds late
            }
            #expect(try raw.readFrame().kind == Frame.Kind.pong.rawValue)
        }
    }

    @Test("§8: the server compresses large compressible answers for a client that listed ZLIB, never for NONE")
    func whatTheServerCompresses() async throws {
        try await TestServer.with { server in
            let info = UInt16(V1.Method.serverInfo.rawValue)
            for (accepts, expectCompressed) in [([V1.Compression.none, .zlib], true), ([.none], false)] {
                let raw = try RawConnection(server.endpoint)
                try raw.sendHello(V1.ClientHello(protocolVersions: [1], compression: accepts))
                #expect(try raw.readFrame().kind == Frame.Kind.hello.rawValue)
                try raw.send(Self.header(kind: 2, flags: 1, method: info, callID: 1))  // ~48 KB with the schema
                let big = try raw.readFrameWithFlags()
                #expect((big.flags & 0x02 != 0) == expectCompressed, "\(accepts): flags \(big.flags)")
                try raw.send(Self.header(kind: 2, flags: 1, method: UInt16(V1.Method.listModels.rawValue), callID: 2))
                let small = try raw.readFrameWithFlags()
                #expect(small.flags & 0x02 == 0, "an empty ListModels answer was compressed")
            }
        }
    }

    @Test("§5: an enum number the schema does not define is refused naming the field, in requests and imported files")
    func unknownEnumValues() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
                var optimizer = Fixtures.trainRequest(model: "m", data: iris)
                optimizer.options?.optimizer?.kind = V1.OptimizerKind(rawValue: 99)
                var criterion = Fixtures.trainRequest(model: "m", data: iris, spec: .tree(V1.DecisionTreeSpec()))
                criterion.spec?.family = .tree(V1.DecisionTreeSpec(criterion: V1.TreeCriterion(rawValue: 7)))
                var task = Fixtures.trainRequest(model: "m", data: iris)
                task.spec?.task = V1.Task(rawValue: 5)
                let cases = [
                    (optimizer, "options.optimizer.kind: unknown value 99"),
                    (criterion, "spec.tree.criterion: unknown value 7"),
                    (task, "spec.task: unknown value 5"),
                ]
                for (request, text) in cases {
                    do {
                        _ = try await client.trainToResult(request)
                        Issue.record("accepted: \(text)")
                    } catch let error as ModelwireError {
                        #expect(error.code == .invalidArgument)
                        #expect(error.message.contains(text), "\(error.message)")
                    }
                }
                try await #expect(client.listJobs().isEmpty, "a job was created for a refused request")
            }
            // An imported model file with an unknown enum number is refused, not read as the zero value.
            try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "known", data: iris, epochs: 2))
                let exported = try await client.exportModel(V1.ModelRef(name: "known", selector: nil))
                var file = try V1.ModelFile(serializedBytes: exported.modelFile)
                guard case .linear(var linear)? = file.parameters else {
                    Issue.record("a logistic model without linear parameters")
                    return
                }
                linear.kind = V1.LinearKind(rawValue: 7)
                file.parameters = .linear(linear)
                do {
                    _ = try await client.importModel(name: "unknown-kind", modelFile: try file.serializedBytes())
                    Issue.record("a model file with linear.kind 7 was imported")
                } catch let error as ModelwireError {
                    #expect(error.code == .dataLoss)
                    #expect(error.message.contains("linear.kind: unknown value 7"), "\(error.message)")
                }
            }
            // ClientHello.compression lists what a client inflates: unknown algorithms are ignored.
            let raw = try RawConnection(server.endpoint)
            try raw.sendHello(
                V1.ClientHello(protocolVersions: [1], compression: [.none, V1.Compression(rawValue: 42)])
            )
            #expect(try raw.readFrame().kind == Frame.Kind.hello.rawValue)
        }
    }

    @Test("§14: version 0 is INVALID_ARGUMENT everywhere, whether or not the model exists")
    func versionZero() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                for name in ["iris", "absent"] {
                    let zero = V1.ModelRef(name: name, selector: .version(0))
                    let calls: [(String, () async throws -> Void)] = [
                        ("predict", { _ = try await client.predict(model: zero, columns: 4, values: [1, 2, 3, 4]) }),
                        ("describe", { _ = try await client.describeModel(zero) }),
                        ("export", { _ = try await client.exportModel(zero) }),
                        ("delete", { _ = try await client.deleteModel(name: name, version: 0) }),
                        ("set alias", { _ = try await client.setAlias(model: name, alias: "prod", version: 0) }),
                    ]
                    for (label, call) in calls {
                        do {
                            try await call()
                            Issue.record("\(label) of \(name) version 0 succeeded")
                        } catch let error as ModelwireError {
                            #expect(error.code == .invalidArgument, "\(label) \(name): \(error)")
                            #expect(error.message.contains("version 0 is not a version"), "\(label) \(name): \(error)")
                        }
                    }
                }
            }
        }
    }

    @Test("§14: parameter_count, file_bytes and training metrics over every row the job was given")
    func modelVersionInfoFields() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await withModelwireClient(endpoints: [server.endpoint], logger: TestServer.quiet) { client in
                var request = Fixtures.trainRequest(model: "iris", data: iris)
                request.options?.validationSplit = 0.2
                let (result, _) = try await client.trainToResult(request)
                let ref = V1.ModelRef(name: "iris", selector: .version(result.version))
                let info = try await client.describeModel(ref)
                #expect(info.parameterCount == 4 * 3 + 3, "logistic regression on 4 features, 3 classes")
                let exported = try await client.exportModel(ref)
                #expect(info.fileBytes == UInt64(exported.modelFile.count))
                guard case .classification(let metrics)? = info.trainingMetrics?.kind else {
                    Issue.record("no classification metrics")
                    return
                }
                let counted = metrics.confusion?.counts.reduce(0, +) ?? 0
                #expect(
                    counted == 150,
                    "training metrics cover \(counted) rows; the job was given 150 (30 for validation)"
                )
            }
        }
    }
}
