import CoreMetrics
import Prometheus
import Synchronization

/// The server's metrics factory: swift-prometheus for everything, except the histograms recorded
/// on every call (call latency, batch rows), which are `LockedHistogram`s rendered next to the
/// registry's text.
///
/// Why: swift-prometheus' `Histogram.record` takes a pthread lock and updates every bucket
/// (cumulative), comparing `Duration`s through non-inlined calls; with the other metrics that
/// made `--metrics prometheus` cost +4% instructions per rows-1 predict (callgrind,
/// docs/performance.md), over the issue's +3% gate. A `LockedHistogram` finds one bucket and
/// bumps it under a `Mutex` (an uncontended atomic), and accumulates only when scraped.
final class ServerMetricsFactory: MetricsFactory, Sendable {
    let prometheus: PrometheusMetricsFactory
    /// The labels made as `LockedHistogram`s, with their bucket bounds.
    private let durationBuckets: [String: [Duration]]
    private let valueBuckets: [String: [Double]]
    private let histograms = Mutex<[LockedHistogram]>([])

    init(prometheus: PrometheusMetricsFactory, durationBuckets: [String: [Duration]], valueBuckets: [String: [Double]])
    {
        self.prometheus = prometheus
        self.durationBuckets = durationBuckets
        self.valueBuckets = valueBuckets
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        prometheus.makeCounter(label: label, dimensions: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate, let buckets = valueBuckets[label] else {
            return prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        return register(LockedHistogram(name: label, labels: dimensions, bounds: buckets, scale: 1))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        prometheus.makeMeter(label: label, dimensions: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard let buckets = durationBuckets[label] else {
            return prometheus.makeTimer(label: label, dimensions: dimensions)
        }
        let nanoseconds = buckets.map { Double($0.components.seconds) * 1e9 + Double($0.components.attoseconds) / 1e9 }
        return register(LockedHistogram(name: label, labels: dimensions, bounds: nanoseconds, scale: 1e-9))
    }

    func destroyCounter(_ handler: any CounterHandler) { prometheus.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        prometheus.destroyFloatingPointCounter(handler)
    }
    func destroyRecorder(_ handler: any RecorderHandler) {
        if !(handler is LockedHistogram) { prometheus.destroyRecorder(handler) }
    }
    func destroyMeter(_ handler: any MeterHandler) { prometheus.destroyMeter(handler) }
    func destroyTimer(_ handler: any TimerHandler) {
        if !(handler is LockedHistogram) { prometheus.destroyTimer(handler) }
    }

    private func register(_ histogram: LockedHistogram) -> LockedHistogram {
        histograms.withLock { $0.append(histogram) }
        return histogram
    }

    /// The Prometheus text of every metric: the registry's, then the `LockedHistogram`s'.
    func emit() -> [UInt8] {
        var buffer = prometheus.registry.emitToBuffer()
        let all = histograms.withLock { $0 }
        var typed: Set<String> = []
        for histogram in all.sorted(by: { $0.name < $1.name }) {
            if typed.insert(histogram.name).inserted {
                buffer.append(contentsOf: "# TYPE \(histogram.name) histogram\n".utf8)
            }
            histogram.emit(into: &buffer)
        }
        return buffer
    }
}

/// A Prometheus histogram with fixed upper bounds, recorded in O(buckets) compares of `Double`
/// and one uncontended lock, and made cumulative only when emitted.
final class LockedHistogram: TimerHandler, RecorderHandler, Sendable {
    private struct State {
        var counts: [Int]
        var sum: Double = 0
        var count = 0
    }

    let name: String
    private let labelText: String
    private let bounds: [Double]
    /// Emitted `le` and `_sum` are the recorded values times `scale` (ns -> s for timers).
    private let scale: Double
    private let state: Mutex<State>

    init(name: String, labels: [(String, String)], bounds: [Double], scale: Double) {
        self.name = name
        self.labelText = labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
        self.bounds = bounds
        self.scale = scale
        self.state = Mutex(State(counts: [Int](repeating: 0, count: bounds.count + 1)))
    }

    func recordNanoseconds(_ duration: Int64) { observe(Double(duration)) }
    func record(_ value: Int64) { observe(Double(value)) }
    func record(_ value: Double) { observe(value) }

    private func observe(_ value: Double) {
        var index = 0
        while index < bounds.count, bounds[index] < value { index += 1 }
        state.withLock { state in
            state.counts[index] += 1
            state.sum += value
            state.count += 1
        }
    }

    func emit(into buffer: inout [UInt8]) {
        let snapshot = state.withLock { $0 }
        let prefix = labelText.isEmpty ? "" : labelText + ","
        let braces = labelText.isEmpty ? "" : "{\(labelText)}"
        var cumulative = 0
        for (index, bound) in bounds.enumerated() {
            cumulative += snapshot.counts[index]
            buffer.append(contentsOf: "\(name)_bucket{\(prefix)le=\"\(bound * scale)\"} \(cumulative)\n".utf8)
        }
        buffer.append(contentsOf: "\(name)_bucket{\(prefix)le=\"+Inf\"} \(snapshot.count)\n".utf8)
        buffer.append(contentsOf: "\(name)_sum\(braces) \(snapshot.sum * scale)\n".utf8)
        buffer.append(contentsOf: "\(name)_count\(braces) \(snapshot.count)\n".utf8)
    }
}
