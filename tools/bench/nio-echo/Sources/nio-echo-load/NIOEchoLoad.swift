import EchoWire
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Closed-loop load for the echo servers, in SwiftNIO: CONCURRENCY requests in flight on one
/// connection, each answer sends the next request; the requests sent while handling one read
/// leave in one flush (as echo_load and Modelwire's client do). Prints the same JSON as echo_load.
/// Usage: nio-echo-load HOST:PORT REQUEST_BYTES CONCURRENCY WARMUP_S DURATION_S [CPU_PID]
final class LoadHandler: ChannelInboundHandler {
    typealias InboundIn = Int
    typealias OutboundOut = ByteBuffer

    let request: ByteBuffer
    let concurrency: Int
    let measuredStart: UInt64
    let measuredEnd: UInt64
    let done: EventLoopPromise<[UInt64]>
    var sent: [UInt64] = []  // send times of the requests in flight, oldest first
    var head = 0
    var samples: [UInt64] = []
    var finished = false

    init(
        request: ByteBuffer,
        concurrency: Int,
        measuredStart: UInt64,
        measuredEnd: UInt64,
        done: EventLoopPromise<[UInt64]>
    ) {
        self.request = request
        self.concurrency = concurrency
        self.measuredStart = measuredStart
        self.measuredEnd = measuredEnd
        self.done = done
        self.samples.reserveCapacity(1 << 20)
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<self.concurrency { self.send(context: context) }
        context.flush()
    }

    private func send(context: ChannelHandlerContext) {
        self.sent.append(now())
        context.write(Self.wrapOutboundOut(self.request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.finished else { return }
        let t = now()
        let start = self.sent[self.head]
        self.head += 1
        if self.head > 4096 {
            self.sent.removeFirst(self.head)
            self.head = 0
        }
        if t >= self.measuredEnd {
            self.finished = true
            self.done.succeed(self.samples)
            return
        }
        if t >= self.measuredStart { self.samples.append(t - start) }
        self.send(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// User + system CPU seconds of a process (/proc/PID/stat), or -1.
func cpuSeconds(_ pid: Int32) -> Double {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return -1 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 1024)
    guard fgets(&line, 1024, file) != nil else { return -1 }
    let text = String(cString: line)
    guard let close = text.lastIndex(of: ")") else { return -1 }
    let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return -1 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

@main
struct NIOEchoLoad {
    static func main() throws {
        let a = CommandLine.arguments
        guard a.count >= 6, let colon = a[1].lastIndex(of: ":"), let port = Int(a[1][a[1].index(after: colon)...]),
            let requestBytes = Int(a[2]), let concurrency = Int(a[3]), let warmup = Double(a[4]),
            let duration = Double(a[5])
        else {
            exitWithUsage("nio-echo-load HOST:PORT REQUEST_BYTES CONCURRENCY WARMUP_S DURATION_S [CPU_PID]")
        }
        let host = String(a[1][..<colon])
        let cpuPID = a.count > 6 ? Int32(a[6]) ?? 0 : 0
        let template = LengthPrefixedDecoder.message(bytes: requestBytes)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let start = now()
        let measuredStart = start + UInt64(warmup * 1e9)
        let measuredEnd = measuredStart + UInt64(duration * 1e9)
        let done = loop.makePromise(of: [UInt64].self)
        let channel = try ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(LengthPrefixedDecoder()),
                        LoadHandler(
                            request: template,
                            concurrency: concurrency,
                            measuredStart: measuredStart,
                            measuredEnd: measuredEnd,
                            done: done
                        ),
                    ])
                }
            }
            .connect(host: host, port: port).wait()
        usleep(useconds_t(warmup * 1e6))
        let cpu0 = (cpuSeconds(getpid()), cpuPID > 0 ? cpuSeconds(cpuPID) : 0)
        var samples = try done.futureResult.wait()
        let cpu1 = (cpuSeconds(getpid()), cpuPID > 0 ? cpuSeconds(cpuPID) : 0)
        try channel.close().wait()
        try group.syncShutdownGracefully()
        samples.sort()
        func pct(_ p: Double) -> Double {
            samples.isEmpty ? 0 : Double(samples[Int(p / 100 * Double(samples.count - 1))]) / 1e6
        }
        let line =
            "{\"calls\": \(samples.count), \"seconds\": \(duration), \"throughput\": \(Double(samples.count) / duration), "
            + "\"p50Ms\": \(pct(50)), \"p90Ms\": \(pct(90)), \"p99Ms\": \(pct(99)), \"p999Ms\": \(pct(99.9)), "
            + "\"maxMs\": \(samples.last.map { Double($0) / 1e6 } ?? 0), "
            + "\"cpuSelf\": \(cpu1.0 - cpu0.0), \"cpuOther\": \(cpuPID > 0 ? cpu1.1 - cpu0.1 : 0)}"
        print(line)
    }
}
