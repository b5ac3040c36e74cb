import ModelwireCodec
import Testing

@Suite struct MalformedInputTests {
    @Test func truncatedMessageIsMalformed() throws {
        let bytes = try V1.PredictRequest(
            model: V1.ModelRef(name: "iris"),
            inputs: V1.Tensor(columns: 1, values: [1, 2])
        )
        .serializedBytes()
        // Bytes 0..<8 are field 1 (the ModelRef), 8..<end field 2 (the Tensor): a cut at 8 is a valid shorter message.
        #expect(bytes[8] == 0x12)
        #expect(try V1.PredictRequest(serializedBytes: Array(bytes[..<8])).inputs == nil)
        for cut in 1..<bytes.count where cut != 8 {
            #expect(throws: CodecError.malformed) { try V1.PredictRequest(serializedBytes: Array(bytes[..<cut])) }
        }
    }

    @Test func garbageIsMalformed() {
        #expect(throws: CodecError.malformed) { try V1.PredictRequest(serializedBytes: [0xFF, 0xFF, 0xFF, 0xFF]) }
        // Field 2 (inputs) declared as a varint instead of a length-delimited message.
        #expect(throws: CodecError.malformed) { try V1.PredictRequest(serializedBytes: [0x10, 0x01]) }
    }

    @Test func sizeIsCheckedBeforeDecoding() {
        let bytes = [UInt8](repeating: 0, count: 100)
        #expect(throws: CodecError.tooLarge(size: 100, limit: 99)) {
            try V1.Tensor(serializedBytes: bytes, maxSize: 99)
        }
    }

    @Test func invalidUTF8IsRejectedNotReplaced() {
        // ModelRef.name (field 1, length-delimited) = 0xC3 0x28: an invalid two-byte sequence.
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        #expect(throws: CodecError.invalidUTF8(field: "ModelRef.name")) { try V1.ModelRef(serializedBytes: bytes) }
    }

    @Test func unknownFieldsAreIgnored() throws {
        var bytes = try V1.ModelRef(name: "iris", selector: .version(2)).serializedBytes()
        bytes += [0xC8, 0x06, 0x2A]  // field 105, varint 42: a field a later schema version might add
        bytes += [0xD2, 0x06, 0x03, 0x61, 0x62, 0x63]  // field 106, a string
        #expect(try V1.ModelRef(serializedBytes: bytes) == V1.ModelRef(name: "iris", selector: .version(2)))
    }

    @Test("a NUL inside a string is refused on decode, at any depth, before protobuf-c cuts the string there")
    func embeddedNULIsRejectedOnDecode() {
        // ModelRef.name = "x\0y"; PredictRequest.model (field 1) = that ModelRef.
        let modelRef: [UInt8] = [0x0A, 0x03, 0x78, 0x00, 0x79]
        #expect(throws: CodecError.embeddedNUL(field: "ModelRef.name")) { try V1.ModelRef(serializedBytes: modelRef) }
        #expect(throws: CodecError.embeddedNUL(field: "ModelRef.name")) {
            try V1.PredictRequest(serializedBytes: [0x0A, UInt8(modelRef.count)] + modelRef)
        }
        // TrainRequest.model (field 1) = "name\0/../../tmp"; UploadDatasetRequest.name likewise.
        let path = Array("name\u{0}/../../tmp".utf8)
        #expect(throws: CodecError.embeddedNUL(field: "TrainRequest.model")) {
            try V1.TrainRequest(serializedBytes: [0x0A, UInt8(path.count)] + path)
        }
        #expect(throws: CodecError.embeddedNUL(field: "UploadDatasetRequest.name")) {
            try V1.UploadDatasetRequest(serializedBytes: [0x0A, UInt8(path.count)] + path)
        }
        // A NUL in a bytes field (ImportModelRequest.model_file) is data, not a string: accepted.
        #expect((try? V1.ImportModelRequest(serializedBytes: [0x12, 0x02, 0x00, 0x00]))?.modelFile == [0, 0])
    }

    @Test func embeddedNULCannotBeEncoded() {
        #expect(throws: CodecError.embeddedNUL(field: "ModelRef.name")) {
            try V1.ModelRef(name: "a\u{0}b").serializedBytes()
        }
    }

    @Test func largeMessagesSpillOutOfTheArenaAndRoundTrip() throws {
        let values = (0..<300_000).map { Float($0) * 0.5 }
        let request = V1.PredictRequest(
            model: V1.ModelRef(name: String(repeating: "m", count: 64)),
            inputs: V1.Tensor(columns: 100, values: values)
        )
        let decoded = try V1.PredictRequest(serializedBytes: try request.serializedBytes())
        #expect(decoded == request)
    }
}
