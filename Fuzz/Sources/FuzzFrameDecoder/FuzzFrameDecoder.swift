import FuzzHarness

/// libFuzzer entry: the input is a byte stream as a server reads it (FuzzHarness.frameDecoder).
/// Any crash, leak, hang or broken invariant is a bug; typed errors are fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let finding = FuzzHarness.frameDecoder(UnsafeRawBufferPointer(start: data, count: size)).first {
        fatalError(finding)
    }
    return 0
}
