import Foundation

/// Which rows train and which rows test a model: 0-based row indices into a dataset.
public struct DatasetSplit: Sendable, Hashable {
    /// Training row indices.
    public var train: [Int]
    /// Test row indices.
    public var test: [Int]

    /// Creates a split from explicit indices.
    /// - Parameters:
    ///   - train: Training row indices.
    ///   - test: Test row indices.
    public init(train: [Int], test: [Int]) {
        self.train = train
        self.test = test
    }

    private struct File: Decodable {
        var train: [Int]
        var test: [Int]
    }

    /// Reads a split file: a JSON object with `train` and `test` arrays of 0-based row
    /// indices (other keys are ignored), as written for the bundled datasets.
    /// - Parameters:
    ///   - path: The JSON file's path.
    ///   - rows: The dataset's row count; every index must be below it.
    /// - Throws: `DatasetError` with `.unreadableFile` or `.invalidSplit`.
    public init(contentsOfJSON path: String, rows: Int) throws(DatasetError) {
        let bytes = try readFileBytes(path)
        let data = Data(bytes)
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw DatasetError(
                .invalidSplit,
                message: "\(path): expected {\"train\": [...], \"test\": [...]}: \(error)"
            )
        }
        for index in file.train + file.test where index < 0 || index >= rows {
            throw DatasetError(.invalidSplit, message: "\(path): row index \(index) is outside 0..<\(rows)")
        }
        self.init(train: file.train, test: file.test)
    }

    /// A seeded split that keeps each class's share in both parts (like scikit-learn's
    /// `stratify=y`, though not the same rows): for every class, `round(count * testFraction)`
    /// of its rows (at least one when the class has two or more) go to test.
    /// For regression targets the split is a plain seeded shuffle.
    /// - Parameters:
    ///   - dataset: The dataset to split.
    ///   - testFraction: The share of rows in the test part, in (0, 1).
    ///   - seed: The shuffle seed.
    /// - Returns: The split, each part sorted by row index.
    public static func stratified(_ dataset: Dataset, testFraction: Double, seed: UInt64) -> DatasetSplit {
        precondition(testFraction > 0 && testFraction < 1, "testFraction must be in (0, 1)")
        var generator = SeededGenerator(seed: seed)
        let groups: [[Int]]
        switch dataset.targets {
        case .classes(let names, let ids):
            var byClass = Array(repeating: [Int](), count: names.count)
            for (row, id) in ids.enumerated() { byClass[id].append(row) }
            groups = byClass
        case .values:
            groups = [Array(0..<dataset.rows)]
        }
        var train = [Int]()
        var test = [Int]()
        for group in groups {
            let shuffled = group.shuffled(using: &generator)
            var testCount = Int((Double(group.count) * testFraction).rounded())
            if group.count >= 2 { testCount = min(max(testCount, 1), group.count - 1) }
            test += shuffled.prefix(testCount)
            train += shuffled.dropFirst(testCount)
        }
        return DatasetSplit(train: train.sorted(), test: test.sorted())
    }
}
