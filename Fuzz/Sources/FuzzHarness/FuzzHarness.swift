// The bodies of the fuzz targets, shared by the libFuzzer executables of Fuzz/ (which crash on a
// finding) and by Tests/FuzzRegressionTests (which replays Fuzz/Crashes/<target>/ in swift test
// and reports findings as test failures). Tests/FuzzRegressionTests/FuzzHarness.swift is a
// symlink to this file, so the root package compiles it into the test target: keep it to the
// public API of ModelwireProtocol, ModelwireCodec, ModelwireOnnx, ModelwireML and NIOCore.
import ModelwireCodec
import ModelwireML
import ModelwireOnnx
import ModelwireProtocol
import NIOCore

/// What each fuzz target does with one input. Both return the broken invariants (empty: none);
/// typed decode errors are fine, a crash, leak or hang is a bug in the code under test.
public enum FuzzHarness {
    /// Limits of both targets: small frames so the fuzzer reaches the interesting paths.
    public static let limits = ProtocolLimits.defaults {
        $0.maxFrameBytes = 1 << 16
        $0.maxMessageBytes = 1 << 20
    }

    /// FuzzFrameDecoder: the input is a byte stream as a server reads it. Frames are cut with the
    /// real decoder and limits; each payload is inflated (with the limits) and decoded as the
    /// message its kind and method imply.
    ///
    /// Invariants: a frame consumes exactly its header and payload, never more than the limit,
    /// and writes back to the same bytes; a failed decode leaves the reader index alone; at the
    /// end of the stream leftover bytes are reported as truncated; whatever message decodes
    /// re-encodes stably (bytes, not values: NaN != NaN).
    public static func frameDecoder(_ input: UnsafeRawBufferPointer) -> [String] {
        var findings: [String] = []
        var buffer = ByteBuffer(bytes: input)
        var decoder = FrameDecoder(maxPayloadBytes: limits.maxFrameBytes)
        let codec = FramePayloadCodec(limits: limits, peerAcceptsZlib: true)
        var index = 0
        while true {
            let before = buffer
            let frame: Frame
            do {
                guard let next = try decoder.decode(buffer: &buffer) else { break }
                frame = next
            } catch {
                if buffer.readerIndex != before.readerIndex {
                    findings.append("frame \(index): a failed decode (\(error)) moved the reader index")
                }
                break
            }
            let consumed = buffer.readerIndex - before.readerIndex
            if frame.payload.readableBytes > limits.maxFrameBytes {
                findings.append("frame \(index): payload of \(frame.payload.readableBytes) bytes is over the limit")
            }
            if consumed != Frame.headerSize + frame.payload.readableBytes {
                findings.append(
                    "frame \(index): consumed \(consumed) bytes for a \(frame.payload.readableBytes)-byte payload"
                )
            }
            var rewritten = ByteBuffer()
            rewritten.writeFrame(frame)
            if rewritten != before.getSlice(at: before.readerIndex, length: consumed) {
                findings.append("frame \(index): does not write back to the bytes it was read from")
            }
            findings += decodePayload(frame, codec: codec).map { "frame \(index): \($0)" }
            index += 1
        }
        do {
            if let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
                findings.append("end of stream: decodeLast returned a \(frame.kind) frame that decode did not")
            } else if buffer.readableBytes > 0 {
                findings.append("end of stream: \(buffer.readableBytes) bytes left and not reported as truncated")
            }
        } catch {}
        return findings
    }

    /// FuzzMethodBody: the first byte picks a v1 method, the rest is a body decoded as that
    /// method's request and response. Whatever decodes must re-encode and decode again to the
    /// same bytes.
    public static func methodBody(_ input: UnsafeRawBufferPointer) -> [String] {
        guard let first = input.first else { return [] }
        let method = MethodDescriptor.v1[Int(first) % MethodDescriptor.v1.count]
        let body = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        var findings: [String] = []
        for type in [method.requestType, method.responseType] {
            guard let message = try? type.init(serializedBytes: body, maxSize: limits.maxMessageBytes) else { continue }
            if let finding = reencodingFinding(message, type) { findings.append("\(method.name): \(finding)") }
        }
        return findings
    }

    /// FuzzOnnxImport: the input is an ONNX file as ImportModel receives it, converted with the
    /// server's limits (OnnxLimits.forFile). A refusal must be a sentence; a model that converts
    /// must build, and its ONNX export must convert again to a model with the same task, features
    /// and classes.
    public static func onnxImport(_ input: UnsafeRawBufferPointer) -> [String] {
        let bytes = [UInt8](input)
        let imported: OnnxImportedModel
        do { imported = try OnnxImporter.convert(bytes, limits: .forFile(bytes: bytes.count)) } catch {
            return error.message.isEmpty ? ["a refusal without a message"] : []
        }
        let s = imported.snapshot
        let exported = OnnxExporter.export(s, inputName: imported.inputName, modelName: "fuzz", producerVersion: "fuzz")
        let again: ModelSnapshot
        do { again = try OnnxImporter.convert(exported, limits: .forFile(bytes: exported.count)).snapshot } catch {
            return ["the export of an imported model does not import: \(error.message)"]
        }
        guard again.task == s.task, again.featureNames == s.featureNames, again.classNames.count == s.classNames.count
        else { return ["the export of an imported model imports as another model"] }
        return []
    }

    private static func decodePayload(_ frame: Frame, codec: FramePayloadCodec) -> [String] {
        var messages: [(any ProtobufMessage)?] = []
        switch frame.kind {
        case .hello:
            messages = [
                try? codec.decode(frame, as: V1.ClientHello.self), try? codec.decode(frame, as: V1.ServerHello.self),
            ]
        case .error:
            messages = [try? codec.decode(frame, as: V1.Status.self)]
        case .goAway:
            messages = [try? codec.decode(frame, as: V1.GoAway.self)]
        case .request, .message:
            guard let method = MethodDescriptor.lookup(frame.method) else { return [] }
            messages = [
                try? codec.decodeAny(frame, as: method.requestType),
                try? codec.decodeAny(frame, as: method.responseType),
            ]
        default:
            return []
        }
        return messages.compactMap { $0 }.compactMap { reencodingFinding($0, type(of: $0)) }
    }

    /// nil when `message` encodes, its encoding decodes, and that encodes to the same bytes.
    private static func reencodingFinding(_ message: any ProtobufMessage, _ type: any ProtobufMessage.Type) -> String? {
        guard let first = try? message.serializedBytes() else { return nil }  // e.g. an embedded NUL cannot re-encode
        guard let again = try? type.init(serializedBytes: first, maxSize: .max) else {
            return "\(type): its own encoding does not decode"
        }
        guard let second = try? again.serializedBytes(), first == second else {
            return "\(type): re-encoding is not stable"
        }
        return nil
    }
}

extension FramePayloadCodec {
    /// Opens the existential so the generic decoder can be called with a runtime type.
    fileprivate func decodeAny(_ frame: Frame, as type: any ProtobufMessage.Type) throws -> any ProtobufMessage {
        func open<M: ProtobufMessage>(_ t: M.Type) throws -> any ProtobufMessage { try self.decode(frame, as: t) }
        return try open(type)
    }
}
