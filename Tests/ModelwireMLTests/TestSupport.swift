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

/// Runs each test it is given to on threads of its own instead of Swift's cooperative pool.
///
/// These tests compute for seconds without suspending. `swift test` runs every target's tests in
/// one process, and on 2 cores the cooperative pool has 2 threads: left there, they would hold both
/// and stall the timers and continuations of other targets' timing-sensitive tests (a 100 ms
/// deadline once took 13.7 s to fire in CI).
struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(ComputeThreads.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// Runs the suite's tests on `ComputeThreads`, off the cooperative pool.
    static var ownThreads: Self { OwnThreads() }
}

/// A task executor of two threads, as many as this machine's cores, that runs jobs in order.
final class ComputeThreads: TaskExecutor, @unchecked Sendable {
    static let shared = ComputeThreads(threads: 2)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.run() }
            thread.name = "ml-tests-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.condition.lock()
        self.jobs.append(job)
        self.condition.signal()
        self.condition.unlock()
    }

    private func run() {
        while true {
            self.condition.lock()
            while self.jobs.isEmpty { self.condition.wait() }
            let job = self.jobs.removeFirst()
            self.condition.unlock()
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
