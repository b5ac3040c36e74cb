import CoreMetrics
import Dispatch
import ModelwireCodec
import ModelwireProtocol
import Synchronization

/// The client library's metrics (issue 13), through swift-metrics' global `MetricsSystem`: the
/// application decides the backend (and bootstraps it before the first client is made); without
/// one they cost a no-op call each. Handles are made once, on first use, never per call.
///
/// - `modelwire_client_calls_total{method,status}`: unary calls by their final outcome
/// - `modelwire_client_call_duration_seconds{method}`: a call's time, retries included
/// - `modelwire_client_retries_total{method}`: attempts after the first
/// - `modelwire_client_ejections_total`: endpoints ejected (connect failures, GOAWAY)
final class ClientMetrics: Sendable {
    static let shared = ClientMetrics()

    private struct MethodHandles: Sendable {
        let ok: CoreMetrics.Counter
        let latency: CoreMetrics.Timer
        let retries: CoreMetrics.Counter
    }

    private struct FailureKey: Hashable {
        let method: UInt16
        let status: Int32
    }

    private let methods: [UInt16: MethodHandles]
    private let names: [UInt16: String]
    private let failures = Mutex<[FailureKey: CoreMetrics.Counter]>([:])
    let ejections = CoreMetrics.Counter(label: "modelwire_client_ejections_total")

    private init() {
        var methods: [UInt16: MethodHandles] = [:]
        var names: [UInt16: String] = [:]
        for number in V1.Method.allKnown {
            let id = UInt16(truncatingIfNeeded: number.rawValue)
            guard let descriptor = MethodDescriptor.lookup(id) else { continue }
            names[id] = descriptor.name
            methods[id] = MethodHandles(
                ok: Counter(
                    label: "modelwire_client_calls_total",
                    dimensions: [("method", descriptor.name), ("status", "ok")]
                ),
                latency: Timer(
                    label: "modelwire_client_call_duration_seconds",
                    dimensions: [("method", descriptor.name)]
                ),
                retries: Counter(label: "modelwire_client_retries_total", dimensions: [("method", descriptor.name)])
            )
        }
        self.methods = methods
        self.names = names
    }

    /// A unary call ended (after its retries).
    /// - Parameter started: `DispatchTime.now().uptimeNanoseconds` when it started.
    func callFinished(_ method: UInt16, status: V1.StatusCode, started: UInt64) {
        guard let handles = methods[method] else { return }
        handles.latency.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- started))
        if status == .ok {
            handles.ok.increment()
            return
        }
        let key = FailureKey(method: method, status: status.rawValue)
        let name = names[method] ?? "unknown"
        failures.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "modelwire_client_calls_total",
                dimensions: [("method", name), ("status", Self.snakeCase("\(status)"))]
            )
            counters[key] = counter
            return counter
        }.increment()
    }

    /// `invalidArgument` -> `invalid_argument` (the server's label values).
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
        return out
    }

    /// A call is attempted again.
    func retried(_ method: UInt16) { methods[method]?.retries.increment() }

    /// An endpoint was ejected.
    func ejected() { ejections.increment() }
}
