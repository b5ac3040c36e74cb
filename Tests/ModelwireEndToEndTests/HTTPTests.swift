import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import NIOCore
import Testing

/// The HTTP side port (issue 13): probes, `/metrics`, the V2 inference API, auth and bad input,
/// against a real server on loopback port 0.
@Suite("HTTP port", .blockingThreads, .blockingThreads)
struct HTTPTests {
    /// A real server with `--http-port 0`: its binary endpoint and its HTTP endpoint.
    struct Endpoints {
        let binary: TestServer
        let http: String
    }

    static func withServer<R>(
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (Endpoints) async throws -> R
    ) async throws -> R {
        let path = TestServer.temporaryDirectory()
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, repositoryPath: path)
        configuration.shutdownGracePeriodMilliseconds = 2_000
        configuration.http.port = 0
        configure(&configuration)
        let (addresses, continuation) = AsyncStream<(String, SocketAddress)>.makeStream()
        let server = ModelServer(
            configuration: configuration,
            logger: TestServer.quiet,
            onListening: { continuation.yield(("binary", $0)) },
            onHTTPListening: { continuation.yield(("http", $0)) }
        )
        let task = Task { try await server.run() }
        var found: [String: Int] = [:]
        for await (kind, address) in addresses {
            found[kind] = address.port
            if found.count == 2 { break }
        }
        guard let binary = found["binary"], let http = found["http"] else {
            throw ModelwireErrorForTests("server did not start")
        }
        let endpoints = Endpoints(
            binary: TestServer(endpoint: "127.0.0.1:\(binary)", repository: path),
            http: "127.0.0.1:\(http)"
        )
        return try await TestServer.serving(task, ready: endpoints.binary) { try await body(endpoints) }
    }

    /// An HTTP/1.1 response, as read off the socket.
    struct Response {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
        }
    }

    /// Sends one request on `connection` and reads its response (Content-Length framed).
    static func request(
        _ connection: RawConnection,
        _ method: String,
        _ path: String,
        headers: [String: String] = [:],
        body: [UInt8] = []
    ) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try connection.send(Array(head.utf8) + body)
        return try readResponse(connection, hasBody: method != "HEAD")
    }

    /// Reads one response; `hasBody: false` for the answer to a HEAD (headers only).
    static func readResponse(_ connection: RawConnection, hasBody: Bool = true) throws -> Response {
        var bytes: [UInt8] = []
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            let more = try connection.receiveSome()
            guard !more.isEmpty else { throw ModelwireErrorForTests("closed before a response head") }
            bytes += more
            if bytes.count >= 4 {
                headerEnd = (0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == separator }
            }
        }
        let head = String(decoding: bytes[0..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1])!
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        let length = hasBody ? Int(headers["content-length"] ?? "0")! : 0
        var body = Array(bytes[(headerEnd! + 4)...])
        while body.count < length {
            let more = try connection.receiveSome()
            guard !more.isEmpty else { throw ModelwireErrorForTests("closed inside a response body") }
            body += more
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func infer(_ rows: [[Float]], name: String = "input", datatype: String = "FP32") -> [UInt8] {
        let data = rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",")
        let features = rows.first?.count ?? 0
        return Array(
            """
            {"inputs":[{"name":"\(name)","datatype":"\(datatype)","shape":[\(rows.count),\(features)],"data":[\(data)]}]}
            """.utf8
        )
    }

    /// Trains a small iris classifier named `iris` through the binary port.
    static func trainIris(_ server: TestServer) async throws {
        let data = try Fixtures.dataset("iris")
        try await server.client { client in
            _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: data, epochs: 5))
        }
    }

    @Test("probes: live always, ready once the repository is loaded")
    func probes() async throws {
        try await Self.withServer { server in
            let connection = try RawConnection(server.http)
            let live = try Self.request(connection, "GET", "/v2/health/live")
            #expect(live.status == 200)
            #expect(live.json["live"] as? Bool == true)
            let ready = try Self.request(connection, "GET", "/v2/health/ready")  // keep-alive: same connection
            #expect(ready.status == 200)
            #expect(ready.json["ready"] as? Bool == true)
            let metadata = try Self.request(connection, "GET", "/v2")
            #expect(metadata.status == 200)
            #expect(metadata.json["name"] as? String == "modelwire-server")
            // Pipelined: two requests in one write, answered in order on the same connection.
            try connection.send(Array("GET /v2/health/live HTTP/1.1\r\n\r\nGET /v2 HTTP/1.1\r\n\r\n".utf8))
            var text = ""
            while text.components(separatedBy: "HTTP/1.1 200").count < 3 {
                let more = try connection.receiveSome()
                guard !more.isEmpty else { break }
                text += String(decoding: more, as: UTF8.self)
            }
            let livePosition = try #require(text.range(of: "\"live\":true"))
            let name = try #require(text.range(of: "\"name\":\"modelwire-server\""))
            #expect(livePosition.lowerBound < name.lowerBound)  // in order
            #expect(try Self.request(connection, "HEAD", "/v2").status == 405)
        }
    }

    @Test("infer answers what the binary predict answers, and metrics count both")
    func inferMatchesBinaryPredictAndMetrics() async throws {
        try await Self.withServer { server in
            try await Self.trainIris(server.binary)
            let rows: [[Float]] = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
            let binary = try await server.binary.client { client in
                try await client.predict(
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "iris"),
                        inputs: V1.Tensor(columns: 4, values: rows.flatMap { $0 }),
                        includeProbabilities: true
                    )
                )
            }
            let connection = try RawConnection(server.http)
            let response = try Self.request(connection, "POST", "/v2/models/iris/infer", body: Self.infer(rows))
            #expect(response.status == 200, "\(response.text)")
            let outputs = response.json["outputs"] as? [[String: Any]] ?? []
            let label = outputs.first { $0["name"] as? String == "label" }
            let probabilities = outputs.first { $0["name"] as? String == "probabilities" }
            let expectedLabels = binary.classIds.map {
                binary.classNames.isEmpty ? "\($0)" : binary.classNames[Int($0)]
            }
            #expect(label?["data"] as? [String] == expectedLabels)
            #expect(label?["datatype"] as? String == "BYTES")
            let values = (probabilities?["data"] as? [NSNumber])?.map { $0.floatValue }
            #expect(values == binary.scores?.values)
            #expect(probabilities?["shape"] as? [Int] == [2, 3])

            let model = try Self.request(connection, "GET", "/v2/models/iris")
            #expect(model.status == 200)
            #expect(model.json["versions"] as? [String] == ["1"])
            let ready = try Self.request(connection, "GET", "/v2/models/iris/versions/1/ready")
            #expect(ready.status == 200)

            let metrics = try Self.request(connection, "GET", "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            for line in [
                "modelwire_calls_total{method=\"Predict\",status=\"ok\"} 1",
                "modelwire_calls_total{method=\"Train\",status=\"ok\"} 1",
                "modelwire_http_requests_total{route=\"infer\",code=\"200\"} 1",
                "modelwire_predicted_rows_total 4",
                "modelwire_models_loaded 1",
                "modelwire_model_versions_loaded 1",
                "modelwire_jobs{state=\"succeeded\"} 1",
                "modelwire_in_flight_calls 0",
                "modelwire_predict_queue_depth 0",
            ] {
                #expect(text.contains(line), "missing \(line)")
            }
            for name in [
                "modelwire_call_duration_seconds_bucket{method=\"Predict\"",
                "modelwire_received_bytes_total{port=\"binary\"}",
                "modelwire_sent_bytes_total{port=\"http\"}", "modelwire_open_connections{port=\"http\"} 1",
                "modelwire_predict_batch_rows_count", "modelwire_training_samples_per_second",
            ] {
                #expect(text.contains(name), "missing \(name)")
            }
        }
    }

    @Test("bad input: V2 error JSON with the right status, never a crash")
    func badInput() async throws {
        try await Self.withServer(configure: { $0.http.maxBodyBytes = 4096 }) { server in
            try await Self.trainIris(server.binary)
            let connection = try RawConnection(server.http)
            let cases: [(String, String, [UInt8], Int)] = [
                ("POST", "/v2/models/iris/infer", Array("{not json".utf8), 400),
                ("POST", "/v2/models/iris/infer", Self.infer([[1, 2, 3]]), 400),  // wrong shape
                ("POST", "/v2/models/iris/infer", Self.infer([[1, 2, 3, 4]], datatype: "INT64"), 400),
                ("POST", "/v2/models/iris/infer", Self.infer([[1, 2, 3, 4]], name: "x"), 400),
                ("POST", "/v2/models/nope/infer", Self.infer([[1, 2, 3, 4]]), 404),
                ("POST", "/v2/models/iris/versions/9/infer", Self.infer([[1, 2, 3, 4]]), 404),
                ("POST", "/v2/models/iris/versions/x/infer", Self.infer([[1, 2, 3, 4]]), 400),
                ("GET", "/v2/models/iris/infer", [], 405),
                ("GET", "/nowhere", [], 404),
            ]
            for (method, path, body, status) in cases {
                let response = try Self.request(connection, method, path, body: body)
                #expect(response.status == status, "\(method) \(path): \(response.text)")
                #expect(response.json["error"] is String, "\(method) \(path): \(response.text)")
            }
            // Over the body limit: 413, then the connection closes.
            let large = try RawConnection(server.http)
            let tooLarge = try Self.request(
                large,
                "POST",
                "/v2/models/iris/infer",
                body: [UInt8](repeating: 32, count: 5000)
            )
            #expect(tooLarge.status == 413)
            #expect(tooLarge.json["error"] is String)
            #expect(try large.readUntilClosed())
            // Headers over the limit: 431.
            let headers = try RawConnection(server.http)
            let huge = try Self.request(
                headers,
                "GET",
                "/v2",
                headers: ["X-Filler": String(repeating: "a", count: 20_000)]
            )
            #expect(huge.status == 431)
            // Not HTTP at all: 400 and close.
            let garbage = try RawConnection(server.http)
            try garbage.send(Array("\u{1}\u{2}nonsense\r\n\r\n".utf8))
            let malformed = try Self.readResponse(garbage)
            #expect(malformed.status == 400)
            // The server still serves.
            let after = try Self.request(connection, "GET", "/v2/health/live")
            #expect(after.status == 200)
        }
    }

    @Test("auth: 401 without or with a wrong token, 403 below the role, probes exempt")
    func authentication() async throws {
        let file = try AuthTests.authFile(AuthTests.tokens)
        try await Self.withServer(configure: {
            $0.authentication.authFile = file
            $0.authentication.healthWithoutAuth = true
            $0.http.metricsRole = .admin
        }) { server in
            let connection = try RawConnection(server.http)
            #expect(try Self.request(connection, "GET", "/v2/health/ready").status == 200)
            #expect(try Self.request(connection, "GET", "/v2/health/live").status == 200)
            let missing = try Self.request(connection, "GET", "/v2")
            #expect(missing.status == 401)
            #expect(missing.json["error"] is String)
            #expect(missing.headers["www-authenticate"] == "Bearer")
            let wrong = try Self.request(connection, "GET", "/v2", headers: ["Authorization": "Bearer nope"])
            #expect(wrong.status == 401)
            let predict = ["Authorization": "Bearer \(AuthTests.tokens[.predict]!)"]
            #expect(try Self.request(connection, "GET", "/v2", headers: predict).status == 200)
            #expect(try Self.request(connection, "GET", "/v2/models/none", headers: predict).status == 404)
            let forbidden = try Self.request(connection, "GET", "/metrics", headers: predict)
            #expect(forbidden.status == 403)
            #expect(forbidden.json["error"] is String)
            let admin = ["Authorization": "Bearer \(AuthTests.tokens[.admin]!)"]
            #expect(try Self.request(connection, "GET", "/metrics", headers: admin).status == 200)
        }
    }

    @Test("--max-connections holds on the HTTP port too: one more gets 503 with the V2 error JSON")
    func connectionCap() async throws {
        try await Self.withServer(configure: { $0.maxConnections = 2 }) { server in
            let first = try RawConnection(server.http)
            let second = try RawConnection(server.http)
            #expect(try Self.request(first, "GET", "/v2/health/live").status == 200)
            #expect(try Self.request(second, "GET", "/v2/health/live").status == 200)
            let third = try RawConnection(server.http)
            let refused = try Self.readResponse(third)
            #expect(refused.status == 503)
            #expect((refused.json["error"] as? String)?.contains("--max-connections") == true)
            #expect(refused.headers["connection"] == "close")
            // The binary port keeps its own count: still open to clients.
            #expect(try await server.binary.client { try await $0.health().live })
        }
    }

    @Test("metrics off: no /metrics, the V2 API still serves")
    func metricsOff() async throws {
        try await Self.withServer(configure: { $0.http.metrics = .off }) { server in
            let connection = try RawConnection(server.http)
            #expect(try Self.request(connection, "GET", "/metrics").status == 404)
            #expect(try Self.request(connection, "GET", "/v2/health/live").status == 200)
        }
    }
}
