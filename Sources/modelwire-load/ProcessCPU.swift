#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// CPU time (user + system) of processes over the measured window, read from /proc/PID/stat
/// (Linux; elsewhere nothing is reported). The load tool measures itself and any `--cpu-pid`,
/// so a benchmark sees each process's share of the cores while the window is open.
struct ProcessCPU: Sendable {
    /// The processes: "self" (this tool) and "pid N" for each watched one.
    let pids: [(name: String, pid: Int32)]

    init(watching others: [Int32]) {
        self.pids = [("self", getpid())] + others.map { ("pid \($0)", $0) }
    }

    /// Seconds of CPU each process has used so far (nil when unreadable).
    func snapshot() -> [String: Double] {
        var result: [String: Double] = [:]
        for (name, pid) in self.pids {
            if let seconds = Self.cpuSeconds(pid: pid) { result[name] = seconds }
        }
        return result
    }

    /// CPU seconds used between two snapshots.
    static func difference(from start: [String: Double], to end: [String: Double]) -> [String: Double] {
        var result: [String: Double] = [:]
        for (name, value) in end { if let before = start[name] { result[name] = value - before } }
        return result
    }

    static func cpuSeconds(pid: Int32) -> Double? {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the command name (which is in parentheses and may hold spaces).
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
