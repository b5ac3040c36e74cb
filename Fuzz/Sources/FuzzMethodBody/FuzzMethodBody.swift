import FuzzHarness

/// libFuzzer entry: the first byte picks a v1 method, the rest is a body decoded as that method's
/// request and response, which must re-encode stably (FuzzHarness.methodBody).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMethodBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let finding = FuzzHarness.methodBody(UnsafeRawBufferPointer(start: data, count: size)).first {
        fatalError(finding)
    }
    return 0
}
