#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The monotonic clock in nanoseconds: one `clock_gettime` per reading, cheap enough to take
/// twice per call inside the measured loop.
enum MonotonicClock {
    @inline(__always) static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// The Unix time (seconds, wall clock) of `instant` on this clock, e.g. to line a step's
    /// window up with a metrics store's samples.
    static func unixSeconds(of instant: UInt64) -> Double {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let wallNow = Double(wall.tv_sec) + Double(wall.tv_nsec) / 1e9
        return wallNow - (Double(Self.now()) - Double(instant)) / 1e9
    }

    /// Sleeps until `deadline` (nanoseconds on this clock); returns at once when it has passed.
    static func sleep(until deadline: UInt64) async {
        let now = Self.now()
        guard deadline > now else { return }
        try? await Task.sleep(nanoseconds: deadline - now)
    }
}
