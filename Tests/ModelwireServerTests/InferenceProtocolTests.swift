import ModelwireCodec
import NIOCore
import Testing

@testable import ModelwireServer

/// The V2 request parser on its own: JSON, Triton's binary inputs, and what it refuses.
@Suite("InferenceProtocol")
struct InferenceProtocolTests {
    static func parse(_ text: String) -> JSONValue? {
        Array(text.utf8).withUnsafeBytes { JSONValue.parse($0) }
    }

    @Test("JSON: nesting, escapes, numbers; garbage and deep nesting refused")
    func json() throws {
        let value = try #require(Self.parse(#" {"a": [1, -2.5e3, [true, null]], "s": "x\"\u00e9\n", "e": {}} "#))
        #expect(value["a"]?.array?.count == 3)
        #expect(value["a"]?.array?[1].number == -2500)
        #expect(value["s"]?.string == "x\"é\n")
        #expect(value["e"]?.isObject == true)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "[1] x", "01x", "\"\u{1}\"", String(repeating: "[", count: 100)] {
            #expect(Self.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("an infer request: JSON data, binary data, outputs, and bad shapes")
    func inferRequest() throws {
        let json =
            #"{"id": "7", "inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2], [3, 4.5]]}], "outputs": [{"name": "label"}]}"#
        var buffer = ByteBuffer(string: json)
        let request = try InferenceProtocol.parseInfer(
            body: buffer,
            jsonLength: nil,
            features: 2,
            task: .classification
        )
        #expect(request.values == [1, 2, 3, 4.5])
        #expect(request.rowCount == 2 && request.id == "7" && request.outputs == ["label"])

        let header =
            #"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}}]}"#
        buffer = ByteBuffer(string: header)
        for value: Float in [0.5, -1] { buffer.writeInteger(value.bitPattern, endianness: .little) }
        let binary = try InferenceProtocol.parseInfer(
            body: buffer,
            jsonLength: header.utf8.count,
            features: 2,
            task: .classification
        )
        #expect(binary.values == [0.5, -1])

        for bad in [
            #"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}"#,
            #"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2], "data": [1, "2"]}]}"#,
            #"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 2], "data": [1, 2]}]}"#,
            #"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1.5, 2], "data": [1, 2]}]}"#,
            #"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}], "outputs": [{"name": "value"}]}"#,
        ] {
            #expect(throws: HTTPError.self, "\(bad)") {
                try InferenceProtocol.parseInfer(
                    body: ByteBuffer(string: bad),
                    jsonLength: nil,
                    features: 2,
                    task: .classification
                )
            }
        }
    }
}
