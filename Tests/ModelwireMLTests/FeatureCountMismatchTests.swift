import ModelwireData
import ModelwireML
import ModelwireTestSupport
import Testing

/// Rows of another width than the model's are their own error kind, said in a sentence.
@Suite(.ownThreads) struct FeatureCountMismatchTests {
    @Test func evaluatingRowsOfAnotherWidthIsAFeatureCountMismatch() throws {
        let training = try Dataset(csv: "a,b,c,d,label\n0,0,0,0,x\n1,1,1,1,y\n0,1,0,1,x\n1,0,1,0,y\n")
        let model = try Trainer.train(
            spec: .logistic(LinearSpec()),
            options: TrainingOptions(epochs: 2, batchSize: 2, seed: 1),
            dataset: training
        )
        let wide = try Dataset(csv: "a,b,c,d,e,f,label\n0,0,0,0,0,0,x\n1,1,1,1,1,1,y\n")
        let error = #expect(throws: DatasetError.self) { try model.evaluate(wide) }
        #expect(error?.code == .featureCountMismatch)
        #expect(error?.message == "expects 4 features, got 6")
        #expect(error?.description == "expects 4 features, got 6")
    }
}
