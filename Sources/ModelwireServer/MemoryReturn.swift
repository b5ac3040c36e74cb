import CModelwireAllocator
import Logging
import NIOPosix

/// The server's allocator policy (issue 11, item 8). Large message buffers stay on the heap, so a
/// busy server does not pay an mmap/munmap and page faults per call, and a burst's memory is given
/// back once the allocator holds much of it free, so the peak is not kept forever.
public struct MemoryReturn: Sendable {
    /// Free bytes in the allocator below which a check does nothing. Default 32 MiB.
    public var minimumFreeBytes: Int
    /// Growth of the free bytes or of the resident set since the last trim that makes a new one
    /// worth it. Default 16 MiB.
    public var minimumGrowthBytes: Int

    public static let defaults = MemoryReturn(minimumFreeBytes: 32 << 20, minimumGrowthBytes: 16 << 20)

    public init(minimumFreeBytes: Int, minimumGrowthBytes: Int) {
        self.minimumFreeBytes = minimumFreeBytes
        self.minimumGrowthBytes = minimumGrowthBytes
    }

    /// The allocator as one check sees it.
    public struct Reading: Equatable, Sendable {
        /// Bytes in free chunks (counted whether or not their pages were returned).
        public var freeBytes: Int
        /// The process's resident set.
        public var residentBytes: Int

        public init(freeBytes: Int, residentBytes: Int) {
            self.freeBytes = freeBytes
            self.residentBytes = residentBytes
        }

        /// The allocator now.
        static var now: Reading {
            Reading(
                freeBytes: Int(modelwire_allocator_free_bytes()),
                residentBytes: Int(modelwire_allocator_resident_bytes())
            )
        }
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

    /// Decides from the allocator now and right after the last trim (nil before the first): a
    /// trim when much is free and, since the last one, more was freed (new free chunks are
    /// resident) or the process grew (returned pages used again are resident again).
    public func decide(_ now: Reading, afterLastTrim: Reading?) -> Decision {
        guard now.freeBytes >= minimumFreeBytes else { return .keep }
        guard let last = afterLastTrim else { return .trim }
        let freed = now.freeBytes - last.freeBytes
        let grown = now.residentBytes - last.residentBytes
        return freed >= minimumGrowthBytes || grown >= minimumGrowthBytes ? .trim : .keep
    }

    /// Runs one check every `intervalMilliseconds` until the task is cancelled, trimming when
    /// `decide` says so, on `workers`: mallinfo2 and malloc_trim walk every arena, which an event
    /// loop must not wait for.
    func run(every intervalMilliseconds: Int, on workers: NIOThreadPool, logger: Logger) async {
        var afterLastTrim: Reading?
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(intervalMilliseconds)) } catch { return }
            let policy = self
            let previous = afterLastTrim
            let outcome = try? await workers.runIfActive { () -> (before: Reading, after: Reading)? in
                let before = Reading.now
                guard policy.decide(before, afterLastTrim: previous) == .trim else { return nil }
                _ = modelwire_allocator_trim()
                return (before, Reading.now)
            }
            guard let trimmed = outcome ?? nil else { continue }
            afterLastTrim = trimmed.after
            logger.debug(
                "returned free memory to the system",
                metadata: [
                    "modelwire.free_bytes": "\(trimmed.before.freeBytes)",
                    "modelwire.resident_bytes": "\(trimmed.before.residentBytes) -> \(trimmed.after.residentBytes)",
                ]
            )
        }
    }
}
