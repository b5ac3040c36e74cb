import ModelwireData

/// A hyper-parameter grid: named axes of candidate values (as text), expanded in
/// scikit-learn's `ParameterGrid` order (the last axis varies fastest), or sampled at random
/// without replacement.
public struct ParameterGrid: Sendable, Equatable {
    /// One axis: a parameter and the values to try.
    public struct Axis: Sendable, Equatable {
        /// The parameter's name.
        public var name: String
        /// Its candidate values, in order (at least one).
        public var values: [String]

        /// Creates an axis.
        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// The axes, in order.
    public let axes: [Axis]

    /// Creates a grid.
    /// - Throws: `TrainingError.invalidArgument` naming an axis without values or a name given twice.
    public init(_ axes: [Axis]) throws(TrainingError) {
        var names = Set<String>()
        for axis in axes {
            guard !axis.values.isEmpty else {
                throw TrainingError(.invalidArgument, "grid parameter \"\(axis.name)\" has no values")
            }
            guard names.insert(axis.name).inserted else {
                throw TrainingError(.invalidArgument, "grid parameter \"\(axis.name)\" is given twice")
            }
        }
        self.axes = axes
    }

    /// The number of combinations (the product of the axes' sizes), saturating at `UInt64.max`.
    public var combinations: UInt64 {
        var total: UInt64 = 1
        for axis in axes {
            let (product, overflow) = total.multipliedReportingOverflow(by: UInt64(axis.values.count))
            if overflow { return .max }
            total = product
        }
        return total
    }

    /// Combination `index` (0 ..< `combinations`): one value per axis, in axis order.
    public func combination(_ index: UInt64) -> [String] {
        var rest = index
        var values = [String](repeating: "", count: axes.count)
        for a in axes.indices.reversed() {
            let size = UInt64(axes[a].values.count)
            values[a] = axes[a].values[Int(rest % size)]
            rest /= size
        }
        return values
    }

    /// The combinations to try: all of them in order (`random == nil`), or `random` distinct
    /// ones drawn with `seed` (all of them, in order, when `random` is at least the grid's size).
    public func trials(random: Int?, seed: UInt64) -> [UInt64] {
        let total = combinations
        guard let random, UInt64(random) < total else { return Array(0..<total) }
        var generator = SeededGenerator(seed: seed)
        var chosen = Set<UInt64>()
        var order = [UInt64]()
        while order.count < random {
            let pick = UInt64.random(in: 0..<total, using: &generator)
            if chosen.insert(pick).inserted { order.append(pick) }
        }
        return order
    }
}
