internal import CModelwireProtobuf
internal import CProtobufC
import Glibc

/// A bump allocator that owns every C allocation of one encode or decode and frees them at once.
///
/// Decoding hands it to protobuf-c as a `ProtobufCAllocator`, so unpacking a small message
/// costs no `malloc` at all; encoding builds the C structs in it. The first block lives on the
/// stack (`withCodecArena`); larger needs spill into `malloc`ed blocks chained through their
/// first word and freed when the arena's scope ends.
///
/// - Important: Only valid inside the `withCodecArena` closure that created it; never store it.
struct CodecArena {
    fileprivate let state: UnsafeMutablePointer<State>

    fileprivate struct State {
        var cursor: UnsafeMutableRawPointer
        var end: UnsafeMutableRawPointer
        /// Head of the chain of spilled blocks; each starts with the pointer to the next.
        var spilled: UnsafeMutableRawPointer?
    }

    /// Alignment of every allocation: enough for any C scalar or pointer.
    static let alignment = 16
    /// Bytes kept on the stack before the arena spills to malloc. At most 1 KiB: above that,
    /// `withUnsafeTemporaryAllocation` asks the runtime whether the stack has room (pthread_getattr_np,
    /// which mallocs) or falls back to the heap. A one-row Predict request or response fits.
    static let inlineBytes = 1024
    /// Size of a spilled block that later small allocations share.
    static let spillBytes = 16384

    /// Returns `size` bytes of uninitialised memory aligned to `alignment`, valid until the arena ends.
    @inline(__always)
    func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let rounded = (max(size, 1) + Self.alignment - 1) & ~(Self.alignment - 1)
        if self.state.pointee.end - self.state.pointee.cursor >= rounded {
            let p = self.state.pointee.cursor
            self.state.pointee.cursor += rounded
            return p
        }
        return self.spill(rounded)
    }

    /// A new malloc block: shared (becomes the bump region) for small sizes, dedicated for large ones.
    private func spill(_ rounded: Int) -> UnsafeMutableRawPointer {
        let shared = rounded <= Self.spillBytes / 4
        let bytes = shared ? Self.spillBytes : rounded
        guard let block = malloc(bytes + Self.alignment) else { fatalError("out of memory (\(bytes) bytes)") }
        block.storeBytes(of: self.state.pointee.spilled, as: UnsafeMutableRawPointer?.self)
        self.state.pointee.spilled = block
        let p = block + Self.alignment
        if shared {
            self.state.pointee.cursor = p + rounded
            self.state.pointee.end = p + bytes
        }
        return p
    }

    /// A protobuf-c allocator drawing from this arena. Its `free` does nothing: the arena frees all at once.
    var protobufAllocator: ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in CodecArena(state: data!.assumingMemoryBound(to: State.self)).allocate(size) },
            free: { _, _ in },
            allocator_data: UnsafeMutableRawPointer(self.state)
        )
    }

    /// A NUL-terminated copy of `string`.
    /// - Throws: `CodecError.embeddedNUL` if the string contains U+0000.
    @inline(__always)
    func string(_ string: String, field: String) throws(CodecError) -> UnsafeMutablePointer<CChar> {
        // Native strings (all of them on Linux) lend their UTF-8 without a copy or a retain.
        let copy =
            string.utf8.withContiguousStorageIfAvailable { self.cString($0) }
            ?? {
                var string = string
                return string.withUTF8 { self.cString($0) }
            }()
        guard let copy else { throw .embeddedNUL(field: field) }
        return copy
    }

    /// Copies `utf8` and a NUL terminator into the arena; nil if `utf8` holds a NUL byte.
    private func cString(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<CChar>? {
        let count = utf8.count
        let p = self.allocate(count + 1).assumingMemoryBound(to: UInt8.self)
        if count <= 32 {  // short strings (names, labels): one pass, no memchr/memcpy calls
            var least: UInt8 = 0xFF
            for i in 0..<count {
                least = min(least, utf8[i])
                p[i] = utf8[i]
            }
            if least == 0 { return nil }
        } else {
            if memchr(utf8.baseAddress!, 0, count) != nil { return nil }
            p.update(from: utf8.baseAddress!, count: count)
        }
        p[count] = 0
        return UnsafeMutableRawPointer(p).assumingMemoryBound(to: CChar.self)
    }

    /// A bulk copy of `array` (nil when empty, as protobuf-c expects for a zero count).
    func array<T: BitwiseCopyable>(_ array: [T]) -> UnsafeMutablePointer<T>? {
        guard !array.isEmpty else { return nil }
        let bytes = MemoryLayout<T>.stride * array.count
        let p = self.allocate(bytes)
        array.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        return p.bindMemory(to: T.self, capacity: array.count)
    }

    /// C strings for a repeated string field.
    func strings(
        _ strings: [String],
        field: String
    ) throws(CodecError) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let p = self.allocate(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * strings.count)
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: strings.count)
        try strings.withUnsafeBufferPointer { (strings) throws(CodecError) in
            for i in strings.indices { (p + i).initialize(to: try self.string(strings[i], field: field)) }
        }
        return p
    }

    /// A `bytes` field pointing at a copy of `bytes`.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: self.array(bytes))
    }

    /// The C struct of a nested message, filled from `message`.
    func message<M: CMessageConvertible>(_ message: M) throws(CodecError) -> UnsafeMutablePointer<M.CStruct> {
        let p = self.cStruct(M.self)
        try message.fill(&p.pointee, self)
        return p
    }

    /// Room for the C struct of `M`; the message's `fill` initialises it (its first step is `*_init`).
    @inline(__always)
    func cStruct<M: CMessageConvertible>(_ type: M.Type) -> UnsafeMutablePointer<M.CStruct> {
        self.allocate(MemoryLayout<M.CStruct>.stride).bindMemory(to: M.CStruct.self, capacity: 1)
    }

    /// A singular nested message filled with borrowed arrays (`fill(_:_:then:)`) while `body` runs;
    /// `slot` stays nil when `message` is nil.
    @inline(__always)
    func withMessage<M: CMessageConvertible>(
        _ message: M?,
        _ slot: UnsafeMutablePointer<UnsafeMutablePointer<M.CStruct>?>,
        _ body: () throws(CodecError) -> Void
    ) throws(CodecError) {
        guard let message else { return try body() }
        let p = self.cStruct(M.self)
        slot.pointee = p
        try message.fill(p, self, then: body)
    }

    /// The array of C struct pointers of a repeated message field.
    func messages<M: CMessageConvertible>(
        _ messages: [M]
    ) throws(CodecError) -> UnsafeMutablePointer<UnsafeMutablePointer<M.CStruct>?>? {
        guard !messages.isEmpty else { return nil }
        let p = self.allocate(MemoryLayout<UnsafeMutablePointer<M.CStruct>?>.stride * messages.count)
            .bindMemory(to: UnsafeMutablePointer<M.CStruct>?.self, capacity: messages.count)
        for (i, m) in messages.enumerated() { (p + i).initialize(to: try self.message(m)) }
        return p
    }
}

/// Runs `body` with a fresh arena and frees everything it allocated when `body` returns or throws.
@inline(__always)
func withCodecArena<R>(_ body: (CodecArena) throws(CodecError) -> R) throws(CodecError) -> R {
    try withUnsafeTemporaryAllocation(byteCount: CodecArena.inlineBytes, alignment: CodecArena.alignment) {
        (inline) throws(CodecError) -> R in
        try withUnsafeTemporaryAllocation(of: CodecArena.State.self, capacity: 1) { (state) throws(CodecError) -> R in
            let base = inline.baseAddress!
            state.baseAddress!.initialize(to: .init(cursor: base, end: base + inline.count, spilled: nil))
            defer {
                var block = state[0].spilled
                while let b = block {
                    block = b.load(as: UnsafeMutableRawPointer?.self)
                    free(b)
                }
            }
            return try body(CodecArena(state: state.baseAddress!))
        }
    }
}
