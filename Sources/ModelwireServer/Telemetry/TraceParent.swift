/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header),
/// as a caller sends it in `CallMetadata.traceparent`: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
struct TraceParent: Sendable, Hashable {
    /// 32 lowercase hex digits, not all zero.
    let traceID: String
    /// The caller's span: 16 lowercase hex digits, not all zero.
    let parentSpanID: String
    /// The trace flags byte (bit 0: sampled).
    let flags: UInt8

    /// Parses `text`; nil when it is not a valid version-00 traceparent (the spec says to ignore
    /// it then). A higher version is read by its first four fields, as the spec asks.
    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            let version = UInt8(parts[0], radix: 16), version != 0xFF, version != 0 || parts.count == 4,
            parts[0...3].allSatisfy({ $0.utf8.allSatisfy(Self.isLowerHex) }),
            parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }),
            let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        self.traceID = String(parts[1])
        self.parentSpanID = String(parts[2])
        self.flags = flags
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }
}
