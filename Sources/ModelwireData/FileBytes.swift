#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read: its path and the reason in a few words ("no such file",
/// "permission denied", "is a directory", ...).
public struct FileReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The path as given.
    public var path: String
    /// The reason, lower case, e.g. `no such file`.
    public var reason: String

    /// Creates an error.
    /// - Parameters:
    ///   - path: The path as given.
    ///   - reason: The reason in a few words.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// The reason for an `errno` value: short words for the common ones, else `strerror`'s text.
    /// - Parameter code: An `errno` value.
    /// - Returns: E.g. `no such file` for `ENOENT`.
    public static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "is a directory"
        case ENOTDIR: return "a part of the path is not a directory"
        case ELOOP: return "too many symbolic links"
        case ENAMETOOLONG: return "the name is too long"
        default:
            guard let text = strerror(code) else { return "error \(code)" }
            return String(cString: text).lowercased()
        }
    }

    /// `cannot read PATH: REASON`.
    public var description: String { "cannot read \(self.path): \(self.reason)" }
}

/// Reads a whole file with POSIX calls (`FileManager.contents(atPath:)` leaks a 4 KiB buffer
/// on empty files in swift-foundation on Linux, which fails LeakSanitizer runs).
/// - Parameters:
///   - path: The file's path.
///   - extraZero: Append one 0 byte (a terminator for C parsers) after the contents.
/// - Returns: The bytes.
/// - Throws: `FileReadError` with the reason: `no such file`, `permission denied`, `is a directory`, ...
public func readFileContents(_ path: String, extraZero: Bool = false) throws(FileReadError) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileReadError(path: path, reason: FileReadError.reason(errno: errno)) }
    defer { close(fd) }
    var status = stat()
    if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
        throw FileReadError(path: path, reason: FileReadError.reason(errno: EISDIR))
    }
    return try readAll(fd, path: path, extraZero: extraZero)
}

/// Reads an open descriptor to its end (a file, a pipe, stdin).
/// - Parameters:
///   - fd: The descriptor; it stays open.
///   - path: The name for errors.
///   - extraZero: Append one 0 byte after the contents.
/// - Returns: The bytes.
/// - Throws: `FileReadError` with the reason.
public func readAll(_ fd: Int32, path: String, extraZero: Bool = false) throws(FileReadError) -> [UInt8] {
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileReadError(path: path, reason: FileReadError.reason(errno: errno))
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    if extraZero { bytes.append(0) }
    return bytes
}

/// `readFileContents` as a `DatasetError` (`.unreadableFile`, "cannot read PATH: REASON").
func readFileBytes(_ path: String, extraZero: Bool = false) throws(DatasetError) -> [UInt8] {
    do {
        return try readFileContents(path, extraZero: extraZero)
    } catch {
        throw DatasetError(.unreadableFile, message: error.description)
    }
}
