import Foundation
import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// The Open Inference Protocol (KServe V2) REST bodies, with Triton's binary tensor extension on
/// inputs: parsing an infer request into rows, and writing metadata and infer responses. Pure
/// functions of bytes and values, no NIO channel (tested on their own).
///
/// The tensors have fixed names: input `input` FP32 `[rows, features]`; outputs `label` BYTES
/// `[rows]` and `probabilities` FP32 `[rows, classes]` for a classifier, `value` FP32 `[rows]` for
/// a regressor. Answers always carry JSON `data` (never binary outputs).
enum InferenceProtocol {
    static let inputName = "input"
    static let labelOutput = "label"
    static let probabilitiesOutput = "probabilities"
    static let valueOutput = "value"

    /// A parsed infer request.
    struct InferRequest: Sendable {
        var id: String?
        /// Row-major, `rowCount` × the model's feature count.
        var values: [Float]
        var rowCount: Int
        /// The outputs asked for (`outputs`), nil = all of the model's.
        var outputs: [String]?
    }

    /// The outputs a model of `task` answers with.
    static func outputs(task: V1.Task) -> [String] {
        task == .regression ? [valueOutput] : [labelOutput, probabilitiesOutput]
    }

    /// Parses an infer request body.
    /// - Parameters:
    ///   - body: The whole request body.
    ///   - jsonLength: `Inference-Header-Content-Length`: the JSON header's size, the binary
    ///     tensors after it; nil = the body is all JSON.
    ///   - features: The model's feature count.
    ///   - task: The model's task (which outputs exist).
    /// - Throws: `HTTPError` 400 naming what is wrong.
    static func parseInfer(
        body: ByteBuffer,
        jsonLength: Int?,
        features: Int,
        task: V1.Task
    ) throws(HTTPError) -> InferRequest {
        let total = body.readableBytes
        let headerLength = jsonLength ?? total
        guard headerLength >= 0, headerLength <= total else {
            throw .badRequest(
                "Inference-Header-Content-Length \(headerLength) is larger than the body (\(total) bytes)"
            )
        }
        let parsed = body.withUnsafeReadableBytes { raw in
            JSONValue.parse(UnsafeRawBufferPointer(rebasing: raw[0..<headerLength]))
        }
        guard let object = parsed, object.isObject else {
            throw .badRequest("the request body is not a JSON object")
        }
        guard let inputs = object["inputs"]?.array else {
            throw .badRequest("\"inputs\" must be an array of tensors")
        }
        guard inputs.count == 1, let input = inputs.first, input.isObject else {
            throw .badRequest("expected one input tensor \"\(inputName)\", got \(inputs.count)")
        }
        guard let name = input["name"]?.string, name == inputName else {
            throw .badRequest(
                "unknown input \"\(input["name"]?.string ?? "")\": the model's input is \"\(inputName)\""
            )
        }
        guard let datatype = input["datatype"]?.string else { throw .badRequest("input \"input\" has no datatype") }
        guard datatype == "FP32" else {
            throw .badRequest("input \"input\" has datatype \(datatype); the model takes FP32")
        }
        guard let shape = input["shape"]?.array, shape.count == 2,
            let rowsNumber = shape[0].number, let columnsNumber = shape[1].number,
            rowsNumber == rowsNumber.rounded(), columnsNumber == columnsNumber.rounded(),
            abs(rowsNumber) < 1e15, abs(columnsNumber) < 1e15
        else {
            throw .badRequest("input \"input\" must have shape [rows, \(features)]")
        }
        let rows = Int(rowsNumber)
        let columns = Int(columnsNumber)
        guard columns == features, rows >= 1 else {
            throw .badRequest("input \"input\" has shape [\(rows), \(columns)]; the model takes [-1, \(features)]")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= total else {
            throw .badRequest("input \"input\" shape [\(rows), \(columns)] is larger than the request")
        }
        var values: [Float]
        if let binarySize = input["parameters"]?["binary_data_size"]?.number.map({ Int(exactly: $0) ?? -1 }) {
            guard jsonLength != nil else {
                throw .badRequest("binary_data_size without an Inference-Header-Content-Length header")
            }
            guard binarySize == count * 4 else {
                throw .badRequest("binary_data_size \(binarySize) is not \(count) FP32 values (\(count * 4) bytes)")
            }
            guard total - headerLength >= binarySize else {
                throw .badRequest("the body holds \(total - headerLength) bytes of binary data, not \(binarySize)")
            }
            values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { out in
                body.withUnsafeReadableBytes { raw in
                    out.copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[headerLength..<(headerLength + binarySize)])
                    )
                }
            }
            #if _endian(big)
            values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            #endif
        } else {
            guard let data = input["data"]?.array else {
                throw .badRequest("input \"input\" has neither \"data\" nor parameters.binary_data_size")
            }
            values = []
            values.reserveCapacity(count)
            guard flatten(data, into: &values, limit: count) else {
                throw .badRequest("input \"input\" data must be numbers (flat or nested)")
            }
            guard values.count == count else {
                throw .badRequest(
                    "input \"input\" has \(values.count) values; shape [\(rows), \(columns)] needs \(count)"
                )
            }
        }
        var outputs: [String]?
        if let requested = object["outputs"] {
            guard let list = requested.array else { throw .badRequest("\"outputs\" must be an array") }
            let known = Self.outputs(task: task)
            var names: [String] = []
            for output in list {
                guard let name = output["name"]?.string, known.contains(name) else {
                    throw .badRequest(
                        "unknown output \"\(output["name"]?.string ?? "")\"; the model has \(known.joined(separator: ", "))"
                    )
                }
                names.append(name)
            }
            outputs = names
        }
        return InferRequest(id: object["id"]?.string, values: values, rowCount: rows, outputs: outputs)
    }

    /// Appends the numbers of a (nested) JSON array; false on anything else or past `limit`.
    private static func flatten(_ array: [JSONValue], into values: inout [Float], limit: Int) -> Bool {
        for element in array {
            switch element {
            case .number(let number):
                guard values.count < limit else { return false }
                values.append(Float(number))
            case .array(let nested):
                guard flatten(nested, into: &values, limit: limit) else { return false }
            default:
                return false
            }
        }
        return true
    }

    /// The infer response for a computed predict.
    static func inferResponse(
        _ response: V1.PredictResponse,
        rows: Int,
        task: V1.Task,
        request: InferRequest
    ) -> String {
        var json = "{\"model_name\":\(quote(response.model)),\"model_version\":\"\(response.version)\""
        if let id = request.id { json += ",\"id\":\(quote(id))" }
        json += ",\"outputs\":["
        var first = true
        for name in request.outputs ?? outputs(task: task) {
            var tensor: String
            switch name {
            case valueOutput:
                tensor = "{\"name\":\"value\",\"datatype\":\"FP32\",\"shape\":[\(rows)],\"data\":"
                appendNumbers(response.values, to: &tensor)
            case labelOutput:
                tensor = "{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[\(rows)],\"data\":["
                for (index, id) in response.classIds.enumerated() {
                    if index > 0 { tensor += "," }
                    let classID = Int(id)
                    tensor += classID < response.classNames.count ? quote(response.classNames[classID]) : "\"\(id)\""
                }
                tensor += "]"
            default:
                guard let scores = response.scores else { continue }
                tensor =
                    "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[\(rows),\(scores.columns)],\"data\":"
                appendNumbers(scores.values, to: &tensor)
            }
            tensor += "}"
            if !first { json += "," }
            first = false
            json += tensor
        }
        json += "]}"
        return json
    }

    private static func appendNumbers(_ values: [Float], to json: inout String) {
        json += "["
        for (index, value) in values.enumerated() {
            if index > 0 { json += "," }
            json += value.isFinite ? "\(value)" : "null"
        }
        json += "]"
    }

    /// `GET /v2/models/{name}[/versions/{v}]`.
    static func modelMetadata(name: String, versions: [UInt32], task: V1.Task, features: Int, classes: Int) -> String {
        var outputs: String
        if task == .regression {
            outputs = "{\"name\":\"value\",\"datatype\":\"FP32\",\"shape\":[-1]}"
        } else {
            outputs =
                "{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[-1]},"
                + "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[-1,\(classes)]}"
        }
        let versionList = versions.map { "\"\($0)\"" }.joined(separator: ",")
        return "{\"name\":\(quote(name)),\"versions\":[\(versionList)],\"platform\":\"modelwire\","
            + "\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,\(features)]}],"
            + "\"outputs\":[\(outputs)]}"
    }

    /// `GET /v2`.
    static func serverMetadata(name: String, version: String) -> String {
        "{\"name\":\(quote(name)),\"version\":\(quote(version)),\"extensions\":[\"binary_tensor_data\"]}"
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// An HTTP answer other than success: the status and the V2 error JSON `{"error": "..."}`.
struct HTTPError: Error, Sendable {
    var status: Int
    var message: String
    /// Close the connection after answering (the request's bytes cannot be trusted).
    var close = false

    static func badRequest(_ message: String) -> HTTPError { HTTPError(status: 400, message: message) }

    /// The V2 error body.
    var json: String { "{\"error\":\(InferenceProtocol.quote(message))}" }

    /// The HTTP status of a service error.
    init(_ error: ModelwireError) {
        let status: Int
        switch error.code {
        case .invalidArgument, .failedPrecondition, .outOfRange: status = 400
        case .notFound: status = 404
        case .unauthenticated: status = 401
        case .permissionDenied: status = 403
        case .resourceExhausted: status = 429
        case .unavailable: status = 503
        case .deadlineExceeded: status = 504
        case .unimplemented: status = 501
        case .alreadyExists: status = 409
        default: status = 500
        }
        self.init(status: status, message: status == 500 ? "internal error" : error.message)
    }

    init(status: Int, message: String, close: Bool = false) {
        self.status = status
        self.message = message
        self.close = close
    }
}
