import Foundation
import Testing

/// Runs each test it is given to on threads of its own instead of Swift's cooperative pool.
///
/// `swift test` runs every target's tests in one process, and on 2 cores the cooperative pool has
/// 2 threads. Tests that compute for seconds without suspending (the ML core's), or that block a
/// thread in `recv`, `waitUntilExit` or a pipe read (the end-to-end tests' raw sockets and
/// subprocesses), would hold them and stall the timers and continuations of every other test: a
/// 100 ms deadline once took 13.7 s to fire in CI.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    let executor: DedicatedThreads

    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(self.executor) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// Compute-bound tests: two threads, as many as this machine's cores.
    public static var ownThreads: Self { OwnThreads(executor: .compute) }
    /// Tests that block a thread waiting (sockets, subprocesses): more threads, mostly asleep.
    public static var blockingThreads: Self { OwnThreads(executor: .blocking) }
}

/// A task executor of a fixed set of threads that runs jobs in order.
public final class DedicatedThreads: TaskExecutor, @unchecked Sendable {
    static let compute = DedicatedThreads(name: "compute-tests", threads: 2)
    static let blocking = DedicatedThreads(name: "blocking-tests", threads: 8)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(name: String, threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.run() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
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
