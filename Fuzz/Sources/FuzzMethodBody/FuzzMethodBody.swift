import ModelwireCodec
import ModelwireProtocol

/// libFuzzer entry: the first byte picks a v1 method, the rest is a body decoded as that method's
/// request and response. Whatever decodes must re-encode and decode again to the same bytes
/// (bytes, not values: NaN != NaN).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMethodBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let method = MethodDescriptor.v1[Int(data[0]) % MethodDescriptor.v1.count]
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    for type in [method.requestType, method.responseType] {
        guard let message = try? type.init(serializedBytes: body, maxSize: 1 << 20) else { continue }
        guard let first = try? message.serializedBytes() else { continue }  // e.g. an embedded NUL cannot re-encode
        guard let again = try? type.init(serializedBytes: first, maxSize: 1 << 20), let second = try? again.serializedBytes(),
              first == second
        else { fatalError("\(method.name): re-encoding is not stable") }
    }
    return 0
}
