// swift-tools-version:6.1
// Echo ceilings for tools/bench in SwiftNIO, the I/O stack modelwire-server and ModelwireClient are
// built on: the C echo's wire (u32 big-endian length, then the bytes) served by nio-echo-server, and
// driven by nio-echo-load (closed loop, one connection). Against the C echo they show what SwiftNIO
// itself costs per call; against Modelwire, what the protocol, codec and model add.
import PackageDescription

let package = Package(
    name: "bench-nio-echo",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2")
    ],
    targets: [
        .target(
            name: "EchoWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "nio-echo-server",
            dependencies: [
                "EchoWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "nio-echo-load",
            dependencies: [
                "EchoWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
