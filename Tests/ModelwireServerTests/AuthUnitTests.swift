import Foundation
import ModelwireCodec
import ModelwireProtocol
import Testing

@testable import ModelwireServer

/// Token files, SHA-256, the per-call role check and the training caps, without a server.
@Suite("Tokens, roles and training caps")
struct AuthUnitTests {
    @Test(
        "SHA-256 (swift-crypto) matches FIPS 180-4's vectors",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
    )
    func sha256Vectors(input: String, hex: String) {
        #expect(TokenFile.sha256Hex(input) == hex)
    }

    @Test("a token file: parsed, each token found by its hash, a near miss not found")
    func parseAndAuthenticate() throws {
        let json = """
            {"tokens": [
              {"name": "ops", "role": "admin", "sha256": "\(TokenFile.sha256Hex("ops-secret"))"},
              {"name": "app", "role": "predict", "sha256": "\(TokenFile.sha256Hex("app-secret").uppercased())"}
            ]}
            """
        let file = try TokenFile.parse(Data(json.utf8))
        #expect(file.authenticate("ops-secret")?.name == "ops")
        #expect(file.authenticate("ops-secret")?.role == .admin)
        #expect(file.authenticate("app-secret")?.role == .predict)
        #expect(file.authenticate("ops-secreT") == nil)
        #expect(file.authenticate("") == nil)
        #expect(TokenFile.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!TokenFile.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!TokenFile.constantTimeEqual([1, 2, 3], [1, 2]))
    }

    @Test(
        "a bad token file names what is wrong",
        arguments: [
            ("[]", "auth file is not a JSON object with a \"tokens\" array"),
            ("{\"tokens\": [{}]}", "auth file: tokens[0] has no \"name\""),
            (
                "{\"tokens\": [{\"name\": \"a\", \"role\": \"none\", \"sha256\": \"\"}]}",
                "auth file: token \"a\": \"role\" must be predict, train or admin"
            ),
            (
                "{\"tokens\": [{\"name\": \"a\", \"role\": \"train\", \"sha256\": \"abc\"}]}",
                "auth file: token \"a\": \"sha256\" must be 64 hex digits (modelwire-server hash-token prints them)"
            ),
        ]
    )
    func badFiles(json: String, message: String) {
        #expect(throws: TokenFile.Invalid.self) { try TokenFile.parse(Data(json.utf8)) }
        do { _ = try TokenFile.parse(Data(json.utf8)) } catch { #expect("\(error)" == message) }
    }

    @Test("the state machine refuses a call above the connection's role on that call only")
    func stateMachineRoles() {
        var machine = ServerConnection.StateMachine<String>(maxConcurrentCalls: 8, role: .none)
        _ = machine.handshakeSucceeded(serverIsDraining: false)
        machine.authorize(.predict)
        func open(_ method: V1.Method, _ id: UInt32) -> V1.StatusCode? {
            switch machine.receive(.init(kind: .request, callID: id, method: UInt16(method.rawValue))) {
            case .openCall: return nil
            case .rejectCall(_, let error): return error.code
            default: return .internal
            }
        }
        #expect(open(.predict, 1) == nil)
        #expect(open(.train, 2) == .permissionDenied)
        #expect(open(.deleteModel, 3) == .permissionDenied)
        machine.authorize(.none)
        #expect(open(.health, 4) == .unauthenticated)
        machine.authorize(.admin)
        #expect(open(.deleteModel, 5) == nil)
        #expect(machine.phase == .ready)
        var open = ServerConnection.StateMachine<String>(maxConcurrentCalls: 8, role: .none, healthWithoutAuth: true)
        _ = open.handshakeSucceeded(serverIsDraining: false)
        if case .openCall = open.receive(.init(kind: .request, callID: 1, method: UInt16(V1.Method.health.rawValue))) {
        } else {
            Issue.record("Health on role none with healthWithoutAuth was refused")
        }
    }

    @Test("parameter counts and the memory estimate of the reference net (100 → 64 → 64 → 10)")
    func estimates() {
        let request = V1.TrainRequest(
            spec: V1.ModelSpec(
                family: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64), V1.DenseLayerSpec(units: 64)]))
            )
        )
        let shape = TrainingShape(rows: 10_000, features: 100, outputs: 10)
        #expect(request.parameterCount(shape) == 101 * 64 + 65 * 64 + 65 * 10)  // Keras: 11,274
        let memory = request.estimatedMemoryBytes(shape)
        #expect(memory == 1_000_000 * 12 + 11_274 * 16 + 32 * (100 + 10 + 128) * 8)
        #expect(throws: ModelwireError.self) {
            try request.checkResourceCaps(.defaults { $0.maxParameters = 11_273 }, shape: shape)
        }
        #expect(throws: Never.self) { try request.checkResourceCaps(.defaults, shape: shape) }
    }
}

extension TrainingCaps {
    static func defaults(_ edit: (inout TrainingCaps) -> Void) -> TrainingCaps {
        var caps = TrainingCaps.defaults
        edit(&caps)
        return caps
    }
}
