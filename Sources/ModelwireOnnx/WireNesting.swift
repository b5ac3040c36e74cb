/// The nesting depth of a protobuf message on the wire, found without knowing its schema:
/// every length-delimited field that parses as a message counts as one level deeper. This is
/// never less than the depth protobuf-c would recurse to (it only recurses into fields that
/// parse as messages), so a file that passes cannot exhaust its stack. Each byte is scanned at
/// most once per level, so the cost is bounded by `bytes × (limit + 1)`.
enum WireNesting {
    /// Whether `bytes` is a well-formed message nested at most `limit` levels deep.
    /// - Returns: `.message` if it is, `.notMessage` if it does not parse, `.tooDeep` if it is deeper.
    static func check(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Verdict {
        scan(bytes, start: 0, end: bytes.count, depth: 1, limit: limit)
    }

    /// What the scan found.
    enum Verdict: Equatable {
        case message
        case notMessage
        case tooDeep
    }

    private static func scan(_ b: UnsafeRawBufferPointer, start: Int, end: Int, depth: Int, limit: Int) -> Verdict {
        var i = start
        while i < end {
            guard let tag = varint(b, &i, end), tag >> 3 != 0 else { return .notMessage }
            switch tag & 7 {
            case 0: guard varint(b, &i, end) != nil else { return .notMessage }
            case 1:
                guard end - i >= 8 else { return .notMessage }
                i += 8
            case 5:
                guard end - i >= 4 else { return .notMessage }
                i += 4
            case 2:
                guard let length = varint(b, &i, end), length <= UInt64(end - i) else { return .notMessage }
                let childEnd = i + Int(length)
                // shallow (limit 0): only whether this level parses, children are not looked into.
                if length > 0, limit > 0 {
                    if depth >= limit {
                        // At the limit, a field whose bytes parse as a message (checked one level
                        // deep, not recursing) would be one level too deep.
                        if scan(b, start: i, end: childEnd, depth: depth + 1, limit: 0) == .message {
                            return .tooDeep
                        }
                    } else if scan(b, start: i, end: childEnd, depth: depth + 1, limit: limit) == .tooDeep {
                        return .tooDeep
                    }
                }
                i = childEnd
            default: return .notMessage  // groups (3, 4) and 6, 7: protobuf-c refuses them too
            }
        }
        return .message
    }

    private static func varint(_ b: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while i < end, shift < 64 {
            let byte = b[i]
            i += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
