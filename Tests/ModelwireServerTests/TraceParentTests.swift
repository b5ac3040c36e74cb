import Testing

@testable import ModelwireServer

@Suite("W3C traceparent")
struct TraceParentTests {
    @Test("a valid traceparent gives its trace id, parent span id and flags")
    func valid() throws {
        let parsed = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(parsed.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parsed.parentSpanID == "00f067aa0ba902b7")
        #expect(parsed.flags == 1)
        // A later version may add fields after the four it shares with version 00.
        #expect(TraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra")?.flags == 0)
    }

    @Test(
        "anything else is ignored, as the spec says",
        arguments: [
            "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 has four fields
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  // misplaced dash
            "00-4bf92f3577b34da6a3ce929d0e0e47g-00f067aa0ba902b7-01",  // not hex
        ]
    )
    func invalid(_ text: String) {
        #expect(TraceParent(text) == nil)
    }
}
