internal import CModelwireProtobuf

extension V1 {
    /// Every schema package this build serves, for handshakes and ServerInfo.
    public static let schemaPackages = ["modelwire.v1"]

    /// The `google.protobuf.FileDescriptorSet` of proto/ (with imports and comments), as
    /// `protoc --descriptor_set_out` wrote it when the code was generated.
    public static var fileDescriptorSet: [UInt8] {
        Array(
            UnsafeBufferPointer(
                start: CModelwireProtobuf_fileDescriptorSet(),
                count: CModelwireProtobuf_fileDescriptorSetSize()
            )
        )
    }
}
