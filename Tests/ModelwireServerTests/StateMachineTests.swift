import ModelwireCodec
import ModelwireProtocol
import Testing

@testable import ModelwireServer

/// `ServerConnection.StateMachine`: every phase against every frame kind, and the call and
/// drain transitions, with no channel.
@Suite("ServerConnection.StateMachine")
struct StateMachineTests {
    typealias Machine = ServerConnection.StateMachine<String>
    typealias Phase = Machine.Phase

    /// The action a frame produced, reduced to its kind (so tables can compare them).
    enum Outcome: Hashable, CustomStringConvertible {
        case ignore, handshake, open
        case reject(V1.StatusCode)
        case continueStream, cancel, pong, close
        var description: String { "\(self)" }
    }

    static func outcome(_ action: Machine.FrameAction) -> Outcome {
        switch action {
        case .ignore: .ignore
        case .handshake: .handshake
        case .openCall: .open
        case .rejectCall(_, let error): .reject(error.code)
        case .continueStream: .continueStream
        case .cancelCall: .cancel
        case .pong: .pong
        case .closeConnection: .close
        }
    }

    static let uploadMethod = UInt16(V1.Method.uploadDataset.rawValue)
    static let healthMethod = UInt16(V1.Method.health.rawValue)

    /// A machine in `phase`; in ready and draining, call 1 (an upload) is open.
    static func machine(in phase: Phase) -> Machine {
        var machine = Machine(maxConcurrentCalls: 4)
        guard phase != .awaitingHello else { return machine }
        _ = machine.handshakeSucceeded(serverIsDraining: false)
        _ = machine.receive(.init(kind: .request, callID: 1, method: uploadMethod))
        switch phase {
        case .draining: _ = machine.drain()
        case .closed: _ = machine.failConnection()
        default: break
        }
        #expect(machine.phase == phase)
        return machine
    }

    /// What each frame kind means in each phase (REQUEST opens call 3; MESSAGE and CANCEL are for call 1).
    static let table: [(Phase, Frame.Kind, Outcome)] = [
        (.awaitingHello, .hello, .handshake), (.awaitingHello, .request, .close), (.awaitingHello, .message, .close),
        (.awaitingHello, .error, .close), (.awaitingHello, .cancel, .close), (.awaitingHello, .ping, .close),
        (.awaitingHello, .pong, .close), (.awaitingHello, .goAway, .close),
        (.awaitingHello, Frame.Kind(rawValue: 99), .close),
        (.ready, .hello, .close), (.ready, .request, .open), (.ready, .message, .continueStream),
        (.ready, .error, .close),
        (.ready, .cancel, .cancel), (.ready, .ping, .pong), (.ready, .pong, .ignore), (.ready, .goAway, .close),
        (.ready, Frame.Kind(rawValue: 99), .close),
        (.draining, .hello, .close), (.draining, .request, .reject(.unavailable)),
        (.draining, .message, .continueStream),
        (.draining, .error, .close), (.draining, .cancel, .cancel), (.draining, .ping, .pong),
        (.draining, .pong, .ignore),
        (.draining, .goAway, .close), (.draining, Frame.Kind(rawValue: 99), .close),
        (.closed, .hello, .ignore), (.closed, .request, .ignore), (.closed, .message, .ignore),
        (.closed, .error, .ignore),
        (.closed, .cancel, .ignore), (.closed, .ping, .ignore), (.closed, .pong, .ignore), (.closed, .goAway, .ignore),
        (.closed, Frame.Kind(rawValue: 99), .ignore),
    ]

    @Test("every phase × every frame kind", arguments: 0..<table.count)
    func phaseByKind(_ row: Int) {
        let (phase, kind, expected) = Self.table[row]
        var machine = Self.machine(in: phase)
        let frame =
            switch kind {
            case .request: Machine.Received(kind: kind, callID: 3, method: Self.healthMethod)
            default: Machine.Received(kind: kind, callID: 1)
            }
        #expect(Self.outcome(machine.receive(frame)) == expected, "\(phase) × \(kind)")
        if expected == .close { #expect(machine.phase == .closed) }
    }

    @Test("every known kind is in the table for every phase")
    func tableIsComplete() {
        for phase in [Phase.awaitingHello, .ready, .draining, .closed] {
            for kind in Frame.Kind.allKnown {
                #expect(Self.table.contains { $0.0 == phase && $0.1 == kind }, "\(phase) × \(kind) missing")
            }
        }
    }

    @Test("COMPRESSED on HELLO, PING, PONG or CANCEL closes the connection; on REQUEST and MESSAGE it is allowed")
    func compressedFlagPerKind() {
        for kind in [Frame.Kind.hello, .ping, .pong, .cancel] {
            for phase in [Phase.awaitingHello, .ready, .draining] {
                var machine = Self.machine(in: phase)
                #expect(
                    Self.outcome(machine.receive(.init(kind: kind, flags: .compressed, callID: 1))) == .close,
                    "\(phase) × compressed \(kind)"
                )
            }
        }
        var machine = Self.machine(in: .ready)
        let compressedRequest = Machine.Received(
            kind: .request,
            flags: .compressed,
            callID: 3,
            method: Self.healthMethod
        )
        #expect(Self.outcome(machine.receive(compressedRequest)) == .open)
        #expect(Self.outcome(machine.receive(.init(kind: .message, flags: .compressed, callID: 77))) == .ignore)
    }

    @Test("REQUEST: call id 0 and a reused id close the connection; an unknown method fails only its call")
    func requestRules() {
        var machine = Self.machine(in: .ready)
        #expect(
            Self.outcome(machine.receive(.init(kind: .request, callID: 9, method: 0x01FF))) == .reject(.unimplemented)
        )
        #expect(machine.phase == .ready)
        #expect(!machine.isOpen(9))
        #expect(Self.outcome(machine.receive(.init(kind: .request, callID: 1, method: Self.healthMethod))) == .close)
        var other = Self.machine(in: .ready)
        #expect(Self.outcome(other.receive(.init(kind: .request, callID: 0, method: Self.healthMethod))) == .close)
    }

    @Test("more open calls than the limit are refused as resource_exhausted with a retry hint")
    func concurrencyLimit() {
        var machine = Self.machine(in: .ready)  // call 1 open
        for id in UInt32(2)...4 {
            #expect(
                Self.outcome(machine.receive(.init(kind: .request, callID: id, method: Self.healthMethod))) == .open
            )
        }
        guard
            case .rejectCall(5, let error) = machine.receive(
                .init(kind: .request, callID: 5, method: Self.healthMethod)
            )
        else {
            Issue.record("the fifth call was not refused")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(error.retryAfterMilliseconds != nil)
        #expect(machine.openCalls == 4)
    }

    @Test("a call's resources come back exactly once: on finish or on cancel, never both")
    func resourcesOnce() {
        var machine = Self.machine(in: .ready)
        machine.setCall(1, "upload-1")
        guard case .cancelCall("upload-1") = machine.receive(.init(kind: .cancel, callID: 1)) else {
            Issue.record("cancel did not return the resources")
            return
        }
        guard case .none = machine.finish(1) else {
            Issue.record("a cancelled call finished again")
            return
        }
        #expect(Self.outcome(machine.receive(.init(kind: .cancel, callID: 1))) == .ignore)
        _ = machine.receive(.init(kind: .request, callID: 2, method: Self.healthMethod))
        machine.setCall(2, "health-2")
        guard case .answer("health-2", closeAfterwards: false) = machine.finish(2) else {
            Issue.record("finish did not return the resources")
            return
        }
        guard case .none = machine.finish(2) else {
            Issue.record("a call finished twice")
            return
        }
    }

    @Test("MESSAGE continues only an open client stream; for other calls it is ignored")
    func messagesContinueUploadsOnly() {
        var machine = Self.machine(in: .ready)
        _ = machine.receive(.init(kind: .request, callID: 2, method: Self.healthMethod))
        #expect(Self.outcome(machine.receive(.init(kind: .message, callID: 1))) == .continueStream)
        #expect(Self.outcome(machine.receive(.init(kind: .message, callID: 2))) == .ignore)
        #expect(Self.outcome(machine.receive(.init(kind: .message, callID: 7))) == .ignore)
    }

    @Test("a PING of more than 8 bytes closes the connection")
    func pingLimit() {
        var machine = Self.machine(in: .ready)
        #expect(Self.outcome(machine.receive(.init(kind: .ping, payloadBytes: 8))) == .pong)
        #expect(Self.outcome(machine.receive(.init(kind: .ping, payloadBytes: 9))) == .close)
    }

    @Test("drain: before HELLO it closes; with no call open GOAWAY then close; else the last call's end closes")
    func drain() {
        var fresh = Machine(maxConcurrentCalls: 4)
        #expect(fresh.drain() == .close)
        #expect(fresh.phase == .closed)

        var idle = Machine(maxConcurrentCalls: 4)
        _ = idle.handshakeSucceeded(serverIsDraining: false)
        #expect(idle.drain() == .goAway(lastCallID: 0, closeAfterwards: true))

        var busy = Self.machine(in: .ready)
        _ = busy.receive(.init(kind: .request, callID: 5, method: Self.healthMethod))
        #expect(busy.drain() == .goAway(lastCallID: 5, closeAfterwards: false))
        #expect(busy.drain() == .none)
        guard case .answer(_, closeAfterwards: false) = busy.finish(1) else {
            Issue.record("call 1 did not finish")
            return
        }
        guard case .answer(_, closeAfterwards: true) = busy.finish(5) else {
            Issue.record("the last call did not close")
            return
        }
    }

    @Test("a HELLO while the server drains serves and sends GOAWAY at once")
    func helloWhileDraining() {
        var machine = Machine(maxConcurrentCalls: 4)
        #expect(machine.handshakeSucceeded(serverIsDraining: true) == .serveAndGoAway(lastCallID: 0))
        #expect(machine.phase == .draining)
    }

    @Test("close hands back every open call's resources; nothing is written afterwards")
    func closeReleasesEverything() {
        var machine = Self.machine(in: .ready)
        machine.setCall(1, "a")
        _ = machine.receive(.init(kind: .request, callID: 2, method: Self.healthMethod))
        machine.setCall(2, "b")
        #expect(Set(machine.closed()) == ["a", "b"])
        #expect(!machine.canWrite)
        #expect(machine.openCalls == 0)
        let failedAgain = machine.failConnection()
        #expect(!failedAgain)
    }
}
