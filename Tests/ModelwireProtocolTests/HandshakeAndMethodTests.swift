import ModelwireCodec
import ModelwireProtocol
import Testing

@Suite struct HandshakeAndMethodTests {
    @Test func negotiatesTheHighestCommonVersionAndCompression() throws {
        let hello = Handshake.clientHello(clientName: "test")
        let (answer, zlib) = try Handshake.negotiate(hello, limits: .defaults, serverName: "s")
        #expect(answer.protocolVersion == 1)
        #expect(zlib)
        #expect(answer.schemaPackages == ["modelwire.v1"])
        #expect(ProtocolLimits(try #require(answer.limits)) == .defaults)
        let noZlib = try Handshake.negotiate(
            Handshake.clientHello(clientName: "c", acceptsZlib: false),
            limits: .defaults,
            serverName: "s"
        )
        #expect(!noZlib.clientAcceptsZlib)
    }

    @Test func unsupportedVersionIsUnimplementedAndSaysWhatIsSupported() {
        let hello = V1.ClientHello(protocolVersions: [7, 8], clientName: "future")
        do {
            _ = try Handshake.negotiate(hello, limits: .defaults, serverName: "s")
            Issue.record("negotiation should fail")
        } catch {
            #expect(error.code == .unimplemented)
            #expect(error.supportedProtocolVersions == [1])
            #expect(error.status.supportedProtocolVersions == [1])
        }
    }

    @Test func everyV1MethodIsDescribedAndUnknownIdsAreNot() throws {
        #expect(MethodDescriptor.v1.count == V1.Method.allKnown.count - 1)  // all but UNSPECIFIED
        for method in V1.Method.allKnown where method != .unspecified {
            let descriptor = try #require(MethodDescriptor.lookup(method.rawValue.asMethodID), "\(method)")
            #expect(descriptor.method == method)
        }
        let ids = MethodDescriptor.v1.map(\.id)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        #expect(MethodDescriptor.lookup(0) == nil)
        #expect(MethodDescriptor.lookup(0x0100) == nil)
        #expect(MethodDescriptor.lookup(0x0113) == nil)
        #expect(MethodDescriptor.lookup(0x0130)?.name == "Quantize")
        #expect(MethodDescriptor.lookup(0x0133) == nil)
        #expect(MethodDescriptor.lookup(0x0140)?.name == "Tune")
        #expect(MethodDescriptor.lookup(0x0141)?.name == "Explain")
        #expect(MethodDescriptor.lookup(0x0201) == nil)
        #expect(MethodDescriptor.lookup(0x0231) == nil)
    }

    @Test func requestBodiesDecodeThroughTheMethodTable() throws {
        let bytes = try V1.PredictRequest(model: V1.ModelRef(name: "iris")).serializedBytes()
        let predict = try #require(MethodDescriptor.lookup(V1.Method.predict.rawValue.asMethodID))
        let decoded = try bytes.withUnsafeBytes { try predict.decodeRequest($0, maxSize: 1024) }
        #expect((decoded as? V1.PredictRequest)?.model?.name == "iris")
    }

    @Test func errorsConvertToAndFromStatus() {
        let error = ModelwireError(.resourceExhausted, "queue full", retryAfterMilliseconds: 25)
        #expect(ModelwireError(status: error.status) == error)
        #expect(ModelwireError(status: V1.Status(code: .ok, message: "bogus")).code == .unknown)
    }
}

extension Int32 {
    var asMethodID: UInt16 { UInt16(truncatingIfNeeded: self) }
}
