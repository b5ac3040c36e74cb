#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Writes `usage: TEXT` to standard error and exits with status 2 (bad arguments).
public func exitWithUsage(_ text: String) -> Never {
    let line = "usage: \(text)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}
