import ModelwireCodec
import ModelwireProtocol
import Testing

@testable import ModelwireClient

@Suite struct CallTableTests {
    typealias Table = CallTable<String>

    @Test("unary: open, then the final message delivers and closes the call")
    func unary() {
        var table = Table()
        guard case .send = table.open(1, shape: .unary, sink: "a") else {
            Issue.record("not opened")
            return
        }
        #expect(table.count == 1)
        guard case .deliver("a", final: true) = table.receiveMessage(1, endStream: true) else {
            Issue.record("no delivery")
            return
        }
        #expect(table.count == 0)
        guard case .ignore = table.receiveMessage(1, endStream: true) else {
            Issue.record("late frame not ignored")
            return
        }
    }

    @Test("responses are matched by call id, in any order")
    func outOfOrder() {
        var table = Table()
        for (id, sink) in [(1, "a"), (2, "b"), (3, "c")] { _ = table.open(UInt32(id), shape: .unary, sink: sink) }
        var delivered: [String] = []
        for id: UInt32 in [3, 1, 2] {
            if case .deliver(let sink, final: true) = table.receiveMessage(id, endStream: true) {
                delivered.append(sink)
            }
        }
        #expect(delivered == ["c", "a", "b"])
    }

    @Test("server streaming: messages until END_STREAM")
    func streaming() {
        var table = Table()
        _ = table.open(7, shape: .serverStreaming, sink: "s")
        for _ in 0..<3 {
            guard case .deliver("s", final: false) = table.receiveMessage(7, endStream: false) else {
                Issue.record("x")
                return
            }
        }
        guard case .deliver("s", final: true) = table.receiveMessage(7, endStream: true) else {
            Issue.record("y")
            return
        }
        #expect(table.count == 0)
    }

    @Test("a second response on a unary call is a protocol violation that fails the call and cancels it")
    func unaryViolation() {
        var table = Table()
        _ = table.open(1, shape: .unary, sink: "a")
        guard case .fail("a", let error, sendCancel: true) = table.receiveMessage(1, endStream: false) else {
            Issue.record("not failed")
            return
        }
        #expect(error.code == .internal)
    }

    @Test("an ERROR frame fails only its call")
    func error() {
        var table = Table()
        _ = table.open(1, shape: .unary, sink: "a")
        _ = table.open(2, shape: .unary, sink: "b")
        let notFound = ModelwireError(.notFound, "no model")
        guard case .fail("b", notFound, sendCancel: false) = table.receiveError(2, notFound) else {
            Issue.record("x")
            return
        }
        #expect(table.isOpen(1))
    }

    @Test("duplicate and zero call ids are refused")
    func duplicates() {
        var table = Table()
        _ = table.open(1, shape: .unary, sink: "a")
        guard case .reject("b", _) = table.open(1, shape: .unary, sink: "b") else {
            Issue.record("dup")
            return
        }
        guard case .reject("z", _) = table.open(0, shape: .unary, sink: "z") else {
            Issue.record("zero")
            return
        }
    }

    @Test("cancel removes the call; a cancel that overtakes its start refuses the start")
    func cancel() {
        var table = Table()
        _ = table.open(1, shape: .unary, sink: "a")
        #expect(table.cancel(1) == "a")
        #expect(table.cancel(1) == nil)
        #expect(table.cancel(5) == nil)  // not started yet
        guard case .reject("e", let error) = table.open(5, shape: .unary, sink: "e") else {
            Issue.record("x")
            return
        }
        #expect(error.code == .cancelled)
    }

    @Test("a local deadline removes the call once")
    func timeout() {
        var table = Table()
        _ = table.open(4, shape: .serverStreaming, sink: "t")
        #expect(table.timeOut(4) == "t")
        #expect(table.timeOut(4) == nil)
    }

    @Test("GOAWAY: calls above last_call_id fail as retryable unavailable, others finish, no new calls")
    func goAway() {
        var table = Table()
        for id: UInt32 in 1...4 { _ = table.open(id, shape: .unary, sink: "c\(id)") }
        let (failed, idle) = table.goAway(lastCallID: 2)
        #expect(Set(failed.map(\.0)) == ["c3", "c4"])
        #expect(failed.allSatisfy { $0.1.code == .unavailable && $0.1.retryAfterMilliseconds == 0 })
        #expect(!idle)
        guard case .reject(_, let error) = table.open(9, shape: .unary, sink: "n") else {
            Issue.record("opened")
            return
        }
        #expect(error.code == .unavailable)
        _ = table.receiveMessage(1, endStream: true)
        #expect(!table.isDrainedIdle)
        _ = table.receiveMessage(2, endStream: true)
        #expect(table.isDrainedIdle)
    }

    @Test("closing fails every open call and refuses new ones")
    func close() {
        var table = Table()
        _ = table.open(1, shape: .unary, sink: "a")
        _ = table.open(2, shape: .serverStreaming, sink: "b")
        #expect(Set(table.close(ModelwireError(.unavailable, "gone"))) == ["a", "b"])
        guard case .reject = table.open(3, shape: .unary, sink: "c") else {
            Issue.record("opened")
            return
        }
    }
}
