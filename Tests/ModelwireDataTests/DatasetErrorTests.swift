import ModelwireData
import Testing

/// A `DatasetError` prints as its sentence; the kind is in `code`, not in the text people see.
@Suite struct DatasetErrorTests {
    @Test func descriptionIsTheMessageWithoutTheCodeName() {
        let nonNumeric = #expect(throws: DatasetError.self) { try Dataset(csv: "x,label\n1,a\nzz,b\n") }
        #expect(nonNumeric?.code == .nonNumeric)
        if let nonNumeric {
            #expect(nonNumeric.description == nonNumeric.message)
            #expect("\(nonNumeric)" == nonNumeric.message)
            #expect(!nonNumeric.description.contains("nonNumeric"))
        }
        let mismatch = DatasetError(.featureCountMismatch, message: "expects 4 features, got 13")
        #expect("\(mismatch)" == "expects 4 features, got 13")
        #expect(mismatch.code != .unknownClass)
        #expect(mismatch.code.description == "featureCountMismatch")
    }
}
