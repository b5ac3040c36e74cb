import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// The parts of one server connection: a pure state machine (`StateMachine`) and the thin NIO
/// handler that performs its actions (`ServerConnectionHandler`).
enum ServerConnection {}

extension ServerConnection {
    /// The protocol state of one server connection (PROTOCOL.md §4–§11) as a pure value: the
    /// phase, the open calls and the drain. No I/O, no clock, no NIO: every event returns an
    /// action that the handler performs, so each transition is testable on its own.
    ///
    /// `Call` is what the handler keeps per open call (timers, subscriptions, an upload being
    /// assembled); the machine hands it back exactly once, when the call ends or is cancelled, so
    /// its resources are released exactly once.
    ///
    /// Phases and their transitions:
    /// - `awaitingHello`: only HELLO is valid. `handshakeSucceeded` → `ready` (or `draining` when
    ///   the server already drains); any other frame or `drain` → `closed`.
    /// - `ready`: calls open and end. `drain` → `draining`.
    /// - `draining`: GOAWAY sent; open calls finish, new REQUESTs are refused as unavailable.
    ///   The last call to end → `closed`.
    /// - `closed`: terminal; every frame is ignored and nothing more is written.
    struct StateMachine<Call> {
        enum Phase: Hashable, Sendable {
            case awaitingHello
            case ready
            case draining
            case closed
        }

        /// The header fields of a received frame that decide what it means.
        struct Received: Hashable, Sendable {
            var kind: Frame.Kind
            var flags: Frame.Flags
            var callID: UInt32
            var method: UInt16
            var payloadBytes: Int

            init(
                kind: Frame.Kind,
                flags: Frame.Flags = [],
                callID: UInt32 = 0,
                method: UInt16 = 0,
                payloadBytes: Int = 0
            ) {
                self.kind = kind
                self.flags = flags
                self.callID = callID
                self.method = method
                self.payloadBytes = payloadBytes
            }

            init(_ frame: Frame) {
                self.init(
                    kind: frame.kind,
                    flags: frame.flags,
                    callID: frame.callID,
                    method: frame.method,
                    payloadBytes: frame.payload.readableBytes
                )
            }
        }

        /// What the handler does with a received frame.
        enum FrameAction {
            /// Nothing (a frame for a call that already ended, a PONG, anything after close).
            case ignore
            /// Decode the HELLO, answer it, then report `handshakeSucceeded` (or `closeConnection`).
            case handshake
            /// The call is open: run the method (its `Call` is set with `setCall`).
            case openCall(MethodDescriptor)
            /// Answer ERROR on this call; the call was never opened and the connection stays up.
            case rejectCall(UInt32, ModelwireError)
            /// The next chunk of an open client stream.
            case continueStream(UInt32)
            /// The client cancelled: release the call's resources (nil when none were set).
            case cancelCall(Call?)
            /// Answer PONG with the same payload.
            case pong
            /// A protocol violation: send ERROR on call 0, then close (the machine is closed).
            case closeConnection(ModelwireError)
        }

        /// What the handler does after a successful handshake.
        enum HandshakeAction: Hashable {
            case serve
            /// The server drains already: send GOAWAY right after the HELLO.
            case serveAndGoAway(lastCallID: UInt32)
        }

        /// What the handler does when a call ends.
        enum FinishAction {
            /// The call had already ended (cancelled, timed out): write nothing.
            case none
            /// Write the answer, release `call`; close afterwards when `closeAfterwards` (drained).
            case answer(Call?, closeAfterwards: Bool)
        }

        /// What the handler does when the server (or the idle timer) asks the connection to drain.
        enum DrainAction: Hashable {
            case none
            /// Close without a GOAWAY (no HELLO yet).
            case close
            /// Send GOAWAY; close afterwards when no call is open.
            case goAway(lastCallID: UInt32, closeAfterwards: Bool)
        }

        private struct Entry {
            var shape: MethodDescriptor.Shape
            var call: Call?
        }

        private(set) var phase = Phase.awaitingHello
        private var calls: [UInt32: Entry] = [:]
        /// The highest call id a REQUEST opened (GOAWAY's `last_call_id`).
        private(set) var highestCallID: UInt32 = 0
        private let maxConcurrentCalls: Int
        private let maxPingBytes = 8
        /// What this connection may call: `.admin` without authentication, else the role of the
        /// token the HELLO carried (`.none` without one). Set once by the handshake (and by a
        /// token file reload), read by one comparison per call.
        private(set) var role: AccessRole
        /// Whether a connection of role `.none` may call Health.
        private let healthWithoutAuth: Bool

        /// Creates the state of a new connection.
        /// - Parameters:
        ///   - maxConcurrentCalls: Open calls allowed at once (the announced limit).
        ///   - role: The role before the handshake sets one (`.admin` when the server checks no tokens).
        ///   - healthWithoutAuth: Whether role `.none` may call Health.
        init(maxConcurrentCalls: Int, role: AccessRole = .admin, healthWithoutAuth: Bool = false) {
            self.maxConcurrentCalls = maxConcurrentCalls
            self.role = role
            self.healthWithoutAuth = healthWithoutAuth
        }

        /// Sets what the connection may call from now on (the handshake's token, or a reload).
        mutating func authorize(_ role: AccessRole) {
            self.role = role
        }

        /// Calls open now.
        var openCalls: Int { calls.count }

        /// Whether call `id` is open (not ended, cancelled or timed out).
        func isOpen(_ id: UInt32) -> Bool { calls[id] != nil }

        /// Whether the handler may still write frames.
        var canWrite: Bool { phase != .closed }

        // MARK: - Events

        /// A frame arrived.
        mutating func receive(_ frame: Received) -> FrameAction {
            if phase != .closed, frame.flags.contains(.compressed), !frame.kind.mayBeCompressed {
                return closeConnection(
                    ModelwireError(.invalidArgument, "\(frame.kind) frames are sent plain: COMPRESSED is not allowed")
                )
            }
            switch (phase, frame.kind) {
            case (.closed, _):
                return .ignore
            case (.awaitingHello, .hello):
                return .handshake
            case (.awaitingHello, _):
                return closeConnection(
                    ModelwireError(.invalidArgument, "the first frame must be HELLO, got \(frame.kind)")
                )
            case (_, .request):
                return openCall(frame)
            case (_, .message):
                guard let entry = calls[frame.callID], entry.shape == .clientStreaming else { return .ignore }
                return .continueStream(frame.callID)
            case (_, .cancel):
                guard let entry = calls.removeValue(forKey: frame.callID) else { return .ignore }
                return .cancelCall(entry.call)
            case (_, .ping):
                guard frame.payloadBytes <= maxPingBytes else {
                    return closeConnection(
                        ModelwireError(.invalidArgument, "a PING carries at most \(maxPingBytes) bytes")
                    )
                }
                return .pong
            case (_, .pong):
                return .ignore
            default:
                return closeConnection(ModelwireError(.invalidArgument, "a client may not send \(frame.kind) frames"))
            }
        }

        private mutating func openCall(_ frame: Received) -> FrameAction {
            let id = frame.callID
            guard id != 0 else { return closeConnection(ModelwireError(.invalidArgument, "REQUEST on call id 0")) }
            guard calls[id] == nil else {
                return closeConnection(ModelwireError(.invalidArgument, "call id \(id) is already open"))
            }
            highestCallID = max(highestCallID, id)
            guard phase == .ready else {
                return .rejectCall(
                    id,
                    ModelwireError(.unavailable, "the server is draining; reconnect", retryAfterMilliseconds: 0)
                )
            }
            guard let method = MethodDescriptor.lookup(frame.method) else {
                return .rejectCall(
                    id,
                    ModelwireError(.unimplemented, "unknown method id 0x\(String(frame.method, radix: 16))")
                )
            }
            let required = ServiceMethod.requiredRole(method)
            if role < required, let refusal = refusal(method, required: required) {
                return .rejectCall(id, refusal)
            }
            guard calls.count < maxConcurrentCalls else {
                return .rejectCall(
                    id,
                    ModelwireError(
                        .resourceExhausted,
                        "more than \(maxConcurrentCalls) calls open on this connection",
                        retryAfterMilliseconds: 1
                    )
                )
            }
            calls[id] = Entry(shape: method.shape, call: nil)
            return .openCall(method)
        }

        /// Why this connection may not call `method` (nil: Health on role none, allowed).
        private func refusal(_ method: MethodDescriptor, required: AccessRole) -> ModelwireError? {
            guard role == .none else {
                return ModelwireError(
                    .permissionDenied,
                    "\(method.name) needs role \(required); this connection's token has role \(role)"
                )
            }
            if method.method == .health, healthWithoutAuth { return nil }
            return ModelwireError(
                .unauthenticated,
                "\(method.name) needs a token with role \(required); this connection presented none"
            )
        }

        /// The HELLO was valid and answered.
        /// - Parameter serverIsDraining: Whether the server drains already (then the connection drains at once).
        mutating func handshakeSucceeded(serverIsDraining: Bool) -> HandshakeAction {
            guard phase == .awaitingHello else { return .serve }
            if serverIsDraining {
                phase = .draining
                return .serveAndGoAway(lastCallID: highestCallID)
            }
            phase = .ready
            return .serve
        }

        /// Stores the handler's resources of open call `id` (ignored when the call already ended).
        mutating func setCall(_ id: UInt32, _ call: Call) {
            calls[id]?.call = call
        }

        /// Changes the resources of open call `id` in place; returns nil when the call is not open.
        mutating func withCall<R>(_ id: UInt32, _ body: (inout Call?) throws -> R) rethrows -> R? {
            guard calls[id] != nil else { return nil }
            return try body(&calls[id]!.call)
        }

        /// Call `id` ended (answered, failed, timed out).
        mutating func finish(_ id: UInt32) -> FinishAction {
            guard let entry = calls.removeValue(forKey: id) else { return .none }
            return .answer(entry.call, closeAfterwards: phase == .draining && calls.isEmpty)
        }

        /// The server drains, or the connection was idle too long.
        mutating func drain() -> DrainAction {
            switch phase {
            case .awaitingHello:
                phase = .closed
                return .close
            case .ready:
                phase = .draining
                return .goAway(lastCallID: highestCallID, closeAfterwards: calls.isEmpty)
            case .draining, .closed:
                return .none
            }
        }

        /// A protocol violation found by the handler (a bad HELLO, a framing error, a handshake
        /// timeout). Returns false when the connection was already closed (send nothing).
        mutating func failConnection() -> Bool {
            guard phase != .closed else { return false }
            phase = .closed
            return true
        }

        /// The channel closed: every open call's resources, to release.
        mutating func closed() -> [Call] {
            phase = .closed
            let open = calls.values.compactMap(\.call)
            calls.removeAll()
            return open
        }

        private mutating func closeConnection(_ error: ModelwireError) -> FrameAction {
            phase = .closed
            return .closeConnection(error)
        }
    }
}
