import Foundation
import Glibc
import ModelwireCodec
import ModelwireProtocol

/// Crash-safe file operations: a reader sees the old or the new content, never a torn one.
enum DurableFiles {
    /// A failed file operation. Callers see `resource_exhausted` for a full disk, `internal` otherwise
    /// (the path and errno are logged, not sent).
    struct Failure: Error, CustomStringConvertible, ModelwireErrorConvertible {
        let operation: String
        let path: String
        let errno: Int32
        var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
        /// The system's reason, as an operator reads it ("not a directory").
        var reason: String { String(cString: strerror(errno)).lowercased() }

        var modelwireError: ModelwireError {
            errno == ENOSPC || errno == EDQUOT
                ? ModelwireError(
                    .resourceExhausted,
                    "the model repository's disk is full",
                    retryAfterMilliseconds: 60_000
                )
                : ModelwireError(.internal, "a repository file operation failed (see the server log)")
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename, fsync the directory.
    static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let directory = parent(of: path)
        let temporary = "\(directory)/.tmp-\(UInt64.random(in: 0 ... .max))-\((path as NSString).lastPathComponent)"
        try writeAndSync(bytes, to: temporary)
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw Failure(operation: "rename", path: path, errno: e)
        }
        try syncDirectory(directory)
    }

    /// Creates `path` with `bytes` and fsyncs it (the file must not exist).
    static func writeAndSync(_ bytes: [UInt8], to path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "create", path: path, errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, errno: errno) }
    }

    /// Makes a directory's entries (creations, renames) durable.
    static func syncDirectory(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open directory", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync directory", path: path, errno: errno) }
    }

    /// The directory holding `path`: "." for a bare name (a relative `--repository newdir`).
    static func parent(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Creates a directory (and its parents) if missing, making the new entry durable.
    static func makeDirectory(_ path: String) throws(Failure) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Failure(operation: "mkdir", path: path, errno: ENOTDIR) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Failure(operation: "mkdir", path: path, errno: EIO)
        }
        try syncDirectory(parent(of: path))
    }

    /// Renames `path` to a hidden trash name (atomic disappearance), then deletes it.
    static func remove(_ path: String) throws(Failure) {
        let directory = parent(of: path)
        let trash = "\(directory)/.trash-\(UInt64.random(in: 0 ... .max))"
        guard rename(path, trash) == 0 else { throw Failure(operation: "rename", path: path, errno: errno) }
        try syncDirectory(directory)
        try? FileManager.default.removeItem(atPath: trash)
    }

    /// The whole content of a file.
    static func read(_ path: String) throws(Failure) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(operation: "read", path: path, errno: ENOENT)
        }
        return [UInt8](data)
    }
}
