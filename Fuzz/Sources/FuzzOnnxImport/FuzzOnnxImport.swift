import FuzzHarness

/// libFuzzer entry: the input is an ONNX file as ImportModel receives it (FuzzHarness.onnxImport).
/// A crash, leak or hang is a bug (protobuf-c recursing without limit, an allocation from a claim);
/// a refusal with a message is fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOnnxImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let finding = FuzzHarness.onnxImport(UnsafeRawBufferPointer(start: data, count: size)).first {
        fatalError(finding)
    }
    return 0
}
