import ModelwireCodec
import Testing

/// Whether `text` reads as a sentence for people rather than a Swift value: it has words, is not
/// a code's name, names no camel-case code, and has no `name(` shape of a printed enum case.
func isSentence(_ text: String, codes: [String]) -> Bool {
    guard text.contains(" "), !codes.contains(text) else { return false }
    if codes.contains(where: { $0 != $0.lowercased() && text.contains($0) }) { return false }
    return !text.contains(#/\w\(/#)
        && !["Error.", "ModelwireCodec.", "ModelwireProtocol."].contains { text.contains($0) }
}

/// The public error values of the codec: code constants, details as properties, sentences.
@Suite struct CodecErrorValueTests {
    static let codecCodes = ["tooLarge", "malformed", "invalidUTF8", "embeddedNUL"]
    static let compressionCodes = ["tooLarge", "ratioExceeded", "corrupt", "zlibFailure"]

    @Test func codecErrorCodesAndDetails() {
        let tooLarge = CodecError.tooLarge(size: 5, limit: 3)
        #expect(tooLarge.code == .tooLarge && tooLarge.size == 5 && tooLarge.limit == 3 && tooLarge.field == nil)
        #expect(tooLarge == .tooLarge(size: 5, limit: 3))
        #expect(tooLarge != .tooLarge(size: 5, limit: 4))
        #expect(CodecError.malformed.code == .malformed && CodecError.malformed.size == nil)
        #expect(CodecError.invalidUTF8(field: "ModelRef.name").field == "ModelRef.name")
        #expect(CodecError.invalidUTF8(field: "a") != .embeddedNUL(field: "a"))
        #expect(CodecError.embeddedNUL(field: "a").code == .embeddedNUL)
        #expect(
            Set(Self.codecCodes)
                == Set([CodecError.Code.tooLarge, .malformed, .invalidUTF8, .embeddedNUL].map(\.description))
        )
    }

    @Test func codecErrorDescriptionsAreSentences() {
        let expected: [(CodecError, String)] = [
            (.tooLarge(size: 5, limit: 3), "message of 5 bytes exceeds the limit of 3 bytes"),
            (.malformed, "the bytes are not a valid protobuf encoding"),
            (.invalidUTF8(field: "ModelRef.name"), "field ModelRef.name is not valid UTF-8"),
            (.embeddedNUL(field: "ModelRef.name"), "field ModelRef.name contains U+0000, which protobuf cannot carry"),
        ]
        for (error, sentence) in expected {
            #expect(error.description == sentence)
            #expect("\(error)" == sentence)
            #expect(isSentence(error.description, codes: Self.codecCodes), "\(error.code)")
        }
    }

    @Test func compressionErrorCodesAndDetails() {
        #expect(CompressionError.tooLarge(limit: 9).code == .tooLarge && CompressionError.tooLarge(limit: 9).limit == 9)
        #expect(CompressionError.tooLarge(limit: 9) != .ratioExceeded(limit: 9))
        #expect(CompressionError.ratioExceeded(limit: 50).limit == 50)
        #expect(CompressionError.corrupt("x").reason == "x" && CompressionError.corrupt("x").code == .corrupt)
        #expect(CompressionError.corrupt("x") != .corrupt("y"))
        #expect(CompressionError.zlibFailure(-4).zlibReturnCode == -4 && CompressionError.zlibFailure(-4).limit == nil)
    }

    @Test func compressionErrorDescriptionsAreSentences() {
        let expected: [(CompressionError, String)] = [
            (.tooLarge(limit: 1024), "inflated size exceeds the limit of 1024 bytes"),
            (.ratioExceeded(limit: 50), "inflates more than 50x: rejected as a decompression bomb"),
            (.corrupt("truncated zlib stream"), "corrupt compressed data: truncated zlib stream"),
            (.zlibFailure(-4), "zlib failed with return code -4"),
        ]
        for (error, sentence) in expected {
            #expect(error.description == sentence)
            #expect(isSentence("\(error)", codes: Self.compressionCodes), "\(error.code)")
        }
    }

    @Test func codesAreSwitchableWithADefault() {
        func kind(_ error: CodecError) -> String {
            switch error.code {
            case .tooLarge: "size"
            case .malformed: "bytes"
            default: "other"
            }
        }
        #expect(kind(.tooLarge(size: 1, limit: 0)) == "size")
        #expect(kind(.malformed) == "bytes")
        #expect(kind(.embeddedNUL(field: "f")) == "other")
    }
}
