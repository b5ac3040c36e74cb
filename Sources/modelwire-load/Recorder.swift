import Histogram
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol

/// What one worker saw: client latencies in an HDR histogram (nanoseconds), errors by status
/// code, and the server's per-call timings. Each worker owns one; they are merged at the end,
/// so the measured loop takes no lock.
struct Recorder: Sendable {
    /// Client-side latency of successful calls, in nanoseconds.
    var latency = Recorder.makeHistogram()
    /// Successful calls.
    var ok = 0
    /// Failed calls by status name ("deadlineExceeded", "unavailable", ...).
    var errors: [String: Int] = [:]
    /// When the first and the last failure were recorded (MonotonicClock), nil without one.
    var failureSpan: ClosedRange<UInt64>?
    /// Server timings (µs) of successful calls that carried them.
    var server = ServerTimings()

    static func makeHistogram() -> Histogram<UInt64> {
        // 1 ns .. 10 min, three significant digits.
        Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 600_000_000_000,
            numberOfSignificantValueDigits: .three
        )
    }

    mutating func recordSuccess(nanoseconds: UInt64, response: V1.PredictResponse) {
        self.ok += 1
        _ = self.latency.record(max(1, nanoseconds))
        if let timings = response.timings { self.server.record(timings) }
    }

    mutating func record(_ outcome: Result<V1.PredictResponse, any Error>, nanoseconds: UInt64) {
        switch outcome {
        case .success(let response): self.recordSuccess(nanoseconds: nanoseconds, response: response)
        case .failure(let error): self.recordFailure(error)
        }
    }

    mutating func recordFailure(_ error: any Error) {
        let key: String
        if let error = error as? ModelwireError {
            key = error.code.description
        } else {
            key = "client(\(type(of: error)))"
        }
        self.errors[key, default: 0] += 1
        let now = MonotonicClock.now()
        self.failureSpan = self.failureSpan.map { min($0.lowerBound, now)...max($0.upperBound, now) } ?? now...now
    }

    mutating func merge(_ other: Recorder) {
        self.latency.add(other.latency)
        self.ok += other.ok
        self.errors.merge(other.errors, uniquingKeysWith: +)
        if let span = other.failureSpan {
            self.failureSpan =
                self.failureSpan.map { min($0.lowerBound, span.lowerBound)...max($0.upperBound, span.upperBound) }
                ?? span
        }
        self.server.merge(other.server)
    }

    var errorCount: Int { self.errors.values.reduce(0, +) }
}

/// Sums of the server's PredictResponse.timings, for means beside the client's view.
struct ServerTimings: Sendable {
    var calls = 0
    var queue = Recorder.ServerHistogram()
    var decodeMicroseconds: UInt64 = 0
    var computeMicroseconds: UInt64 = 0
    var encodeMicroseconds: UInt64 = 0
    var batchRows: UInt64 = 0

    mutating func record(_ t: V1.CallTimings) {
        self.calls += 1
        self.queue.record(UInt64(t.queueUs))
        self.decodeMicroseconds += UInt64(t.decodeUs)
        self.computeMicroseconds += UInt64(t.computeUs)
        self.encodeMicroseconds += UInt64(t.encodeUs)
        self.batchRows += UInt64(t.batchRows)
    }

    mutating func merge(_ other: ServerTimings) {
        self.calls += other.calls
        self.queue.merge(other.queue)
        self.decodeMicroseconds += other.decodeMicroseconds
        self.computeMicroseconds += other.computeMicroseconds
        self.encodeMicroseconds += other.encodeMicroseconds
        self.batchRows += other.batchRows
    }
}

extension Recorder {
    /// A histogram of microsecond values (server queue times).
    struct ServerHistogram: Sendable {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 600_000_000,
            numberOfSignificantValueDigits: .three
        )
        mutating func record(_ value: UInt64) { _ = self.histogram.record(value) }
        mutating func merge(_ other: ServerHistogram) { self.histogram.add(other.histogram) }
    }
}
