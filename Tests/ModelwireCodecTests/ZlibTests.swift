import ModelwireCodec
import Testing

@Suite struct ZlibTests {
    static func inflate(
        _ bytes: [UInt8],
        maxSize: Int = 1 << 20,
        maxRatio: Int = 1000
    ) throws(CompressionError) -> [UInt8] {
        try Zlib.decompress(bytes, maxSize: maxSize, maxRatio: maxRatio)
    }

    @Test func roundTrip() throws {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let compressed = try Zlib.compress(input)
        #expect(compressed.count < input.count)
        #expect(try Self.inflate(compressed) == input)
    }

    @Test func bombIsStoppedAtTheSizeCap() throws {
        let bomb = try Zlib.compress([UInt8](repeating: 0, count: 10 << 20), level: 9)  // 10 MiB of zeros
        #expect(bomb.count < 20_000)
        #expect(throws: CompressionError.tooLarge(limit: 1 << 20)) {
            try Self.inflate(bomb, maxSize: 1 << 20, maxRatio: 100_000)
        }
    }

    @Test func bombIsStoppedByTheRatio() throws {
        let bomb = try Zlib.compress([UInt8](repeating: 7, count: 200_000), level: 9)
        #expect(throws: CompressionError.ratioExceeded(limit: 50)) {
            try Self.inflate(bomb, maxSize: 1 << 30, maxRatio: 50)
        }
    }

    @Test("the ratio limit applies only past ratioCheckMinBytes: sparse data inflates, a bomb does not")
    func ratioCheckFloor() throws {
        let sparse = [UInt8](repeating: 0, count: 104_000)  // 2,000 rows x 13 features of zeros
        let packed = try Zlib.compress(sparse, level: 9)
        #expect(sparse.count / packed.count > 200)
        #expect(throws: CompressionError.ratioExceeded(limit: 200)) {
            try Zlib.decompress(packed, maxSize: 64 << 20, maxRatio: 200)
        }
        #expect(try Zlib.decompress(packed, maxSize: 64 << 20, maxRatio: 200, ratioCheckMinBytes: 1 << 20) == sparse)
        let bomb = try Zlib.compress([UInt8](repeating: 0, count: 4 << 20), level: 9)
        #expect(throws: CompressionError.ratioExceeded(limit: 200)) {
            try Zlib.decompress(bomb, maxSize: 64 << 20, maxRatio: 200, ratioCheckMinBytes: 1 << 20)
        }
    }

    @Test func corruptTruncatedAndTrailingBytesAreRejected() throws {
        let good = try Zlib.compress(Array("hello hello hello hello".utf8))
        #expect(throws: CompressionError.self) { try Self.inflate([0x78, 0x9C, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: CompressionError.corrupt("truncated zlib stream")) { try Self.inflate(Array(good.dropLast(3))) }
        #expect(throws: CompressionError.corrupt("bytes after the end of the zlib stream")) {
            try Self.inflate(good + [1, 2])
        }
        #expect(throws: CompressionError.self) { try Self.inflate([]) }
    }
}
