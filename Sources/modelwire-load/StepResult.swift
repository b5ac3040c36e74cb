import Histogram

/// One row of the report: a step's settings and what it measured, in the shape `--json` prints.
struct StepResult: Codable, Sendable {
    struct Latency: Codable, Sendable {
        var p50Ms, p90Ms, p99Ms, p999Ms, maxMs, meanMs: Double
    }

    /// Means (and queue percentiles) of the server's per-call timings, in microseconds.
    struct Server: Codable, Sendable {
        var calls: Int
        var queueMeanUs, queueP50Us, queueP99Us: Double
        var decodeMeanUs, computeMeanUs, encodeMeanUs: Double
        var batchRowsMean: Double
    }

    var mode: String  // "closed" or "open"
    var concurrency: Int?  // closed loop: calls in flight
    var rate: Double?  // open loop: offered calls per second
    var arrivals: String?  // open loop: constant or poisson
    var connections: Int
    var rows: Int
    var compression: Bool
    var seconds: Double
    var startUnixSeconds: Double  // the measured window's wall-clock start; it ends `seconds` later
    var calls: Int  // successful calls in the window
    var errors: [String: Int]  // failed calls by status code
    var errorsUnixSeconds: [Double]?  // when the first and the last of them failed
    var throughput: Double  // successful calls per second
    var latency: Latency
    var server: Server?
    var cpuSeconds: [String: Double]  // per process over the window
    var load: [Double]  // the machine's 1/5/15-minute load average before the step

    init(
        mode: String,
        concurrency: Int?,
        rate: Double?,
        arrivals: String?,
        connections: Int,
        rows: Int,
        compression: Bool,
        load: [Double],
        measurement m: StepMeasurement
    ) {
        self.mode = mode
        self.concurrency = concurrency
        self.rate = rate
        self.arrivals = arrivals
        self.connections = connections
        self.rows = rows
        self.compression = compression
        self.seconds = m.elapsedSeconds
        self.startUnixSeconds = m.startUnixSeconds
        self.calls = m.recorder.ok
        self.errors = m.recorder.errors
        self.errorsUnixSeconds = m.recorder.failureSpan.map {
            [MonotonicClock.unixSeconds(of: $0.lowerBound), MonotonicClock.unixSeconds(of: $0.upperBound)]
        }
        self.throughput = m.elapsedSeconds > 0 ? Double(m.recorder.ok) / m.elapsedSeconds : 0
        let h = m.recorder.latency
        func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }
        self.latency =
            h.totalCount == 0
            ? Latency(p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0)
            : Latency(
                p50Ms: ms(h.valueAtPercentile(50)),
                p90Ms: ms(h.valueAtPercentile(90)),
                p99Ms: ms(h.valueAtPercentile(99)),
                p999Ms: ms(h.valueAtPercentile(99.9)),
                maxMs: ms(h.max),
                meanMs: h.mean / 1e6
            )
        let s = m.recorder.server
        if s.calls > 0 {
            let n = Double(s.calls)
            self.server = Server(
                calls: s.calls,
                queueMeanUs: s.queue.histogram.mean,
                queueP50Us: Double(s.queue.histogram.valueAtPercentile(50)),
                queueP99Us: Double(s.queue.histogram.valueAtPercentile(99)),
                decodeMeanUs: Double(s.decodeMicroseconds) / n,
                computeMeanUs: Double(s.computeMicroseconds) / n,
                encodeMeanUs: Double(s.encodeMicroseconds) / n,
                batchRowsMean: Double(s.batchRows) / n
            )
        }
        self.cpuSeconds = m.cpuSeconds
        self.load = load
    }
}
