import ModelwireData

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

extension SeededGenerator {
    /// A standard normal sample (Box–Muller), for random features and the synthetic dataset.
    mutating func nextGaussian() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
