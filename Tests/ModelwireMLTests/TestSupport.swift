import Foundation
import ModelwireData
import Testing

@testable import ModelwireML

/// The repository root, found from this file's path (Tests/ModelwireMLTests/TestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A bundled dataset split into its fixed train and test parts.
func bundled(_ name: String) throws -> (train: Dataset, test: Dataset) {
    let data = try Dataset(contentsOfCSV: repositoryRoot.appendingPathComponent("data/\(name).csv").path)
    let split = try DatasetSplit(
        contentsOfJSON: repositoryRoot.appendingPathComponent("data/\(name)_split.json").path,
        rows: data.rows
    )
    return (data.subset(split.train), data.subset(split.test))
}

/// Test accuracy of a trained classifier.
func accuracy(_ model: TrainedModel, on test: Dataset) throws -> Double {
    guard case .classification(let metrics) = try model.evaluate(test) else { return -1 }
    return metrics.accuracy
}

/// A random matrix with entries in [-1, 1).
func randomMatrix(rows: Int, columns: Int, generator: inout SeededGenerator) -> Matrix {
    Matrix(rows: rows, columns: columns, values: (0..<rows * columns).map { _ in generator.nextUnitFloat() * 2 - 1 })
}

/// |a − b| ≤ absolute + relative · max(|a|, |b|).
func isClose(_ a: Float, _ b: Float, relative: Float = 1e-4, absolute: Float = 1e-5) -> Bool {
    abs(a - b) <= absolute + relative * max(abs(a), abs(b))
}
