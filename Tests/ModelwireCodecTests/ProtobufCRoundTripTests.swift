import ModelwireCodec
import Testing

/// Encoding goes through protobuf-c with arrays borrowed from the Swift values (`fill(_:_:then:)`) or
/// copied into the arena (`fill(_:_:)`: oneof members, elements of repeated messages). Whatever protobuf-c
/// packed must unpack to the same value and pack again to the same bytes.
@Suite struct ProtobufCRoundTripTests {
    static func expectStable(_ message: any ProtobufMessage, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = try message.serializedBytes()
        let decoded = try type(of: message).init(serializedBytes: bytes, maxSize: .max)
        #expect(try decoded.serializedBytes() == bytes, "\(type(of: message))", sourceLocation: sourceLocation)
        // Two decodes (separate arrays) are equal unless a NaN is inside; only then is == meaningless.
        if try type(of: message).init(serializedBytes: bytes, maxSize: .max).isEqual(decoded) {
            #expect(decoded.isEqual(message), "\(type(of: message))", sourceLocation: sourceLocation)
        }
        var viaWriter: [UInt8] = []
        try message.withSerialization { size, write in
            viaWriter = [UInt8](repeating: 0xAA, count: size)
            viaWriter.withUnsafeMutableBytes { write($0.baseAddress!) }
        }
        #expect(viaWriter == bytes, sourceLocation: sourceLocation)
    }

    @Test func edgeValues() throws {
        let long = String(repeating: "é", count: 100)  // 200 UTF-8 bytes: a two-byte length prefix
        let messages: [any ProtobufMessage] = [
            V1.PredictRequest(),
            V1.PredictRequest(
                model: V1.ModelRef(name: "reference", selector: .version(1)),
                inputs: V1.Tensor(columns: 100, values: (0..<100).map { Float($0) - 50 }),
                includeProbabilities: true
            ),
            // explicit zeros
            V1.PredictRequest(model: V1.ModelRef(name: "", selector: .version(0)), inputs: V1.Tensor()),
            V1.PredictRequest(
                model: V1.ModelRef(name: long, selector: .alias("")),
                inputs: V1.Tensor(values: [-0.0, .nan, .infinity])
            ),
            // 3-byte lengths
            V1.PredictRequest(inputs: V1.Tensor(columns: .max, values: [Float](repeating: 1, count: 5000))),
            V1.PredictResponse(
                model: "reference",
                version: 300,
                classNames: ["", "a", long, "ünï"],
                classIds: [0, 127, 128, 16_384, .max],
                scores: V1.Tensor(columns: 4, values: [0.25, 0.5]),
                scoresAreProbabilities: true,
                values: [-0.0, 1],
                timings: V1.CallTimings(queueUs: 0, decodeUs: 1, computeUs: .max, batchRows: 1024)
            ),
            V1.PredictResponse(timings: V1.CallTimings()),
            V1.Status(code: .resourceExhausted, message: "full", retryAfterMs: 0),
            V1.Status(code: V1.StatusCode(rawValue: -5), message: long),  // negative enum: 10-byte varint
            V1.Status(code: V1.StatusCode(rawValue: .max)),
            V1.TreeParameters(
                criterion: .entropy,
                outputs: 2,
                feature: [0, -1, .min, .max],
                threshold: [0.5, -0.0],
                left: [1, -1],
                right: [2, -64, 64],
                value: [0.5]
            ),
            V1.TrainingSummary(
                epochsRun: 1,
                trainingSamples: .max,
                durationSeconds: -0.0,
                finalLoss: -0.0,
                validationLoss: 0,
                validationAccuracy: .nan,
                earlyStopped: true,
                seed: 1 << 40
            ),
            V1.ImportModelRequest(modelFile: [0, 1, 2, 0, 255]),
            V1.ConfusionMatrix(counts: [0, 1, .max, 1 << 35]),
        ]
        for message in messages { try Self.expectStable(message) }
    }

    /// The bytes of a borrowed (top-level Tensor) and a copied (oneof member) encoding of the same floats.
    @Test func borrowedAndCopiedArraysPackTheSame() throws {
        let values: [Float] = [1, -2.5, .pi, 0, 1e-30, -.infinity]
        let tensor = try V1.Tensor(columns: 3, values: values).serializedBytes()
        let dataset = V1.Dataset(features: V1.Tensor(columns: 3, values: values))
        // Dataset copied as a oneof member
        let inline = try V1.TrainRequest(data: .inlineData(dataset)).serializedBytes()
        let borrowed = try dataset.serializedBytes()  // Dataset at the top: its Tensor borrowed
        #expect(inline.suffix(tensor.count) == tensor[...])
        #expect(borrowed.suffix(tensor.count) == tensor[...])
    }

    /// Random protobuf bytes, decoded as every message type; whatever decodes must re-encode stably.
    @Test func randomlyDecodedValuesOfEveryType() throws {
        var rng = SplitMix(seed: 0x5EED)
        var matched = 0
        for (_, type) in V1.messageTypes.sorted(by: { $0.key < $1.key }) {
            for _ in 0..<400 {
                let bytes = Self.randomMessage(&rng, depth: 0)
                guard let value = try? type.init(serializedBytes: bytes, maxSize: .max) else { continue }
                matched += 1
                try Self.expectStable(value)
            }
        }
        #expect(matched > 1000)
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { self.state = seed }
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(self.next() % UInt64(n)) }
    }

    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// 0-5 fields with numbers 1-12, any wire type, values of every magnitude; length-delimited payloads
    /// are ASCII text, a nested random message, or packed varints/floats.
    static func randomMessage(_ rng: inout SplitMix, depth: Int) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<rng.below(6) {
            let number = UInt64(1 + rng.below(12))
            let wireType = [0, 0, 1, 2, 2, 2, 5][rng.below(7)]
            Self.varint(number << 3 | UInt64(wireType), into: &out)
            switch wireType {
            case 0:
                let magnitudes: [UInt64] = [
                    0, 1, 127, 128, 300, 1 << 31, 1 << 40, .max, UInt64(bitPattern: -1), UInt64(bitPattern: -300),
                ]
                Self.varint(
                    rng.below(2) == 0 ? magnitudes[rng.below(magnitudes.count)] : rng.next() >> UInt64(rng.below(64)),
                    into: &out
                )
            case 1:
                for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: rng.next())) }
            case 5:
                let floats: [Float] = [0, -0.0, 1.5, .nan, -3]
                let bits =
                    rng.below(2) == 0
                    ? floats[rng.below(floats.count)].bitPattern : UInt32(truncatingIfNeeded: rng.next())
                withUnsafeBytes(of: bits.littleEndian) { out += $0 }
            default:
                var payload: [UInt8] = []
                switch depth < 3 ? rng.below(4) : 0 {
                case 0: payload = (0..<rng.below(150)).map { _ in UInt8(0x61 + rng.below(26)) }
                case 1, 2: payload = Self.randomMessage(&rng, depth: depth + 1)
                default:
                    if rng.below(2) == 0 {
                        for _ in 0..<rng.below(40) { Self.varint(rng.next() >> UInt64(rng.below(64)), into: &payload) }
                    } else {
                        for _ in 0..<(4 * rng.below(40)) { payload.append(UInt8(truncatingIfNeeded: rng.next())) }
                    }
                }
                Self.varint(UInt64(payload.count), into: &out)
                out += payload
            }
        }
        return out
    }
}

extension ProtobufMessage {
    fileprivate func isEqual(_ other: any ProtobufMessage) -> Bool { (other as? Self) == self }
}
