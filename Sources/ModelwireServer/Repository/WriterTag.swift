import Foundation

/// Who is writing a staging directory, in its name (`.staging-<version>-<host>-<pid>-<random>`),
/// so that a server starting on a repository shared with other live servers removes only the
/// leftovers of writers that are gone: its own host's dead processes, or anything an hour old.
enum WriterTag {
    /// This process: a stable hash of the host name and the process id.
    static let current = "\(hostHash)-\(getpid())"

    private static let hostHash: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: stable across processes, unlike hashValue
        for byte in ProcessInfo.processInfo.hostName.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }()

    /// How old an untagged leftover, or one of another host, must be to be taken for abandoned.
    static let abandonedAfterSeconds: TimeInterval = 3600

    /// Whether the hidden `entry` in `directory` (staging, trash or temporary) belongs to no live writer.
    static func isAbandoned(_ entry: String, in directory: String) -> Bool {
        let parts = entry.split(separator: "-")
        // .staging-<version>-<host>-<pid>-<random>
        if entry.hasPrefix(".staging-"), parts.count == 5, parts[2] == Substring(hostHash), let pid = pid_t(parts[3]) {
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        if entry.hasPrefix(".staging-"), parts.count != 5 { return true }  // written before tags: a single server's
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(entry)"),
            let modified = attributes[.modificationDate] as? Date
        else { return true }
        return Date().timeIntervalSince(modified) > abandonedAfterSeconds
    }
}
