import Foundation
import ModelwireCodec
import Testing

@Suite struct SchemaTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func compiledInDescriptorSetIsTheCommittedOne() throws {
        let committed = try Data(contentsOf: Self.repository.appendingPathComponent("proto/modelwire.desc.pb"))
        #expect(V1.fileDescriptorSet == [UInt8](committed))
        #expect(V1.schemaPackages == ["modelwire.v1"])
    }

    @Test func methodIdsAreSchemaVersionTimes256PlusIndex() {
        #expect(V1.Method.predict.rawValue == 0x0101)
        #expect(V1.Method.serverInfo.rawValue == 0x0112)
    }

    @Test func statusCodesAreNumberedAsGRPC() {
        #expect(V1.StatusCode.ok.rawValue == 0)
        #expect(V1.StatusCode.invalidArgument.rawValue == 3)
        #expect(V1.StatusCode.resourceExhausted.rawValue == 8)
        #expect(V1.StatusCode.unimplemented.rawValue == 12)
        #expect(V1.StatusCode.unauthenticated.rawValue == 16)
    }
}
