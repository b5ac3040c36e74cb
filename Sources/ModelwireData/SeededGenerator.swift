/// A small, fast, seeded random number generator (xoshiro256**, seeded through SplitMix64).
///
/// The same seed gives the same sequence on every platform, which is what makes shuffling,
/// splitting and weight initialisation reproducible. A value type: copy it to fork a stream.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator from a 64-bit seed.
    /// - Parameter seed: Any value; equal seeds give equal sequences.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        self.state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotate(self.state.1 &* 5, 7) &* 9
        let t = self.state.1 << 17
        self.state.2 ^= self.state.0
        self.state.3 ^= self.state.1
        self.state.1 ^= self.state.2
        self.state.0 ^= self.state.3
        self.state.2 ^= t
        self.state.3 = rotate(self.state.3, 45)
        return result
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(self.next() >> 40) * 0x1p-24
    }

    /// Whether two generators are in the same state.
    public static func == (lhs: SeededGenerator, rhs: SeededGenerator) -> Bool {
        lhs.state == rhs.state
    }

    /// Hashes the generator's state.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.state.0)
        hasher.combine(self.state.1)
        hasher.combine(self.state.2)
        hasher.combine(self.state.3)
    }
}

private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
}
