import ModelwireClient
import ModelwireCodec
import NIOCore

/// Closed loop: `concurrency` workers, each with one call in flight, sending the next call as
/// soon as the previous one answers. Latency is each call's own round trip. Throughput is what
/// the system sustains at that many calls in flight.
enum ClosedLoop {
    /// How the workers call the client.
    enum Driver {
        /// Each worker is a Swift task awaiting the async `predict` (what an app gets by default:
        /// a hop to the connection's event loop and one back to the task per call).
        case tasks
        /// Each worker is a chain of `predictOnEventLoop` callbacks on `eventLoop`, the client's
        /// only event loop: calls start and complete on that thread, with no hop.
        case eventLoop(any EventLoop)
    }

    static func run(
        client: ModelwireClient,
        workload: Workload,
        concurrency: Int,
        plan: StepPlan,
        driver: Driver,
        cpu: ProcessCPU
    ) async -> StepMeasurement {
        let start = MonotonicClock.now()
        let window = Window(start: start + UInt64(plan.warmupSeconds * 1e9), plan: plan)
        let quotas: [Int] =
            if case .calls(let total) = plan.length {
                (0..<concurrency).map { total / concurrency + ($0 < total % concurrency ? 1 : 0) }
            } else { Array(repeating: Int.max, count: concurrency) }

        return await withTaskGroup(of: Recorder.self) { group in
            for (index, quota) in quotas.enumerated() {
                switch driver {
                case .tasks:
                    group.addTask {
                        await Self.worker(
                            client: client,
                            workload: workload,
                            first: index,
                            quota: quota,
                            window: window,
                            options: plan.callOptions
                        )
                    }
                case .eventLoop(let eventLoop):
                    let recorder = LoopWorker(
                        client: client,
                        workload: workload,
                        eventLoop: eventLoop,
                        first: index,
                        quota: quota,
                        window: window,
                        options: plan.callOptions
                    ).start()
                    group.addTask { (try? await recorder.get()) ?? Recorder() }  // a worker's future only ever succeeds
                }
            }
            await MonotonicClock.sleep(until: window.start)
            let cpuStart = cpu.snapshot()
            var cpuEnd: [String: Double]? = nil
            if let end = window.end {
                await MonotonicClock.sleep(until: end)
                cpuEnd = cpu.snapshot()
            }
            var total = Recorder()
            for await recorder in group { total.merge(recorder) }
            let finished = MonotonicClock.now()
            let end = cpuEnd ?? cpu.snapshot()
            let elapsed = Double((window.end ?? finished) - window.start) / 1e9
            return StepMeasurement(
                recorder: total,
                elapsedSeconds: elapsed,
                startUnixSeconds: MonotonicClock.unixSeconds(of: window.start),
                cpuSeconds: ProcessCPU.difference(from: cpuStart, to: end)
            )
        }
    }

    /// The measured window: calls that finish before `start` are warm-up, calls that finish
    /// after `end` are not counted and end their worker.
    struct Window: Sendable {
        let start: UInt64
        let end: UInt64?

        init(start: UInt64, plan: StepPlan) {
            self.start = start
            self.end = if case .duration(let seconds) = plan.length { start + UInt64(seconds * 1e9) } else { nil }
        }

        /// What to do with a call that finished at `done`.
        func classify(_ done: UInt64) -> Outcome {
            if done < self.start { return .warmUp }
            if let end, done > end { return .past }
            return .measured
        }

        enum Outcome { case warmUp, measured, past }
    }

    private static func worker(
        client: ModelwireClient,
        workload: Workload,
        first: Int,
        quota: Int,
        window: Window,
        options: ModelwireClient.CallOptions
    ) async -> Recorder {
        var recorder = Recorder()
        var call = first
        var measured = 0
        while measured < quota {
            let sent = MonotonicClock.now()
            if let end = window.end, sent >= end { break }
            let request = workload.request(call)
            call &+= 1
            let outcome: Result<V1.PredictResponse, any Error>
            do { outcome = .success(try await client.predict(request, options: options)) } catch {
                outcome = .failure(error)
            }
            let done = MonotonicClock.now()
            switch window.classify(done) {
            case .warmUp: continue
            case .past: return recorder
            case .measured: recorder.record(outcome, nanoseconds: done &- sent)
            }
            if case .failure = outcome, Task.isCancelled { break }
            measured += 1
        }
        return recorder
    }
}

/// One closed-loop worker as a chain of callbacks on the client's event loop: each response's
/// callback records it and starts the next call, on the same thread, without a task or a hop.
/// Its state is only touched by that chain, one callback at a time, on `eventLoop`.
private final class LoopWorker: @unchecked Sendable {
    private let client: ModelwireClient
    private let workload: Workload
    private let eventLoop: any EventLoop
    private let quota: Int
    private let window: ClosedLoop.Window
    private let options: ModelwireClient.CallOptions
    private let finished: EventLoopPromise<Recorder>
    private var recorder = Recorder()
    private var call: Int
    private var measured = 0
    /// Inside `predictOnEventLoop`: a call that completes at once (a local failure) must not
    /// start the next one recursively.
    private var starting = false

    init(
        client: ModelwireClient,
        workload: Workload,
        eventLoop: any EventLoop,
        first: Int,
        quota: Int,
        window: ClosedLoop.Window,
        options: ModelwireClient.CallOptions
    ) {
        self.client = client
        self.workload = workload
        self.eventLoop = eventLoop
        self.quota = quota
        self.window = window
        self.options = options
        self.call = first
        self.finished = eventLoop.makePromise(of: Recorder.self)
    }

    /// Starts the chain; the future is the worker's recorder once its window or quota is done.
    func start() -> EventLoopFuture<Recorder> {
        self.eventLoop.execute { self.next() }
        return self.finished.futureResult
    }

    private func next() {
        let sent = MonotonicClock.now()
        if self.measured >= self.quota || self.window.end.map({ sent >= $0 }) == true {
            self.finished.succeed(self.recorder)
            return
        }
        let request = self.workload.request(self.call)
        self.call &+= 1
        self.starting = true
        self.client.predictOnEventLoop(request, options: self.options).hop(to: self.eventLoop).whenComplete { outcome in
            let done = MonotonicClock.now()
            switch self.window.classify(done) {
            case .warmUp: break
            case .past:
                self.finished.succeed(self.recorder)
                return
            case .measured:
                self.recorder.record(outcome, nanoseconds: done &- sent)
                self.measured += 1
            }
            if self.starting {
                self.eventLoop.execute { self.next() }
            } else {
                self.next()
            }
        }
        self.starting = false
    }
}
