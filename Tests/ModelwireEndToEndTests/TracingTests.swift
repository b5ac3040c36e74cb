import InMemoryTracing
import ModelwireClient
import ModelwireCodec
import ModelwireServer
import Testing
import Tracing

/// The server continues a caller's W3C trace (`CallMetadata.traceparent`) in a span of its own,
/// through swift-distributed-tracing's bootstrapped instrument (issue 13 item 2).
@Suite("Tracing")
struct TracingTests {
    /// An in-memory tracer that reads W3C `traceparent` as a production tracer (swift-otel) does;
    /// bootstrapped once for this test process (InstrumentationSystem allows one bootstrap).
    static let tracer: W3CInMemoryTracer = {
        let tracer = W3CInMemoryTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()

    @Test("a call with a traceparent gets a server span in the caller's trace, ended with the call's status")
    func serverSpans() async throws {
        let tracer = Self.tracer
        let traceID = "5b8efff798038103d269b633813fc60c"
        let traceparent = "00-\(traceID)-eee19b7ec3c1b174-01"
        try await TestServer.with { server in
            try await server.client { client in
                let options = ModelwireClient.CallOptions(metadata: V1.CallMetadata(traceparent: traceparent))
                _ = try await client.health(options: options)
                _ = try? await client.describeModel(V1.ModelRef(name: "missing"), options: options)
                _ = try await client.listModels()  // no trace context: no span
            }
        }
        let spans = tracer.inner.finishedSpans.filter { $0.traceID == traceID }
        let health = try #require(spans.first { $0.operationName == "modelwire.v1/Health" }, "\(spans)")
        #expect(health.kind == .server && health.parentSpanID == "eee19b7ec3c1b174")
        #expect(health.attributes["rpc.system"]?.toSpanAttribute() == "modelwire")
        #expect(health.attributes["rpc.modelwire.status"]?.toSpanAttribute() == "ok" && health.status == nil)
        let describe = try #require(spans.first { $0.operationName == "modelwire.v1/DescribeModel" })
        #expect(describe.status?.code == .error)
        #expect(!tracer.inner.finishedSpans.contains { $0.operationName == "modelwire.v1/ListModels" })
    }
}

/// `InMemoryTracer` with W3C extraction: a `traceparent` in the carrier becomes the parent span.
struct W3CInMemoryTracer: Tracer {
    let inner = InMemoryTracer()

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> InMemorySpan {
        inner.startSpan(
            operationName,
            context: context(),
            ofKind: kind,
            at: instant(),
            function: function,
            file: fileID,
            line: line
        )
    }

    func forceFlush() { inner.forceFlush() }

    func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext,
        into carrier: inout Carrier,
        using injector: Inject
    ) where Inject.Carrier == Carrier {
        inner.inject(context, into: &carrier, using: injector)
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier,
        into context: inout InstrumentationContext,
        using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let traceparent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = traceparent.split(separator: "-")
        guard parts.count == 4 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(parts[1]),
            spanID: String(parts[2]),
            parentSpanID: nil
        )
    }
}
