import ArgumentParser
import BenchMessages
import BenchProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// The closed-loop load client of tools/bench for the gRPC peers (gRPC-Swift 2 and Python grpcio):
/// the same shape as `modelwire-load`: `--concurrency` workers, each with one call in flight,
/// over one HTTP/2 connection (gRPC's default: one subchannel, many streams), a warm-up, then a
/// measured window. Prints one JSON object: calls, throughput, latency percentiles (ms), errors,
/// and the CPU seconds of this process and of `--cpu-pid` over the window.
@main
struct GRPCBenchLoad: AsyncParsableCommand {
    @Option(help: "Server host:port.") var server: String
    @Option(help: "Rows per call.") var rows: Int = 1
    @Option(help: "Calls in flight.") var concurrency: Int = 1
    @Option(help: "Warm-up seconds.") var warmup: Double = 2
    @Option(help: "Measured seconds.") var duration: Double = 10
    @Option(help: "Also report this process's CPU over the window.") var cpuPid: Int32?

    func run() async throws {
        let parts = self.server.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--server host:port") }
        var rng = SystemRandomNumberGenerator()
        let requests = (0..<64).map { _ in
            Modelwire_V1_PredictRequest.with {
                $0.model = .with { $0.name = "reference" }
                $0.inputs = .with {
                    $0.columns = 100
                    $0.values = (0..<(self.rows * 100)).map { _ in Float.random(in: -2...2, using: &rng) }
                }
            }
        }
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: String(parts[0]), port: port),
            transportSecurity: .plaintext
        )
        let (rows, concurrency, warmup, duration, cpuPid) = (
            self.rows, self.concurrency, self.warmup, self.duration, self.cpuPid
        )
        _ = rows
        try await withGRPCClient(transport: transport) { client in
            let predictor = Modelwire_Bench_Predictor.Client(wrapping: client)
            _ = try await predictor.predict(requests[0])  // connect, and fail early
            let start = Self.now()
            let measuredStart = start + UInt64(warmup * 1e9)
            let measuredEnd = measuredStart + UInt64(duration * 1e9)
            let (samples, errors, cpu) = await withTaskGroup(of: ([UInt64], Int).self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var samples: [UInt64] = []
                        var errors = 0
                        var call = worker
                        while true {
                            let sent = Self.now()
                            if sent >= measuredEnd { break }
                            do {
                                _ = try await predictor.predict(requests[call % requests.count])
                                let done = Self.now()
                                if done >= measuredStart && done <= measuredEnd { samples.append(done - sent) }
                            } catch {
                                let done = Self.now()
                                if done >= measuredStart && done <= measuredEnd { errors += 1 }
                            }
                            call += 1
                        }
                        return (samples, errors)
                    }
                }
                try? await Task.sleep(nanoseconds: measuredStart - Self.now())
                let cpu0 = (Self.cpuSeconds(getpid()), cpuPid.map(Self.cpuSeconds))
                try? await Task.sleep(nanoseconds: measuredEnd > Self.now() ? measuredEnd - Self.now() : 0)
                let cpu1 = (Self.cpuSeconds(getpid()), cpuPid.map(Self.cpuSeconds))
                var all: [UInt64] = []
                var errors = 0
                for await (s, e) in group {
                    all += s
                    errors += e
                }
                return (all, errors, (cpu1.0 - cpu0.0, (cpu1.1 ?? 0) - (cpu0.1 ?? 0)))
            }
            let sorted = samples.sorted()
            func pct(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : Double(sorted[Int(p / 100 * Double(sorted.count - 1))]) / 1e6
            }
            print(
                String(
                    format: "{\"calls\": %d, \"errors\": %d, \"seconds\": %.3f, \"throughput\": %.1f, \"p50Ms\": %.4f, "
                        + "\"p90Ms\": %.4f, \"p99Ms\": %.4f, \"p999Ms\": %.4f, \"maxMs\": %.4f, \"cpuSelf\": %.2f, \"cpuOther\": %.2f}",
                    sorted.count,
                    errors,
                    duration,
                    Double(sorted.count) / duration,
                    pct(50),
                    pct(90),
                    pct(99),
                    pct(99.9),
                    Double(sorted.last ?? 0) / 1e6,
                    cpu.0,
                    cpu.1
                )
            )
        }
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// User + system CPU seconds of a process, from /proc/PID/stat (fields 14 and 15).
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
