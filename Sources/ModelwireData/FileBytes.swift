#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole file with POSIX calls (`FileManager.contents(atPath:)` leaks a 4 KiB buffer
/// on empty files in swift-foundation on Linux, which fails LeakSanitizer runs).
/// - Parameters:
///   - path: The file's path.
///   - extraZero: Append one 0 byte (a terminator for C parsers) after the contents.
/// - Returns: The bytes, or `nil` if the file cannot be opened or read.
func readFileBytes(_ path: String, extraZero: Bool = false) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0 ..< n])
    }
    if extraZero { bytes.append(0) }
    return bytes
}
