import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireServer
import ModelwireTestSupport
import Testing

/// The web console on the HTTP port (issue 13): its routes, escaping and auth, against a real
/// server on loopback port 0 (the pages' rendering on its own: ModelwireServerTests/ConsoleRenderingTests;
/// in a real browser: tools/clients/python/tests/test_console_browser.py).
@Suite("Console", .blockingThreads)
struct ConsoleTests {
    static func occurrences(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// A dense classifier on iris with a validation split: a curve per epoch.
    static func denseRequest(model: String, data: V1.Dataset, epochs: UInt32) -> V1.TrainRequest {
        var request = Fixtures.trainRequest(
            model: model,
            data: data,
            spec: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 8)])),
            epochs: epochs
        )
        request.options?.validationSplit = 0.2
        return request
    }

    @Test("pages: the front page, a version's curves and confusion matrix, a job; HTML errors")
    func pages() async throws {
        try await HTTPTests.withServer { server in
            let data = try Fixtures.dataset("iris")
            let (result, events) = try await server.binary.client { client in
                try await client.trainToResult(Self.denseRequest(model: "iris", data: data, epochs: 6))
            }
            let jobID = try #require(events.first?.jobId)
            let connection = try RawConnection(server.http)

            let index = try HTTPTests.request(connection, "GET", "/")
            #expect(index.status == 200)
            #expect(index.headers["content-type"] == "text/html; charset=utf-8")
            #expect(index.headers["content-security-policy"]?.hasPrefix("default-src 'none'") == true)
            #expect(index.text.contains("<a href=\"/models/iris/versions/\(result.version)\">iris</a>"))
            #expect(index.text.contains("<a href=\"/jobs/\(jobID)\">") && index.text.contains("succeeded"))
            #expect(index.text.contains("epoch 6/6"))

            let version = try HTTPTests.request(connection, "GET", "/models/iris/versions/\(result.version)")
            #expect(version.status == 200)
            let polylines = version.text.components(separatedBy: "points=\"").dropFirst().map {
                $0.prefix { $0 != "\"" }.split(separator: " ").count
            }
            #expect(polylines == [6, 6, 6, 6])  // training and validation loss, training and validation accuracy
            let cells = version.text.components(separatedBy: "<td class=\"cm").dropFirst().compactMap {
                Int($0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
            }
            #expect(cells.count == 9 && cells.reduce(0, +) == 150)  // every row the job was given
            #expect(try HTTPTests.request(connection, "GET", "/models/iris").text == version.text)  // the latest

            let job = try HTTPTests.request(connection, "GET", "/jobs/\(jobID)")
            #expect(job.status == 200)
            #expect(job.text.contains("succeeded") && Self.occurrences("<polyline", in: job.text) == 4)
            #expect(!job.text.contains("http-equiv"))  // no reload once it has ended

            let missing = try HTTPTests.request(connection, "GET", "/models/nope/versions/1")
            #expect(missing.status == 404 && missing.headers["content-type"] == "text/html; charset=utf-8")
            #expect(missing.text.contains("does not exist"))
            #expect(try HTTPTests.request(connection, "GET", "/models/iris/versions/zero").status == 404)
            #expect(try HTTPTests.request(connection, "GET", "/jobs/job-none").status == 404)
            #expect(try HTTPTests.request(connection, "GET", "/models/iris/x/y").status == 404)
            #expect(try HTTPTests.request(connection, "POST", "/").status == 405)
            // The V2 API beside it keeps its JSON errors.
            #expect(try HTTPTests.request(connection, "GET", "/v2/models/nope").json["error"] is String)
            let metrics = try HTTPTests.request(connection, "GET", "/metrics").text
            #expect(metrics.contains("modelwire_http_requests_total{route=\"console\",code=\"200\"} 4"))
            #expect(metrics.contains("modelwire_http_request_duration_seconds_count{route=\"console\"} 9"))
        }
    }

    @Test("a class named like markup is shown as text on every page")
    func escapesUserStrings() async throws {
        try await HTTPTests.withServer { server in
            let rows: [Float] = [0, 0.1, 0.1, 0, 1, 0.9, 0.9, 1]
            let data = V1.Dataset(
                featureNames: ["<img src=x onerror=alert(1)>", "y"],
                features: V1.Tensor(columns: 2, values: Array(repeating: rows, count: 5).flatMap { $0 }),
                classNames: ["<script>alert(1)</script>", "b&b"],
                classIds: Array(repeating: [0, 0, 1, 1], count: 5).flatMap { $0 }
            )
            _ = try await server.binary.client { client in
                try await client.trainToResult(Fixtures.trainRequest(model: "marked", data: data))
            }
            let connection = try RawConnection(server.http)
            let page = try HTTPTests.request(connection, "GET", "/models/marked/versions/1").text
            #expect(!page.contains("<script") && !page.contains("<img"))
            #expect(Self.occurrences("&lt;script&gt;alert(1)&lt;/script&gt;", in: page) >= 3)  // classes, header, row
            #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;") && page.contains("b&amp;b"))
        }
    }

    @Test("a running job's page shows its curve so far and reloads itself")
    func runningJob() async throws {
        try await HTTPTests.withServer { server in
            let data = try Fixtures.dataset("iris")
            try await server.binary.client { client in
                var events = try await client.train(Self.denseRequest(model: "long", data: data, epochs: 100_000))
                    .makeAsyncIterator()
                let jobID = try #require(try await events.next()?.jobId)
                let connection = try RawConnection(server.http)
                let deadline = ContinuousClock.now + .seconds(30)
                var page = ""
                while ContinuousClock.now < deadline {
                    page = try HTTPTests.request(connection, "GET", "/jobs/\(jobID)").text
                    if page.contains("<polyline") { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(page.contains("<polyline") && page.contains("running"))
                #expect(page.contains("<meta http-equiv=\"refresh\" content=\"2\">"))
                _ = try await client.cancelJob(id: jobID)
                do { while try await events.next() != nil {} } catch {}  // the stream ends with the cancellation
                let ended = try HTTPTests.request(connection, "GET", "/jobs/\(jobID)").text
                #expect(ended.contains("cancelled") && ended.contains("ended without a model"))
            }
        }
    }

    @Test("auth: the console needs a token (Bearer, or Basic from a browser's prompt); jobs need train")
    func authentication() async throws {
        let file = try AuthTests.authFile(AuthTests.tokens)
        try await HTTPTests.withServer(configure: {
            $0.authentication.authFile = file
            $0.authentication.healthWithoutAuth = true  // the test server's readiness check
        }) { server in
            let connection = try RawConnection(server.http)
            let anonymous = try HTTPTests.request(connection, "GET", "/")
            #expect(anonymous.status == 401 && anonymous.text.contains("Bearer token"))
            #expect(anonymous.headers["content-type"] == "text/html; charset=utf-8")
            #expect(anonymous.headers["www-authenticate"]?.contains("Basic realm=\"Modelwire console\"") == true)
            func basic(_ token: String) -> [String: String] {
                ["Authorization": "Basic " + Data("anyone:\(token)".utf8).base64EncodedString()]
            }
            #expect(try HTTPTests.request(connection, "GET", "/", headers: basic("wrong")).status == 401)
            let predict = try HTTPTests.request(connection, "GET", "/", headers: basic(AuthTests.tokens[.predict]!))
            #expect(predict.status == 200 && predict.text.contains("needs a token with role train"))
            let job = try HTTPTests.request(
                connection,
                "GET",
                "/jobs/job-x",
                headers: basic(AuthTests.tokens[.predict]!)
            )
            #expect(job.status == 403)
            let train = ["Authorization": "Bearer \(AuthTests.tokens[.train]!)"]
            let full = try HTTPTests.request(connection, "GET", "/", headers: train)
            #expect(full.status == 200 && full.text.contains("No jobs yet"))
            #expect(try HTTPTests.request(connection, "GET", "/jobs/job-x", headers: train).status == 404)
            // Basic is the console's alone: the V2 API takes Bearer only.
            #expect(
                try HTTPTests.request(connection, "GET", "/v2", headers: basic(AuthTests.tokens[.admin]!)).status == 401
            )
        }
    }
}
