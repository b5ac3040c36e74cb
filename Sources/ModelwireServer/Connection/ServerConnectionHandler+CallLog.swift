import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Tracing

/// What an open call's log line will say, gathered as the call goes.
struct CallRecord {
    var id: UInt32
    var method: UInt16
    var started: NIODeadline
    var model: String?
    var trace: TraceParent?
    /// The server's span of a call whose caller sent a trace context.
    var span: (any Span)?
}

/// The open calls' records of one connection, in no order. A few calls are open at a time, so a
/// linear search costs less than hashing; each operation is one mutating call, so the handler
/// pays one exclusivity check for it.
struct CallRecords {
    private var records: [CallRecord] = []

    var openIDs: [UInt32] { records.map(\.id) }

    mutating func open(_ id: UInt32, method: UInt16) {
        records.append(CallRecord(id: id, method: method, started: .now()))
    }

    mutating func note(_ id: UInt32, model: String?, trace: TraceParent?, span: (any Span)?) {
        guard let index = records.lastIndex(where: { $0.id == id }) else { return }
        records[index].model = model
        records[index].trace = trace
        records[index].span = span
    }

    /// Call `id`'s record.
    func record(_ id: UInt32) -> CallRecord? {
        records.last(where: { $0.id == id })
    }

    /// Removes call `id`'s record and returns it.
    mutating func close(_ id: UInt32) -> CallRecord? {
        guard let index = records.firstIndex(where: { $0.id == id }) else { return nil }
        records.swapAt(index, records.count - 1)
        return records.removeLast()
    }
}

/// What the handler does as each call opens and ends: the call metrics (`ServerMetrics`), and one
/// log line per call (issue 13 item 2), at debug for every call and at info for a failed one,
/// with its method, model, status, duration, call id, peer and, when the caller sent a W3C
/// `traceparent` in `CallMetadata`, its trace id. Never a token or a body.
extension ServerConnectionHandler {
    func callOpened(_ id: UInt32, _ method: UInt16) {
        service.metrics?.callOpened()
        callRecords.open(id, method: method)
    }

    /// Notes what the decoded request of call `id` says about the model and the trace.
    func callDecoded(_ id: UInt32, _ request: some CallMetadataCarrier) {
        guard notesRequests else { return }
        let model = request.modelName
        let trace = request.metadata.flatMap { TraceParent($0.traceparent) }
        guard model != nil || trace != nil else { return }
        let span = trace == nil ? nil : request.metadata.flatMap { startSpan(id, $0) }
        callRecords.note(id, model: model, trace: trace, span: span)
    }

    /// A server span continuing the caller's trace (`metadata`'s W3C context, extracted by the
    /// instrument bootstrapped in this process: a no-op without one).
    private func startSpan(_ id: UInt32, _ metadata: V1.CallMetadata) -> (any Span)? {
        guard let record = callRecords.record(id) else { return nil }
        var carrier = ["traceparent": metadata.traceparent]
        if !metadata.tracestate.isEmpty { carrier["tracestate"] = metadata.tracestate }
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(carrier, into: &context, using: TraceContextExtractor())
        let name = Self.methodName(record.method)
        let span = Tracing.startSpan("modelwire.v1/\(name)", context: context, ofKind: .server)
        span.attributes["rpc.system"] = "modelwire"
        span.attributes["rpc.method"] = name
        span.attributes["modelwire.call_id"] = Int(id)
        return span
    }

    /// Logs call `id`'s line, at debug when it succeeded and at info when it did not.
    func callEnded(_ id: UInt32, _ status: V1.StatusCode, message: String? = nil) {
        guard let record = callRecords.close(id) else { return }
        service.metrics?.callFinished(method: record.method, status: status, started: record.started)
        if let span = record.span {
            span.attributes["rpc.modelwire.status"] = "\(status)"
            if status != .ok { span.setStatus(SpanStatus(code: .error, message: message)) }
            span.end()
        }
        guard status != .ok || logsEveryCall else { return }
        var metadata: Logger.Metadata = [
            "modelwire.method": "\(Self.methodName(record.method))",
            "modelwire.status": "\(status)",
            "modelwire.call_id": "\(id)",
            "modelwire.duration_us": "\((NIODeadline.now() - record.started).nanoseconds / 1000)",
        ]
        if let model = record.model { metadata["modelwire.model"] = "\(model)" }
        if let trace = record.trace {
            metadata["trace_id"] = "\(trace.traceID)"
            metadata["modelwire.parent_span_id"] = "\(trace.parentSpanID)"
        }
        if let message, status != .ok { metadata["modelwire.error"] = "\(message)" }
        if status == .ok {
            logger.debug("call", metadata: metadata)
        } else {
            logger.info("call failed", metadata: metadata)
        }
    }

    /// Logs a call the state machine refused before it opened (at info: it failed).
    func logRejected(_ id: UInt32, method: UInt16, _ error: ModelwireError) {
        logger.info(
            "call failed",
            metadata: [
                "modelwire.method": "\(Self.methodName(method))", "modelwire.status": "\(error.code)",
                "modelwire.call_id": "\(id)", "modelwire.error": "\(error.message)",
            ]
        )
    }

    private static func methodName(_ id: UInt16) -> String {
        MethodDescriptor.lookup(id)?.name ?? "0x" + String(id, radix: 16, uppercase: true)
    }
}

/// Reads a W3C trace context from the `traceparent` / `tracestate` pairs of a call's metadata.
struct TraceContextExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
