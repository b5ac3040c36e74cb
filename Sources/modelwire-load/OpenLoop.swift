import ModelwireClient
import ModelwireCodec
import ModelwireData
import Synchronization

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Open loop: calls start at a fixed rate (evenly spaced, or Poisson arrivals) whatever the
/// server's answers, each in its own task. A call's latency runs from its *intended* send time,
/// so a stalled server or a late sender shows up in the percentiles instead of silently lowering
/// the offered load (no coordinated omission).
enum OpenLoop {
    enum Arrivals: String, Sendable, CaseIterable {
        case constant, poisson
    }

    static func run(
        client: ModelwireClient,
        workload: Workload,
        rate: Double,
        arrivals: Arrivals,
        seed: UInt64,
        plan: StepPlan,
        cpu: ProcessCPU
    ) async -> StepMeasurement {
        let shared = SharedRecorder()
        let start = MonotonicClock.now()
        let measuredStart = start + UInt64(plan.warmupSeconds * 1e9)
        let measuredCalls: Int? = if case .calls(let count) = plan.length { count } else { nil }
        let measuredEnd: UInt64 =
            switch plan.length {
            case .duration(let seconds): measuredStart + UInt64(seconds * 1e9)
            case .calls(let count): measuredStart + UInt64(Double(count) / rate * 1e9)
            }
        var rng = SeededGenerator(seed: seed)
        let meanGap = 1e9 / rate
        var cpuStart: [String: Double] = [:]
        var cpuEnd: [String: Double] = [:]

        await withDiscardingTaskGroup { group in
            var intended = Double(start)
            var index = 0
            var measuredIssued = 0
            var tookStartSnapshot = false
            while true {
                let due = UInt64(intended)
                if due >= measuredEnd { break }
                if let measuredCalls, due >= measuredStart, measuredIssued >= measuredCalls { break }
                if !tookStartSnapshot, due >= measuredStart {
                    await MonotonicClock.sleep(until: measuredStart)
                    cpuStart = cpu.snapshot()
                    tookStartSnapshot = true
                }
                // Issue every call that is due; sleep only when ahead of schedule.
                if MonotonicClock.now() < due { await MonotonicClock.sleep(until: due) }
                let measured = due >= measuredStart
                if measured { measuredIssued += 1 }
                let request = workload.request(index)
                index &+= 1
                group.addTask {
                    do {
                        let response = try await client.predict(request, options: plan.callOptions)
                        let done = MonotonicClock.now()
                        if measured {
                            shared.withLock { $0.recordSuccess(nanoseconds: done &- due, response: response) }
                        }
                    } catch {
                        if measured { shared.withLock { $0.recordFailure(error) } }
                    }
                }
                switch arrivals {
                case .constant: intended += meanGap
                case .poisson: intended += -meanGap * logUniform(&rng)
                }
            }
            await MonotonicClock.sleep(until: measuredEnd)
            cpuEnd = cpu.snapshot()
        }
        if !cpuStart.isEmpty { cpuEnd = cpuEnd.isEmpty ? cpu.snapshot() : cpuEnd }
        let elapsed = Double(measuredEnd - measuredStart) / 1e9
        return StepMeasurement(
            recorder: shared.withLock { $0 },
            elapsedSeconds: elapsed,
            startUnixSeconds: MonotonicClock.unixSeconds(of: measuredStart),
            cpuSeconds: ProcessCPU.difference(from: cpuStart, to: cpuEnd)
        )
    }

    /// log(U) for U uniform in (0, 1]: an exponential gap is −mean·log(U).
    private static func logUniform(_ rng: inout SeededGenerator) -> Double {
        let u = Double.random(in: Double.ulpOfOne...1, using: &rng)
        return log(u)
    }
}

/// The open loop's recorder, shared by every call task; a `Mutex` makes it safe.
final class SharedRecorder: Sendable {
    private let state = Mutex(Recorder())
    func withLock<R: Sendable>(_ body: (inout Recorder) -> R) -> R { self.state.withLock { body(&$0) } }
}
