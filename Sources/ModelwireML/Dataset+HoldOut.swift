import ModelwireData

extension Dataset {
    /// Rows to fit and rows held out (a validation split, boosting's early-stopping set), as
    /// scikit-learn's `train_test_split(test_size: fraction, stratify: y)` makes them: a seeded
    /// shuffle; `fraction` of all rows (rounded) held out; for classification, shared among the
    /// classes in proportion to their sizes (largest remainders get the rows left by rounding
    /// down), each class keeping at least one row to fit.
    /// - Returns: Both index lists, in ascending order.
    func stratifiedHoldOut(fraction: Double, seed: UInt64) -> (fit: [Int], held: [Int]) {
        var generator = SeededGenerator(seed: seed)
        let groups: [[Int]] =
            if classNames.isEmpty {
                [Array(0..<rows)]
            } else {
                (0..<classNames.count).map { c in classIDs.indices.filter { classIDs[$0] == c } }
            }
        let total = Int((Double(rows) * fraction).rounded())
        let shares = groups.map { Double($0.count) * Double(total) / Double(max(rows, 1)) }
        var counts = shares.map { Int($0) }
        let byRemainder = shares.indices.sorted { shares[$0] - Double(counts[$0]) > shares[$1] - Double(counts[$1]) }
        for index in byRemainder.prefix(max(total - counts.reduce(0, +), 0)) { counts[index] += 1 }
        var fit = [Int]()
        var held = [Int]()
        for (group, wanted) in zip(groups, counts) {
            let order = group.shuffled(using: &generator)
            let count = min(wanted, max(order.count - 1, 0))
            fit += order.prefix(order.count - count)
            held += order.suffix(count)
        }
        return (fit.sorted(), held.sorted())
    }
}
