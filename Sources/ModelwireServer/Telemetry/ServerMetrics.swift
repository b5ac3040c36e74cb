import CoreMetrics
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Synchronization

/// The server's metric handles (issue 13), made once per server from the injected factory and
/// never per call. `nil` wherever metrics are off (`--metrics off`): the hot path then pays one
/// nil check.
///
/// Counters and histograms are updated where things happen (a call ends, a batch is computed, a
/// socket reads); the gauges that describe state (models loaded, jobs by state, training
/// throughput) are set from the service when `/metrics` is scraped (`collect(from:)`).
final class ServerMetrics: Sendable {
    /// The handles of one binary method whose calls succeed (errors are made on first use).
    struct MethodHandles: Sendable {
        let name: String
        let ok: any CounterHandler
        let latency: any TimerHandler
    }

    private struct CallKey: Hashable {
        let method: String
        let status: Int32
    }

    private let factory: any MetricsFactory
    /// Indexed by the method's wire number less `firstMethod` (an array: no hashing per call).
    private let methods: [MethodHandles?]
    private static let firstMethod: UInt16 = 0x0101
    /// Failed calls by method and status, made on first use (under this lock; a rare path).
    private let failures = Mutex<[CallKey: CoreMetrics.Counter]>([:])
    private let handshakeFailureCounters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let httpCounters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let httpTimers: [String: CoreMetrics.Timer]

    // The handles updated per call are the backend's handlers themselves, made through the
    // factory: the `Counter`/`Timer` wrappers' generic entry points cost hundreds of instructions
    // a call unspecialised across the module boundary (measured with callgrind, docs/performance.md).
    let binaryBytesIn: any CounterHandler
    let binaryBytesOut: any CounterHandler
    let httpBytesIn: any CounterHandler
    let httpBytesOut: any CounterHandler
    let binaryConnections: any MeterHandler
    let httpConnections: any MeterHandler
    let inFlightCalls: any MeterHandler
    let predictQueueDepth: any MeterHandler
    let batchRows: any RecorderHandler
    let rowsPredicted: any CounterHandler
    let compressionRatio: Recorder
    let modelsLoaded: Gauge
    let versionsLoaded: Gauge
    let jobsByState: [Int32: Gauge]
    let trainingSamplesPerSecond: Gauge

    /// The HTTP routes whose latency is recorded (`http_route` label values).
    static let httpRoutes = [
        "health", "server_metadata", "model_metadata", "model_ready", "infer", "metrics", "console", "other",
    ]

    /// Makes every handle.
    /// - Parameter factory: Where the handles come from (the server's Prometheus registry, or a
    ///   test's `TestMetrics`).
    init(factory: any MetricsFactory) {
        self.factory = factory
        var methods: [MethodHandles?] = []
        for row in ServiceMethod.v1 {
            let name = row.descriptor.name
            let index = Int(row.descriptor.id - Self.firstMethod)
            while methods.count <= index { methods.append(nil) }
            methods[index] = MethodHandles(
                name: name,
                ok: factory.makeCounter(
                    label: "modelwire_calls_total",
                    dimensions: [("method", name), ("status", "ok")]
                ),
                latency: factory.makeTimer(label: "modelwire_call_duration_seconds", dimensions: [("method", name)])
            )
        }
        self.methods = methods
        var timers: [String: CoreMetrics.Timer] = [:]
        for route in Self.httpRoutes {
            timers[route] = Timer(
                label: "modelwire_http_request_duration_seconds",
                dimensions: [("route", route)],
                factory: factory
            )
        }
        self.httpTimers = timers
        binaryBytesIn = factory.makeCounter(label: "modelwire_received_bytes_total", dimensions: [("port", "binary")])
        binaryBytesOut = factory.makeCounter(label: "modelwire_sent_bytes_total", dimensions: [("port", "binary")])
        httpBytesIn = factory.makeCounter(label: "modelwire_received_bytes_total", dimensions: [("port", "http")])
        httpBytesOut = factory.makeCounter(label: "modelwire_sent_bytes_total", dimensions: [("port", "http")])
        binaryConnections = factory.makeMeter(label: "modelwire_open_connections", dimensions: [("port", "binary")])
        httpConnections = factory.makeMeter(label: "modelwire_open_connections", dimensions: [("port", "http")])
        inFlightCalls = factory.makeMeter(label: "modelwire_in_flight_calls", dimensions: [])
        predictQueueDepth = factory.makeMeter(label: "modelwire_predict_queue_depth", dimensions: [])
        batchRows = factory.makeRecorder(label: "modelwire_predict_batch_rows", dimensions: [], aggregate: true)
        rowsPredicted = factory.makeCounter(label: "modelwire_predicted_rows_total", dimensions: [])
        compressionRatio = Recorder(label: "modelwire_compression_ratio", aggregate: true, factory: factory)
        modelsLoaded = Gauge(label: "modelwire_models_loaded", factory: factory)
        versionsLoaded = Gauge(label: "modelwire_model_versions_loaded", factory: factory)
        var jobs: [Int32: Gauge] = [:]
        for state in V1.JobState.allKnown {
            jobs[state.rawValue] = Gauge(
                label: "modelwire_jobs",
                dimensions: [("state", Self.snakeCase(state.description))],
                factory: factory
            )
        }
        jobsByState = jobs
        trainingSamplesPerSecond = Gauge(label: "modelwire_training_samples_per_second", factory: factory)
    }

    /// Bytes of binary frames read.
    func received(binaryBytes: Int) { binaryBytesIn.increment(by: Int64(binaryBytes)) }

    /// Bytes of binary frames written.
    func sent(binaryBytes: Int) { binaryBytesOut.increment(by: Int64(binaryBytes)) }

    /// A binary connection opened or closed.
    func binaryConnection(opened: Bool) {
        if opened { binaryConnections.increment(by: 1) } else { binaryConnections.decrement(by: 1) }
    }

    /// A call opened (in flight until `callFinished`).
    func callOpened() { inFlightCalls.increment(by: 1) }

    /// A predict batch of `rows` rows was computed.
    func predicted(batchRows rows: Int) {
        batchRows.record(Int64(rows))
        rowsPredicted.increment(by: Int64(rows))
    }

    /// Calls entered (positive) or left (negative) a predict queue.
    func queueChanged(by calls: Int) {
        if calls > 0 {
            predictQueueDepth.increment(by: Double(calls))
        } else {
            predictQueueDepth.decrement(by: Double(-calls))
        }
    }

    /// A compressed frame arrived: its message's size over the bytes that carried it.
    func compressed(_ message: some ProtobufMessage, sentBytes: Int) {
        guard sentBytes > 0, let plain = try? message.withSerialization({ size, _ in size }) else { return }
        compressionRatio.record(Double(plain) / Double(sentBytes))
    }

    /// A frame was written into `frame` (at its reader index): when zlib compressed it, records
    /// the ratio (the plain size is computed again only then: compressed frames are the large,
    /// rare ones, whose deflate costs far more).
    func sent(_ message: some ProtobufMessage, frame: ByteBuffer) {
        let start = frame.readerIndex
        guard
            let flags = frame.getInteger(at: start + Frame.HeaderOffset.flags, as: UInt8.self),
            Frame.Flags(rawValue: flags).contains(.compressed),
            let length = frame.getInteger(at: start + Frame.HeaderOffset.payloadLength, as: UInt32.self), length > 0,
            let plain = try? message.withSerialization({ size, _ in size })
        else { return }
        compressionRatio.record(Double(plain) / Double(length))
    }

    /// The handles of a method (nil for a number the table does not have).
    func method(_ number: UInt16) -> MethodHandles? {
        let index = Int(number) - Int(Self.firstMethod)
        return index >= 0 && index < methods.count ? methods[index] : nil
    }

    /// Records the end of a binary call: its status and its server time.
    func callFinished(method number: UInt16, status: V1.StatusCode, started: NIODeadline) {
        inFlightCalls.decrement(by: 1)
        guard let handles = method(number) else { return }
        handles.latency.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
        if status == .ok {
            handles.ok.increment(by: 1)
        } else {
            failureCounter(method: handles.name, status: status).increment()
        }
    }

    /// A call refused before it opened (permission, too many calls): counted, no latency.
    func failedBeforeOpening(method number: UInt16, status: V1.StatusCode) {
        let name = method(number)?.name ?? "unknown"
        failureCounter(method: name, status: status).increment()
    }

    private func failureCounter(method: String, status: V1.StatusCode) -> CoreMetrics.Counter {
        let key = CallKey(method: method, status: status.rawValue)
        let factory = self.factory
        return failures.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "modelwire_calls_total",
                dimensions: [("method", method), ("status", Self.snakeCase(status.description))],
                factory: factory
            )
            counters[key] = counter
            return counter
        }
    }

    /// A handshake that failed, by reason (`bad_hello`, `unauthenticated`, `timeout`, ...).
    func handshakeFailed(reason: String) {
        let factory = self.factory
        handshakeFailureCounters.withLock { counters in
            if let counter = counters[reason] { return counter }
            let counter = Counter(
                label: "modelwire_handshake_failures_total",
                dimensions: [("reason", reason)],
                factory: factory
            )
            counters[reason] = counter
            return counter
        }.increment()
    }

    /// An HTTP request answered: by route and status code, and its time.
    func httpRequestFinished(route: String, status: Int, started: NIODeadline) {
        httpTimers[route]?.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
        let key = "\(route) \(status)"
        let factory = self.factory
        httpCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "modelwire_http_requests_total",
                dimensions: [("route", route), ("code", "\(status)")],
                factory: factory
            )
            counters[key] = counter
            return counter
        }.increment()
    }

    /// Sets the gauges that describe the service's state (at scrape time).
    func collect(from service: ModelService) {
        let models = service.repository.list()
        modelsLoaded.record(models.count)
        versionsLoaded.record(service.repository.versionCount)
        var counts: [Int32: Int] = [:]
        var samplesPerSecond: Double = 0
        for job in service.jobs.list() {
            counts[job.state.rawValue, default: 0] += 1
            if job.state == .running, let progress = job.lastProgress {
                samplesPerSecond += Double(progress.samplesPerSecond)
            }
        }
        for (state, gauge) in jobsByState { gauge.record(counts[state, default: 0]) }
        trainingSamplesPerSecond.record(samplesPerSecond)
    }

    /// `invalidArgument` -> `invalid_argument`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out.append("_")
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// Counts a connection's bytes each way and keeps the open-connections gauge, at the head of
/// the pipeline (it sees the socket's bytes, before any decoder).
final class ByteCountingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let bytesIn: any CounterHandler
    private let bytesOut: any CounterHandler
    private let connections: any MeterHandler

    init(bytesIn: any CounterHandler, bytesOut: any CounterHandler, connections: any MeterHandler) {
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connections.increment(by: 1)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connections.decrement(by: 1)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytesIn.increment(by: Int64(unwrapInboundIn(data).readableBytes))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        bytesOut.increment(by: Int64(unwrapOutboundIn(data).readableBytes))
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ByteCountingHandler: Sendable {}
