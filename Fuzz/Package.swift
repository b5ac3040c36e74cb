// swift-tools-version:6.1
// libFuzzer targets, kept out of the main build. Run them with `tools/fuzz TARGET SECONDS`.
// Their bodies are in Sources/FuzzHarness, which the root package's FuzzRegressionTests also
// compiles (through a symlink) to replay Crashes/<target>/ in swift test.
import PackageDescription

let package = Package(
    name: "ModelwireFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Modelwire", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "FuzzHarness",
            dependencies: [
                .product(name: "ModelwireProtocol", package: "Modelwire"),
                .product(name: "ModelwireCodec", package: "Modelwire"),
                .product(name: "ModelwireOnnx", package: "Modelwire"),
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "FuzzFrameDecoder", dependencies: ["FuzzHarness"]),
        .executableTarget(name: "FuzzMethodBody", dependencies: ["FuzzHarness"]),
        .executableTarget(name: "FuzzOnnxImport", dependencies: ["FuzzHarness"]),
    ]
)
