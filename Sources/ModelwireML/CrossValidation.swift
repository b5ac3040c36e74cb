import ModelwireData

/// K-fold splits of a dataset's rows for cross-validation.
///
/// Without shuffling they are scikit-learn's: `StratifiedKFold(n_splits: k, shuffle=False)` for
/// classification (every class spread over the folds as evenly as its count allows, its rows in
/// order) and `KFold(n_splits: k, shuffle=False)` for regression (contiguous blocks, the first
/// `rows % k` one row longer). With a seed the rows of each class (or all rows) are shuffled
/// first, deterministically.
public struct CrossValidationFolds: Sendable, Equatable {
    /// The held-out rows of each fold, ascending; every row is in exactly one fold.
    public let testRows: [[Int]]
    /// Whether the folds were stratified by class.
    public let stratified: Bool
    /// The number of rows folded.
    public let rows: Int

    /// The fold count.
    public var count: Int { testRows.count }

    /// The training rows of fold `fold`: every row not held out by it, ascending.
    public func trainingRows(_ fold: Int) -> [Int] {
        var held = [Bool](repeating: false, count: rows)
        for r in testRows[fold] { held[r] = true }
        return (0..<rows).filter { !held[$0] }
    }

    /// Splits `dataset` into `folds` folds: stratified for classification, plain for regression.
    /// - Parameters:
    ///   - dataset: The rows to fold.
    ///   - folds: 2 ... rows (classification: ... rows of the rarest class).
    ///   - shuffleSeed: Shuffle with this seed first; `nil` keeps the rows' order (scikit-learn's `shuffle=False`).
    /// - Throws: `TrainingError.invalidArgument` naming `folds` when the count does not fit the data.
    public init(_ dataset: Dataset, folds: Int, shuffleSeed: UInt64?) throws(TrainingError) {
        guard folds >= 2 else { throw TrainingError(.invalidArgument, "folds must be ≥ 2, got \(folds)") }
        guard folds <= dataset.rows else {
            throw TrainingError(.invalidArgument, "folds \(folds) is more than the \(dataset.rows) rows")
        }
        var generator = shuffleSeed.map { SeededGenerator(seed: $0) }
        if case .classes(let names, let ids) = dataset.targets {
            self = try Self.stratified(ids: ids, names: names, folds: folds, generator: &generator)
        } else {
            var order = Array(0..<dataset.rows)
            if generator != nil { order.shuffle(using: &generator!) }
            var testRows = [[Int]]()
            var start = 0
            for f in 0..<folds {
                let size = dataset.rows / folds + (f < dataset.rows % folds ? 1 : 0)
                testRows.append(order[start..<start + size].sorted())
                start += size
            }
            self.init(testRows: testRows, stratified: false, rows: dataset.rows)
        }
    }

    /// Given folds (e.g. scikit-learn's): the held-out rows of each.
    /// - Throws: `TrainingError.invalidArgument` unless there are ≥ 2 folds, none empty, and every
    ///   row of `0 ..< rows` is in exactly one.
    public init(explicit testRows: [[Int]], rows: Int) throws(TrainingError) {
        guard testRows.count >= 2 else {
            throw TrainingError(.invalidArgument, "explicit_folds needs ≥ 2 folds, got \(testRows.count)")
        }
        var seen = [Bool](repeating: false, count: rows)
        for (f, fold) in testRows.enumerated() {
            guard !fold.isEmpty else { throw TrainingError(.invalidArgument, "explicit_folds[\(f)] is empty") }
            for r in fold {
                guard r >= 0, r < rows else {
                    throw TrainingError(.invalidArgument, "explicit_folds[\(f)] names row \(r) of \(rows)")
                }
                guard !seen[r] else {
                    throw TrainingError(.invalidArgument, "explicit_folds: row \(r) is in more than one fold")
                }
                seen[r] = true
            }
        }
        if let missing = seen.firstIndex(of: false) {
            throw TrainingError(.invalidArgument, "explicit_folds: row \(missing) is in no fold")
        }
        self.init(testRows: testRows.map { $0.sorted() }, stratified: false, rows: rows)
    }

    private init(testRows: [[Int]], stratified: Bool, rows: Int) {
        self.testRows = testRows
        self.stratified = stratified
        self.rows = rows
    }

    /// StratifiedKFold's allocation: the classes sorted by first appearance, the sorted labels
    /// dealt round-robin to the folds; class k's rows (in order, or shuffled) then fill fold 0's
    /// share first, fold 1's next, and so on.
    private static func stratified(
        ids: [Int],
        names: [String],
        folds: Int,
        generator: inout SeededGenerator?
    ) throws(TrainingError) -> CrossValidationFolds {
        var firstSeen = [Int: Int]()
        for (row, id) in ids.enumerated() where firstSeen[id] == nil { firstSeen[id] = row }
        let classes = firstSeen.keys.sorted { firstSeen[$0]! < firstSeen[$1]! }
        let encoded = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var members = [[Int]](repeating: [], count: classes.count)
        for (row, id) in ids.enumerated() { members[encoded[id]!].append(row) }
        if let rarest = members.indices.min(by: { members[$0].count < members[$1].count }),
            members[rarest].count < folds
        {
            throw TrainingError(
                .invalidArgument,
                "folds \(folds) is more than the \(members[rarest].count) rows of the rarest class "
                    + "\"\(names[classes[rarest]])\""
            )
        }
        // y_order = sorted encoded labels; allocation[f][k] = count of k in y_order[f::folds].
        var allocation = [[Int]](repeating: [Int](repeating: 0, count: classes.count), count: folds)
        var position = 0
        for (k, rows) in members.enumerated() {
            for _ in rows {
                allocation[position % folds][k] += 1
                position += 1
            }
        }
        var testRows = [[Int]](repeating: [], count: folds)
        for (k, rows) in members.enumerated() {
            var foldOfRow = (0..<folds).flatMap { [Int](repeating: $0, count: allocation[$0][k]) }
            if generator != nil { foldOfRow.shuffle(using: &generator!) }
            for (row, fold) in zip(rows, foldOfRow) { testRows[fold].append(row) }
        }
        return CrossValidationFolds(testRows: testRows.map { $0.sorted() }, stratified: true, rows: ids.count)
    }
}
