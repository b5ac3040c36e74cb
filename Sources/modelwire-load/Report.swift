import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The human table (one row per step, printed as each step ends) and the `--json` document.
struct Report {
    /// Where the table goes: stdout, or stderr when stdout carries JSON.
    let toStandardError: Bool

    func header() {
        self.emit(
            Self.pad([
                "step", "conns", "rows", "calls", "errors", "calls/s", "p50 ms", "p90 ms", "p99 ms",
                "p99.9 ms", "max ms", "srv queue µs", "decode", "compute", "encode", "batch rows",
                "cpu s (self, others)",
                "load",
            ])
        )
    }

    func row(_ r: StepResult) {
        let step = r.mode == "closed" ? "c=\(r.concurrency ?? 0)" : "rate=\(Int(r.rate ?? 0))/\(r.arrivals ?? "")"
        let server =
            r.server.map {
                [
                    Self.f($0.queueMeanUs, 1), Self.f($0.decodeMeanUs, 1), Self.f($0.computeMeanUs, 1),
                    Self.f($0.encodeMeanUs, 1),
                    Self.f($0.batchRowsMean, 1),
                ]
            } ?? ["-", "-", "-", "-", "-"]
        let cpu = ([r.cpuSeconds["self"]] + r.cpuSeconds.keys.filter { $0 != "self" }.sorted().map { r.cpuSeconds[$0] })
            .map { $0.map { Self.f($0, 2) } ?? "-" }.joined(separator: ",")
        self.emit(
            Self.pad(
                [
                    step, "\(r.connections)", "\(r.rows)", "\(r.calls)", "\(r.errors.values.reduce(0, +))",
                    Self.f(r.throughput, 0), Self.f(r.latency.p50Ms, 3), Self.f(r.latency.p90Ms, 3),
                    Self.f(r.latency.p99Ms, 3), Self.f(r.latency.p999Ms, 3), Self.f(r.latency.maxMs, 3),
                ]
                    + server + [cpu, r.load.prefix(1).map { Self.f($0, 2) }.joined()]
            )
        )
        if !r.errors.isEmpty {
            self.emit(
                "  errors: "
                    + r.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            )
        }
    }

    func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    static func json(configuration: [String: String], steps: [StepResult]) throws -> String {
        struct Document: Encodable {
            var configuration: [String: String]
            var steps: [StepResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(Document(configuration: configuration, steps: steps)), as: UTF8.self)
    }

    private func emit(_ line: String) {
        if self.toStandardError {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            print(line)
            fflush(nil)
        }
    }

    private static let widths = [14, 5, 4, 9, 6, 9, 8, 8, 8, 9, 9, 12, 7, 8, 7, 10, 20, 5]

    private static func pad(_ cells: [String]) -> String {
        zip(cells, widths).map { cell, width in
            cell.count >= width ? cell : String(repeating: " ", count: width - cell.count) + cell
        }.joined(separator: " ")
    }

    static func f(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
