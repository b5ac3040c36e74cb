import ModelwireClient
import ModelwireCodec

/// Closed loop: `concurrency` workers, each with one call in flight, sending the next call as
/// soon as the previous one answers. Latency is each call's own round trip. Throughput is what
/// the system sustains at that many calls in flight.
enum ClosedLoop {
    static func run(client: ModelwireClient, workload: Workload, concurrency: Int, plan: StepPlan,
                    cpu: ProcessCPU) async -> StepMeasurement {
        let start = MonotonicClock.now()
        let measuredStart = start + UInt64(plan.warmupSeconds * 1e9)
        let measuredEnd: UInt64? = if case .duration(let seconds) = plan.length {
            measuredStart + UInt64(seconds * 1e9)
        } else { nil }
        let quotas: [Int] = if case .calls(let total) = plan.length {
            (0..<concurrency).map { total / concurrency + ($0 < total % concurrency ? 1 : 0) }
        } else { Array(repeating: Int.max, count: concurrency) }

        return await withTaskGroup(of: Recorder.self) { group in
            for worker in 0..<concurrency {
                let quota = quotas[worker]
                group.addTask {
                    await Self.worker(client: client, workload: workload, index: worker, quota: quota,
                                      measuredStart: measuredStart, measuredEnd: measuredEnd, options: plan.callOptions)
                }
            }
            await MonotonicClock.sleep(until: measuredStart)
            let cpuStart = cpu.snapshot()
            var cpuEnd: [String: Double]? = nil
            if let measuredEnd {
                await MonotonicClock.sleep(until: measuredEnd)
                cpuEnd = cpu.snapshot()
            }
            var total = Recorder()
            for await recorder in group { total.merge(recorder) }
            let finished = MonotonicClock.now()
            let end = cpuEnd ?? cpu.snapshot()
            let elapsed = Double((measuredEnd ?? finished) - measuredStart) / 1e9
            return StepMeasurement(recorder: total, elapsedSeconds: elapsed,
                                   cpuSeconds: ProcessCPU.difference(from: cpuStart, to: end))
        }
    }

    private static func worker(client: ModelwireClient, workload: Workload, index: Int, quota: Int,
                               measuredStart: UInt64, measuredEnd: UInt64?,
                               options: ModelwireClient.CallOptions) async -> Recorder {
        var recorder = Recorder()
        var call = index
        var measured = 0
        while measured < quota {
            let sent = MonotonicClock.now()
            if let measuredEnd, sent >= measuredEnd { break }
            let request = workload.request(call)
            call &+= 1
            do {
                let response = try await client.predict(request, options: options)
                let done = MonotonicClock.now()
                guard done >= measuredStart else { continue }  // warm-up
                if let measuredEnd, done > measuredEnd { break }  // straddles the end: not counted
                recorder.recordSuccess(nanoseconds: done - sent, response: response)
            } catch {
                let done = MonotonicClock.now()
                guard done >= measuredStart else { continue }
                if let measuredEnd, done > measuredEnd { break }
                recorder.recordFailure(error)
                if Task.isCancelled { break }
            }
            measured += 1
        }
        return recorder
    }
}
