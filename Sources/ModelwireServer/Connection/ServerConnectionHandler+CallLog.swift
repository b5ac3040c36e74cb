import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// One log line per call (issue 13 item 2): at debug for every call, at info for a failed one,
/// with its method, model, status, duration, call id, peer and, when the caller sent a W3C
/// `traceparent` in `CallMetadata`, its trace id. Never a token or a body.
extension ServerConnectionHandler {
    /// What an open call's log line will say, gathered as the call goes.
    struct CallRecord {
        var method: UInt16
        var started: NIODeadline
        var model: String?
        var trace: TraceParent?
    }

    func callOpened(_ id: UInt32, _ method: UInt16) {
        callRecords[id] = CallRecord(method: method, started: .now())
    }

    /// Notes what the decoded request of call `id` says about the model and the trace.
    func callDecoded(_ id: UInt32, _ request: some CallMetadataCarrier) {
        guard recordsCalls else { return }
        let model = request.modelName
        let trace = request.metadata.flatMap { TraceParent($0.traceparent) }
        guard model != nil || trace != nil else { return }
        callRecords[id]?.model = model
        callRecords[id]?.trace = trace
    }

    /// Logs call `id`'s line, at debug when it succeeded and at info when it did not.
    func callEnded(_ id: UInt32, _ status: V1.StatusCode, message: String? = nil) {
        guard let record = callRecords.removeValue(forKey: id) else { return }
        let level: Logger.Level = status == .ok ? .debug : .info
        guard logger.logLevel <= level else { return }
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
        logger.log(level: level, status == .ok ? "call" : "call failed", metadata: metadata)
    }

    /// Logs a call the state machine refused before it opened (at info: it failed).
    func logRejected(_ id: UInt32, method: UInt16, _ error: ModelwireError) {
        guard logger.logLevel <= .info else { return }
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
