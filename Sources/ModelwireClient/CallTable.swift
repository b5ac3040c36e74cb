import ModelwireCodec
import ModelwireProtocol

/// The open calls of one connection, keyed by call id, and what each incoming event means for
/// them. A pure value: no I/O, no clock; the channel handler performs the returned actions.
///
/// `Sink` is whatever receives a call's outcome (a continuation in production, a plain value in
/// tests). Every sink leaves the table exactly once, through one returned action, so it is
/// completed exactly once.
///
/// Connection states and their transitions:
/// - `active`: calls may open. `goAway(lastCallID:)` → `draining`; `close` → `closed`.
/// - `draining(lastCallID)`: no new calls (they are refused as `unavailable`, retryable); calls
///   with ids ≤ `lastCallID` finish normally. `close` → `closed`.
/// - `closed`: every call has been failed; nothing opens again.
struct CallTable<Sink> {
    enum ConnectionState: Equatable {
        case active
        case draining(lastCallID: UInt32)
        case closed
    }

    struct Entry {
        var sink: Sink
        var shape: MethodDescriptor.Shape
        /// Responses delivered so far (server streaming).
        var messages: Int = 0
    }

    private(set) var state: ConnectionState = .active
    private var calls: [UInt32: Entry] = [:]
    /// Ids cancelled before their start reached the table (the cancel overtook the start).
    private var cancelledBeforeStart: Set<UInt32> = []
    private var highestOpenedCallID: UInt32 = 0

    /// Calls open now.
    var count: Int { self.calls.count }
    /// Whether `callID` is open.
    func isOpen(_ callID: UInt32) -> Bool { self.calls[callID] != nil }

    enum OpenAction {
        /// Registered: send the REQUEST frame.
        case send
        /// Refused: fail the sink with the error, send nothing.
        case reject(Sink, ModelwireError)
    }

    /// Opens a call.
    mutating func open(_ callID: UInt32, shape: MethodDescriptor.Shape, sink: Sink) -> OpenAction {
        switch self.state {
        case .closed:
            return .reject(sink, ModelwireError(.unavailable, "connection closed"))
        case .draining:
            return .reject(
                sink,
                ModelwireError(
                    .unavailable,
                    "connection is draining (GOAWAY received)",
                    retryAfterMilliseconds: 0
                )
            )
        case .active:
            break
        }
        guard callID != 0, self.calls[callID] == nil else {
            return .reject(sink, ModelwireError(.internal, "call id \(callID) is already open on this connection"))
        }
        if self.cancelledBeforeStart.remove(callID) != nil {
            return .reject(sink, ModelwireError(.cancelled, "call cancelled"))
        }
        self.calls[callID] = Entry(sink: sink, shape: shape)
        self.highestOpenedCallID = max(self.highestOpenedCallID, callID)
        return .send
    }

    enum ReceiveAction {
        /// Hand the payload to the sink; when `final`, the call ended with status ok and left the table.
        case deliver(Sink, final: Bool)
        /// The call ended with this error and left the table.
        case fail(Sink, ModelwireError, sendCancel: Bool)
        /// Not for an open call (it ended or was cancelled): ignore (PROTOCOL.md §7).
        case ignore
    }

    /// A MESSAGE frame for `callID` arrived.
    mutating func receiveMessage(_ callID: UInt32, endStream: Bool) -> ReceiveAction {
        guard var entry = self.calls[callID] else { return .ignore }
        if endStream {
            self.calls[callID] = nil
            return .deliver(entry.sink, final: true)
        }
        switch entry.shape {
        case .serverStreaming:
            entry.messages += 1
            self.calls[callID] = entry
            return .deliver(entry.sink, final: false)
        case .unary, .clientStreaming:
            self.calls[callID] = nil
            return .fail(
                entry.sink,
                ModelwireError(.internal, "protocol violation: a second response on a single-response call"),
                sendCancel: true
            )
        }
    }

    /// An ERROR frame for `callID` (non-zero) arrived.
    mutating func receiveError(_ callID: UInt32, _ error: ModelwireError) -> ReceiveAction {
        guard let entry = self.calls.removeValue(forKey: callID) else { return .ignore }
        return .fail(entry.sink, error, sendCancel: false)
    }

    /// The caller gave up on `callID` (task cancelled).
    /// - Returns: The sink to fail with `cancelled` (then send CANCEL), or nil when the call is not open.
    mutating func cancel(_ callID: UInt32) -> Sink? {
        if let entry = self.calls.removeValue(forKey: callID) { return entry.sink }
        if self.state != .closed {
            self.cancelledBeforeStart.insert(callID)
            // Ids are handed out in order and start within microseconds of each other: an entry
            // far below the newest opened id was a cancel racing a completion; forget it.
            if self.cancelledBeforeStart.count > 1024 {
                let floor = self.highestOpenedCallID &- 1024
                self.cancelledBeforeStart = self.cancelledBeforeStart.filter { $0 > floor }
            }
        }
        return nil
    }

    /// The call's local deadline passed.
    /// - Returns: The sink to fail with `deadlineExceeded` (then send CANCEL), or nil when it already ended.
    mutating func timeOut(_ callID: UInt32) -> Sink? {
        self.calls.removeValue(forKey: callID)?.sink
    }

    /// The server is draining: calls above `lastCallID` were not accepted and fail as
    /// `unavailable` with a retry hint of 0 (safe to retry elsewhere, whatever the method).
    /// - Returns: Those sinks, and whether no call remains open (the connection may close).
    mutating func goAway(lastCallID: UInt32) -> (failed: [(Sink, ModelwireError)], idle: Bool) {
        if case .closed = self.state { return ([], true) }
        self.state = .draining(lastCallID: lastCallID)
        var failed: [(Sink, ModelwireError)] = []
        for (id, entry) in self.calls where id > lastCallID {
            self.calls[id] = nil
            failed.append(
                (
                    entry.sink,
                    ModelwireError(
                        .unavailable,
                        "server is draining; call \(id) was not accepted",
                        retryAfterMilliseconds: 0
                    )
                )
            )
        }
        return (failed, self.calls.isEmpty)
    }

    /// Whether a draining connection has no call left.
    var isDrainedIdle: Bool {
        if case .draining = self.state { return self.calls.isEmpty }
        return false
    }

    /// The connection is gone: every open call fails with `error`.
    mutating func close(_ error: ModelwireError) -> [Sink] {
        self.state = .closed
        let sinks = self.calls.values.map(\.sink)
        self.calls.removeAll()
        self.cancelledBeforeStart.removeAll()
        return sinks
    }
}
