import ModelwireCodec
import ModelwireProtocol
import Testing

/// Whether `text` reads as a sentence for people rather than a Swift value: it has words, is not
/// a code's name, names no camel-case code, and has no `name(` shape of a printed enum case.
private func isSentence(_ text: String, codes: [String]) -> Bool {
    guard text.contains(" "), !codes.contains(text) else { return false }
    if codes.contains(where: { $0 != $0.lowercased() && text.contains($0) }) { return false }
    return !text.contains(#/\w\(/#)
        && !["Error.", "ModelwireCodec.", "ModelwireProtocol."].contains { text.contains($0) }
}

/// The protocol's public error values: code constants, details as properties, sentences, and the
/// status each code maps to (unchanged from when they were enums).
@Suite struct ProtocolErrorValueTests {
    static let wireCodes = [
        "badMagic", "unsupportedFrameVersion", "unknownFrameKind", "invalidFlags", "frameTooLarge",
        "truncated", "compression", "compressionNotNegotiated", "malformedPayload", "unexpectedFrame",
        // the nested errors' codes must not show either
        "tooLarge", "ratioExceeded", "corrupt", "zlibFailure", "malformed", "invalidUTF8", "embeddedNUL",
    ]

    @Test func wireErrorStatusAndSentencePerCode() {
        let expected: [(WireError, V1.StatusCode, String)] = [
            (.badMagic(0x4745), .invalidArgument, "bad magic 0x4745: not a Modelwire frame"),
            (.unsupportedFrameVersion(2), .unimplemented, "unsupported frame version 2; this peer reads version 1"),
            (.unknownFrameKind(9), .invalidArgument, "unknown frame kind 9"),
            (.invalidFlags(0x81), .invalidArgument, "undefined flag bits or reserved byte set: 0x81"),
            (
                .frameTooLarge(length: 1025, limit: 1024), .resourceExhausted,
                "frame payload of 1025 bytes exceeds the limit of 1024 bytes"
            ),
            (.truncated(bufferedBytes: 7), .invalidArgument, "connection ended inside a frame (7 bytes buffered)"),
            (
                .compression(.tooLarge(limit: 64)), .resourceExhausted,
                "compressed payload rejected: inflated size exceeds the limit of 64 bytes"
            ),
            (
                .compression(.ratioExceeded(limit: 50)), .resourceExhausted,
                "compressed payload rejected: inflates more than 50x: rejected as a decompression bomb"
            ),
            (
                .compression(.corrupt("truncated zlib stream")), .invalidArgument,
                "compressed payload rejected: corrupt compressed data: truncated zlib stream"
            ),
            (
                .compression(.zlibFailure(-4)), .invalidArgument,
                "compressed payload rejected: zlib failed with return code -4"
            ),
            (
                .compressionNotNegotiated, .invalidArgument,
                "compressed frame received but compression was not negotiated"
            ),
            (
                .malformedPayload(.malformed), .invalidArgument,
                "malformed control payload: the bytes are not a valid protobuf encoding"
            ),
            (
                .malformedPayload(.invalidUTF8(field: "ClientHello.client_name")), .invalidArgument,
                "malformed control payload: field ClientHello.client_name is not valid UTF-8"
            ),
            (
                .unexpectedFrame(kind: .request, reason: "no HELLO yet"), .invalidArgument,
                "unexpected REQUEST frame: no HELLO yet"
            ),
        ]
        for (error, code, sentence) in expected {
            #expect(error.description == sentence)
            #expect(error.status == V1.Status(code: code, message: sentence), "\(error.code)")
            #expect(isSentence("\(error)", codes: Self.wireCodes), "\(error.code)")
            let converted = error.modelwireError
            #expect(converted == ModelwireError(status: error.status))
            #expect(converted.cause as? WireError == error)
        }
    }

    @Test func wireErrorCodesAndDetails() {
        let large = WireError.frameTooLarge(length: 1025, limit: 1024)
        #expect(large.code == .frameTooLarge && large.length == 1025 && large.limit == 1024 && large.magic == nil)
        #expect(large != .frameTooLarge(length: 1026, limit: 1024))
        #expect(WireError.badMagic(0x4700).magic == 0x4700)
        #expect(WireError.badMagic(0x4700) != .badMagic(0x4701))
        #expect(WireError.unsupportedFrameVersion(2).version == 2)
        #expect(WireError.unknownFrameKind(9).kind == Frame.Kind(rawValue: 9))
        #expect(WireError.invalidFlags(0x81).flags == 0x81)
        #expect(WireError.truncated(bufferedBytes: 3).bufferedBytes == 3)
        #expect(WireError.compression(.corrupt("x")).compressionError == .corrupt("x"))
        #expect(WireError.compression(.corrupt("x")) != .compression(.corrupt("y")))
        #expect(WireError.malformedPayload(.malformed).codecError == .malformed)
        let unexpected = WireError.unexpectedFrame(kind: .ping, reason: "r")
        #expect(unexpected.kind == .ping && unexpected.reason == "r" && unexpected.code == .unexpectedFrame)
        #expect(WireError.compressionNotNegotiated.code == .compressionNotNegotiated)
    }

    @Test func framePayloadErrorStatusAndSentencePerCode() {
        let expected: [(FramePayloadError, V1.StatusCode, String)] = [
            (
                .compression(.tooLarge(limit: 1 << 20)), .resourceExhausted,
                "message inflates past the limit of 1048576 bytes"
            ),
            (
                .compression(.ratioExceeded(limit: 200)), .resourceExhausted,
                "message inflates more than 200x: rejected as a decompression bomb"
            ),
            (
                .compression(.corrupt("truncated zlib stream")), .invalidArgument,
                "corrupt compressed payload: truncated zlib stream"
            ),
            (
                .compression(.zlibFailure(-2)), .invalidArgument,
                "corrupt compressed payload: zlib failed with return code -2"
            ),
            (.compressionNotNegotiated, .invalidArgument, "compressed payload but compression was not negotiated"),
            (
                .codec(.tooLarge(size: 5, limit: 3)), .resourceExhausted,
                "message of 5 bytes exceeds the limit of 3 bytes"
            ),
            (.codec(.invalidUTF8(field: "ModelRef.name")), .invalidArgument, "field ModelRef.name is not valid UTF-8"),
            (.codec(.malformed), .invalidArgument, "malformed message: the bytes are not a valid protobuf encoding"),
            (
                .codec(.embeddedNUL(field: "ModelRef.name")), .invalidArgument,
                "malformed message: field ModelRef.name contains U+0000, which protobuf cannot carry"
            ),
        ]
        for (error, code, sentence) in expected {
            #expect(error.status == V1.Status(code: code, message: sentence), "\(error.code)")
            #expect(error.description == sentence)
            #expect(isSentence("\(error)", codes: Self.wireCodes + ["codec"]), "\(error.code)")
            let converted = error.modelwireError
            #expect(converted == ModelwireError(status: error.status))
            #expect(converted.cause as? FramePayloadError == error)
        }
    }

    @Test func framePayloadErrorCodesAndDetails() {
        let error = FramePayloadError.codec(.tooLarge(size: 5, limit: 3))
        #expect(
            error.code == .codec && error.codecError == .tooLarge(size: 5, limit: 3) && error.compressionError == nil
        )
        #expect(error != .codec(.tooLarge(size: 6, limit: 3)))
        let inflate = FramePayloadError.compression(.ratioExceeded(limit: 9))
        #expect(
            inflate.code == .compression && inflate.compressionError?.code == .ratioExceeded
                && inflate.codecError == nil
        )
        #expect(FramePayloadError.compressionNotNegotiated.code == .compressionNotNegotiated)
    }

    @Test func modelwireErrorCauseIsLocalAndNotCompared() {
        let cause = FramePayloadError.codec(.malformed)
        let withCause = ModelwireError(.invalidArgument, "bad", retryAfterMilliseconds: 5, cause: cause)
        let without = ModelwireError(.invalidArgument, "bad", retryAfterMilliseconds: 5)
        #expect(withCause == without)
        #expect(withCause.hashValue == without.hashValue)
        #expect(Set([withCause, without]).count == 1)
        #expect(withCause.status == without.status)  // not on the wire
        #expect(withCause.cause as? FramePayloadError == cause)
        #expect(without.cause == nil)
        #expect(ModelwireError(status: without.status, cause: cause).cause as? FramePayloadError == cause)
        #expect(ModelwireError(status: without.status).cause == nil)
        // The hints are still compared.
        #expect(withCause != ModelwireError(.invalidArgument, "bad", retryAfterMilliseconds: 6, cause: cause))
        #expect(
            without
                != ModelwireError(.invalidArgument, "bad", retryAfterMilliseconds: 5, supportedProtocolVersions: [1])
        )
        #expect(without != ModelwireError(.invalidArgument, "other", retryAfterMilliseconds: 5))
        #expect(without != ModelwireError(.notFound, "bad", retryAfterMilliseconds: 5))
    }
}
