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
    func string(_ string: String, field: String) throws(CodecError) -> UnsafeMutablePointer<CChar> {
        var string = string
        let copy: UnsafeMutablePointer<CChar>? = string.withUTF8 { utf8 in
            if let base = utf8.baseAddress, memchr(base, 0, utf8.count) != nil { return nil }
            let p = self.allocate(utf8.count + 1)
            if let base = utf8.baseAddress { p.copyMemory(from: base, byteCount: utf8.count) }
            p.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return p.assumingMemoryBound(to: CChar.self)
        }
        guard let copy else { throw .embeddedNUL(field: field) }
        return copy
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
    func strings(_ strings: [String], field: String) throws(CodecError) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let p = self.allocate(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * strings.count)
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: strings.count)
        for (i, s) in strings.enumerated() { (p + i).initialize(to: try self.string(s, field: field)) }
        return p
    }

    /// A `bytes` field pointing at a copy of `bytes`.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: self.array(bytes))
    }

    /// The C struct of a nested message, filled from `message`.
    func message<M: CMessageConvertible>(_ message: M) throws(CodecError) -> UnsafeMutablePointer<M.CStruct> {
        let raw = self.allocate(MemoryLayout<M.CStruct>.stride)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<M.CStruct>.stride)  // a valid empty C struct
        let p = raw.bindMemory(to: M.CStruct.self, capacity: 1)
        try message.fill(&p.pointee, self)  // fill starts with the message's *_init
        return p
    }

    /// The array of C struct pointers of a repeated message field.
    func messages<M: CMessageConvertible>(_ messages: [M]) throws(CodecError) -> UnsafeMutablePointer<UnsafeMutablePointer<M.CStruct>?>? {
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
