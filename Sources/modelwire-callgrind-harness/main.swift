// A bench-only way to run ModelServer under valgrind (docs/performance.md, "metrics cost").
//
// modelwire-server's async @main ends the main thread in libdispatch's dispatch_main
// (pthread_exit, then sigsuspend), and valgrind 3.19 dies there ("Valgrind received a signal 11",
// with --tool=none too). Here main stays a plain thread that sleeps; the server runs in a task.
//
// Usage: modelwire-callgrind-harness REPOSITORY PORT_FILE [off|prometheus]
// Serves 127.0.0.1:0 (binary) and an HTTP port, one event loop; writes "BINARY_PORT HTTP_PORT"
// to PORT_FILE; stops on SIGTERM (callgrind writes its profile at exit).
import Foundation
import Logging
import ModelwireServer
import NIOCore
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(
        Data("usage: modelwire-callgrind-harness REPOSITORY PORT_FILE [off|prometheus]\n".utf8)
    )
    exit(2)
}
var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, repositoryPath: arguments[1])
configuration.eventLoopThreads = 1
configuration.memoryReturnIntervalMilliseconds = 0
configuration.http.port = 0
configuration.http.metrics = arguments.count > 3 && arguments[3] == "off" ? .off : .prometheus
let portFile = arguments[2]
let ports = Mutex<[Int]>([])
let server = ModelServer(
    configuration: configuration,
    logger: Logger(label: "harness", factory: { _ in SwiftLogNoOpLogHandler() }),
    onListening: { address in ports.withLock { $0.append(address.port ?? 0) } },
    onHTTPListening: { address in
        let binary = ports.withLock { $0.first ?? 0 }
        try? "\(binary) \(address.port ?? 0)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
    }
)
signal(SIGTERM) { _ in exit(0) }
Task.detached {  // not on the main actor: the main thread only sleeps
    do { try await server.run() } catch {
        FileHandle.standardError.write(Data("harness: \(error)\n".utf8))
        exit(1)
    }
}
while true { sleep(60) }
