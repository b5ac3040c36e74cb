import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

@Suite struct EndpointTests {
    @Test(
        "parses host:port, host, and bracketed IPv6",
        arguments: [
            ("127.0.0.1:7411", "127.0.0.1", 7411),
            ("localhost", "localhost", 7411),
            ("example.com:9000", "example.com", 9000),
            ("[::1]:8080", "::1", 8080),
            ("[::1]", "::1", 7411),
            (" 10.0.0.2:1 ", "10.0.0.2", 1),
        ]
    )
    func parses(text: String, host: String, port: Int) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
    }

    @Test(
        "rejects malformed addresses with invalidArgument",
        arguments: ["", ":7411", "host:", "host:0", "host:65536", "host:port", "::1:80", "[::1", "[::1]x"]
    )
    func rejects(text: String) {
        #expect {
            try Endpoint(parsing: text)
        } throws: { error in
            (error as? ModelwireError)?.code == .invalidArgument
        }
    }

    @Test("a URL is refused with what to write instead")
    func url() {
        let error = #expect(throws: ModelwireError.self) { try Endpoint(parsing: "http://127.0.0.1:7411") }
        #expect(error?.message == "'http://127.0.0.1:7411': give host:port without 'http://' (e.g. 127.0.0.1:7411)")
    }

    @Test("prints IPv6 hosts in brackets")
    func description() {
        #expect(Endpoint(host: "::1", port: 80).description == "[::1]:80")
        #expect(Endpoint(host: "a", port: 1).description == "a:1")
    }
}
