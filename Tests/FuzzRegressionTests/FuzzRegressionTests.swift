import Foundation
import Testing

// Replays every committed input of Fuzz/Crashes/<target>/ through the fuzz target's own body
// (Fuzz/Sources/FuzzHarness/FuzzHarness.swift, compiled into this target through the symlink
// FuzzHarness.swift beside this file), in name order, once each: deterministic, like libFuzzer's `-runs=0` replay, but
// in swift test so CI runs it. A crash fails the run; a broken invariant fails the input's test.
// tools/fuzz writes new crashing inputs there; commit them with the fix.

/// The repository root, from this file's path (Tests/FuzzRegressionTests/FuzzRegressionTests.swift).
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The committed inputs of one fuzz target, sorted (README.md and dot files are not inputs).
private func crashInputs(_ target: String) -> [String] {
    let folder = root.appendingPathComponent("Fuzz/Crashes/\(target)")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { "\(target)/\($0)" }
}

private func replay(_ input: String, through body: (UnsafeRawBufferPointer) -> [String]) throws {
    let bytes = try Data(contentsOf: root.appendingPathComponent("Fuzz/Crashes/\(input)"))
    let findings = bytes.withUnsafeBytes { body($0) }
    #expect(findings.isEmpty, "\(input): \(findings.joined(separator: "; "))")
}

@Suite("Fuzz regressions (Fuzz/Crashes)")
struct FuzzRegressionTests {
    @Test("FuzzFrameDecoder input", arguments: crashInputs("FuzzFrameDecoder"))
    func frameDecoder(input: String) throws {
        try replay(input, through: FuzzHarness.frameDecoder)
    }

    @Test("FuzzMethodBody input", arguments: crashInputs("FuzzMethodBody"))
    func methodBody(input: String) throws {
        try replay(input, through: FuzzHarness.methodBody)
    }

    @Test("FuzzOnnxImport input", arguments: crashInputs("FuzzOnnxImport"))
    func onnxImport(input: String) throws {
        try replay(input, through: FuzzHarness.onnxImport)
    }

    @Test("every fuzz target has committed inputs to replay")
    func foldersAreNotEmpty() {
        for target in ["FuzzFrameDecoder", "FuzzMethodBody", "FuzzOnnxImport"] {
            #expect(!crashInputs(target).isEmpty, "Fuzz/Crashes/\(target)/ is empty or missing")
        }
    }
}
