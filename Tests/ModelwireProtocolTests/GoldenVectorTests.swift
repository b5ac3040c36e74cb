import Foundation
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Testing

/// Every vector of proto/testdata/ decodes, and re-encodes to the same bytes (compressed
/// vectors: the same header and the same bytes after inflating).
@Suite struct GoldenVectorTests {
    struct Vector: CustomStringConvertible, Sendable {
        let name: String
        let messageType: String
        let bytes: [UInt8]
        var description: String { name }
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("proto/testdata")

    static func load() throws -> [Vector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".hex") }
            .sorted()
        return try names.map { name in
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            let lines = text.split(separator: "\n")
            let type = lines.first { $0.hasPrefix("# message:") }!.dropFirst("# message:".count).trimmingCharacters(
                in: .whitespaces
            )
            let hex = lines.filter { !$0.hasPrefix("#") }.joined(separator: " ").split(separator: " ")
            return Vector(name: name, messageType: type, bytes: hex.map { UInt8($0, radix: 16)! })
        }
    }

    @Test func thereAreVectorsOfEveryFrameKind() throws {
        let vectors = try Self.load()
        var decoder = FrameDecoder(maxPayloadBytes: 1 << 20)
        let kinds = Set(
            try vectors.map { v -> UInt8 in
                var buffer = ByteBuffer(bytes: v.bytes)
                return try #require(try decoder.decode(buffer: &buffer)).kind.rawValue
            }
        )
        #expect(kinds == Set(Frame.Kind.allKnown.map(\.rawValue)))
    }

    @Test(arguments: try load())
    func decodesAndReencodesToTheSameBytes(_ vector: Vector) throws {
        var decoder = FrameDecoder(maxPayloadBytes: 1 << 20)
        var input = ByteBuffer(bytes: vector.bytes)
        let frame = try #require(try decoder.decode(buffer: &input))
        #expect(input.readableBytes == 0)
        let codec = FramePayloadCodec(
            limits: .defaults { $0.compressionThresholdBytes = frame.flags.contains(.compressed) ? 0 : .max },
            peerAcceptsZlib: frame.flags.contains(.compressed)
        )
        var output = ByteBuffer()
        if vector.messageType == "raw" {
            output.writeFrame(frame)
            #expect(Array(output.readableBytesView) == vector.bytes)
            return
        }
        let type = try #require(V1.messageTypes[vector.messageType])
        let message = try codec.decode(frame, as: type)
        try codec.writeFrame(
            message,
            kind: frame.kind,
            flags: frame.flags.subtracting(.compressed),
            method: frame.method,
            callID: frame.callID,
            timeoutMilliseconds: frame.timeoutMilliseconds,
            into: &output
        )
        var reread = output
        let again = try #require(try decoder.decode(buffer: &reread))
        #expect(again.flags == frame.flags)
        if frame.flags.contains(.compressed) {
            #expect(Array(output.readableBytesView.prefix(16)) == Array(vector.bytes.prefix(16)))
            #expect(
                try Zlib.decompress(Array(again.payload.readableBytesView), maxSize: 1 << 20, maxRatio: 100)
                    == Zlib.decompress(Array(frame.payload.readableBytesView), maxSize: 1 << 20, maxRatio: 100)
            )
        } else {
            #expect(Array(output.readableBytesView) == vector.bytes)
        }
    }
}
