// swift-tools-version:6.1
// The ML benchmark executable, kept out of the root package's build. Run it through run.sh.
import PackageDescription

/// The language settings every benchmark executable builds with.
let settings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "bench-ml",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Modelwire", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "MLBench",
            dependencies: [
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "ModelwireData", package: "Modelwire"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "ClassicBench",
            dependencies: [
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "ModelwireData", package: "Modelwire"),
            ],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "TransformBench",
            dependencies: [
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "ModelwireData", package: "Modelwire"),
                .product(name: "ModelwireCodec", package: "Modelwire"),
            ],
            swiftSettings: settings
        ),
        // Integrated-gradient attributions per second (explain.sh).
        .executableTarget(
            name: "ExplainBench",
            dependencies: [
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "ModelwireData", package: "Modelwire"),
            ],
            swiftSettings: settings
        ),
        // Preprocessing fitted and applied to a raw table (preprocess.sh, beside ColumnTransformer).
        .executableTarget(
            name: "PreprocessBench",
            dependencies: [.product(name: "ModelwireData", package: "Modelwire")],
            swiftSettings: settings
        ),
        // An ONNX-imported model predicted in-process (onnx.sh, beside onnxruntime).
        .executableTarget(
            name: "OnnxBench",
            dependencies: [
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "ModelwireOnnx", package: "Modelwire"),
            ],
            swiftSettings: settings
        ),
    ]
)
