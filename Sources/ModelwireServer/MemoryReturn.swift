import CModelwireAllocator
import Logging
import NIOPosix

/// The server's allocator policy (issue 11, item 8). Large message buffers stay on the heap, so a
/// busy server does not pay an mmap/munmap and page faults per call, and a burst's memory is given
/// back once the allocator holds much of it free, so the peak is not kept forever.
public struct MemoryReturn: Sendable {
    /// Free bytes in the allocator above which a check trims. Default 64 MiB.
    public var minimumFreeBytes: Int
    /// Allocation activity (change in free bytes) since the last trim that makes a new one worth it.
    public var minimumChangeBytes: Int

    public static let defaults = MemoryReturn(minimumFreeBytes: 64 << 20, minimumChangeBytes: 16 << 20)

    public init(minimumFreeBytes: Int, minimumChangeBytes: Int) {
        self.minimumFreeBytes = minimumFreeBytes
        self.minimumChangeBytes = minimumChangeBytes
    }

    /// Keeps blocks up to 32 MiB on the heap and trims its top only above 256 MiB free: with glibc's
    /// defaults each ~400 KB predict buffer is an mmap/munmap or a heap trim, and the page faults
    /// cost ~10x the encode and decode (tools/bench-codec measures both). Call once, at start.
    public static func keepLargeBuffersOnHeap() {
        _ = modelwire_allocator_keep_on_heap(32 << 20, 256 << 20)
    }

    /// What one check decided.
    public enum Decision: Equatable, Sendable {
        case keep
        case trim
    }

    /// Decides from the free bytes now and right after the last trim (nil before the first).
    public func decide(freeBytes: Int, afterLastTrim: Int?) -> Decision {
        guard freeBytes >= minimumFreeBytes else { return .keep }
        guard let afterLastTrim else { return .trim }
        return abs(freeBytes - afterLastTrim) >= minimumChangeBytes ? .trim : .keep
    }

    /// Runs one check every `intervalMilliseconds` until the task is cancelled, trimming when
    /// `decide` says so, on `workers`: mallinfo2 and malloc_trim walk every arena, which an event
    /// loop must not wait for.
    func run(every intervalMilliseconds: Int, on workers: NIOThreadPool, logger: Logger) async {
        var afterLastTrim: Int?
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(intervalMilliseconds)) } catch { return }
            let policy = self
            let previous = afterLastTrim
            let outcome = try? await workers.runIfActive { () -> (before: Int, after: Int)? in
                let free = Int(modelwire_allocator_free_bytes())
                guard policy.decide(freeBytes: free, afterLastTrim: previous) == .trim else { return nil }
                _ = modelwire_allocator_trim()
                return (free, Int(modelwire_allocator_free_bytes()))
            }
            guard let trimmed = outcome ?? nil else { continue }
            afterLastTrim = trimmed.after
            logger.debug("returned free memory to the system", metadata: ["modelwire.free_bytes": "\(trimmed.before)"])
        }
    }
}
