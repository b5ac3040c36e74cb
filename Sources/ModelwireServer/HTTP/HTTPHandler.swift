import Foundation
import Logging
import ModelwireCodec
import ModelwireML
import ModelwireProtocol
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// What every HTTP connection shares.
struct HTTPContext: Sendable {
    let service: ModelService
    let workers: NIOThreadPool
    let settings: ServerConfiguration.HTTP
    /// What `/metrics` renders; nil when metrics are off.
    let metricsFactory: ServerMetricsFactory?
    let logger: Logger
}

/// Serves one HTTP/1.1 connection of the side port: `/metrics`, the `/v2/health` probes, the
/// Open Inference Protocol (`InferenceProtocol`) and the web console (`Console`: `/`,
/// `/models/…`, `/jobs/…`). Requests are answered one at a time, in order (a pipelined request
/// waits in `queued` until the one before is answered). Small infers go to the loop's
/// `PredictBatcher`, the same as the binary Predict, so they batch with it; large ones run on the
/// worker pool.
///
/// Every failure is the V2 error JSON (on a console page: an HTML page) with its status: 400 (bad JSON, shape, datatype), 401/403
/// (token, role), 404 (unknown route or model), 405, 413 (body over `maxBodyBytes`), 431 (headers
/// over `maxHeaderBytes`), 429/503 (queue full, loading or draining). A request whose bytes
/// cannot be trusted (too large, unparsable) is answered, then the connection is closed.
final class HTTPHandler: ChannelInboundHandler, PredictSink {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// Waiting for a request head.
        case idle
        /// Reading the body of `head`.
        case body(HTTPRequestHead, started: NIODeadline)
        /// The request is being answered (a predict in the batcher or on the worker pool).
        case answering
        /// After an answer with `Connection: close` or an error that closes.
        case closing
    }

    /// The infer waiting for its predict.
    private struct PendingInfer {
        let callID: UInt32
        let request: InferenceProtocol.InferRequest
        let task: V1.Task
        let keepAlive: Bool
        let started: NIODeadline
    }

    private let shared: HTTPContext
    private let batcher: PredictBatcher
    private var context: ChannelHandlerContext?
    private var phase = Phase.idle
    private var body = ByteBuffer()
    private var pending: PendingInfer?
    private var nextCallID: UInt32 = 0
    /// Request parts that arrived while a request was answered (HTTP pipelining), bounded.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private static let maxQueuedParts = 256

    init(shared: HTTPContext, batcher: PredictBatcher) {
        self.shared = shared
        self.batcher = batcher
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending = nil
        phase = .closing
        queued.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch phase {
        case .answering:
            guard queued.count < Self.maxQueuedParts else {
                context.close(promise: nil)
                return
            }
            queued.append(part)
        case .closing:
            return
        case .idle, .body:
            receive(part)
        }
    }

    private func receive(_ part: HTTPServerRequestPart) {
        switch (part, phase) {
        case (.head(let head), .idle):
            let started = NIODeadline.now()
            let headerBytes =
                head.uri.utf8.count + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            guard headerBytes <= shared.settings.maxHeaderBytes else {
                fail(
                    HTTPError(
                        status: 431,
                        message:
                            "the request's headers are \(headerBytes) bytes, over the limit of \(shared.settings.maxHeaderBytes)",
                        close: true
                    ),
                    route: "other",
                    started: started,
                    keepAlive: false
                )
                return
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > shared.settings.maxBodyBytes
            {
                fail(
                    Self.bodyTooLarge(length, shared.settings.maxBodyBytes),
                    route: "other",
                    started: started,
                    keepAlive: false
                )
                return
            }
            body.clear()
            phase = .body(head, started: started)
        case (.body(var chunk), .body(_, let started)):
            guard body.readableBytes + chunk.readableBytes <= shared.settings.maxBodyBytes else {
                fail(
                    Self.bodyTooLarge(body.readableBytes + chunk.readableBytes, shared.settings.maxBodyBytes),
                    route: "other",
                    started: started,
                    keepAlive: false
                )
                return
            }
            body.writeBuffer(&chunk)
        case (.end, .body(let head, let started)):
            phase = .answering
            route(head, started: started)
        default:
            break  // parts after a failed request, until its connection closes
        }
    }

    private static func bodyTooLarge(_ bytes: Int, _ limit: Int) -> HTTPError {
        HTTPError(status: 413, message: "the request body is \(bytes) bytes, over the limit of \(limit)", close: true)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError {
            let status = parse == .headerOverflow ? 431 : 400
            let message =
                parse == .headerOverflow ? "the request's headers are too large" : "malformed HTTP request: \(parse)"
            if case .answering = phase {
                context.close(promise: nil)  // an answer is already under way: no second response
                return
            }
            fail(
                HTTPError(status: status, message: message, close: true),
                route: "other",
                started: .now(),
                keepAlive: false
            )
        } else {
            shared.logger.debug("HTTP connection error: \(error)")
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if case .idle = phase { context.close(promise: nil) }  // a keep-alive connection left unused
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Routing

    private func route(_ head: HTTPRequestHead, started: NIODeadline) {
        let keepAlive = head.isKeepAlive
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = path.split(separator: "/").map(String.init)
        let routeName: String
        let required: AccessRole?
        let allowed: HTTPMethod
        switch parts.count {
        case 3 where parts[0] == "v2" && parts[1] == "health" && (parts[2] == "live" || parts[2] == "ready"):
            (routeName, required, allowed) = ("health", nil, .GET)
        case 1 where parts[0] == "metrics":
            (routeName, required, allowed) = ("metrics", shared.settings.metricsRole, .GET)
        case 1 where parts[0] == "v2":
            (routeName, required, allowed) = ("server_metadata", .predict, .GET)
        case _ where Console.isPage(parts):
            (routeName, required, allowed) = ("console", .predict, .GET)
        case _ where parts.count >= 3 && parts[0] == "v2" && parts[1] == "models":
            switch parts.last {
            case "infer": (routeName, required, allowed) = ("infer", .predict, .POST)
            case "ready": (routeName, required, allowed) = ("model_ready", .predict, .GET)
            default: (routeName, required, allowed) = ("model_metadata", .predict, .GET)
            }
        default:
            fail(
                HTTPError(status: 404, message: "no such endpoint: \(path)"),
                route: "other",
                started: started,
                keepAlive: keepAlive
            )
            return
        }
        do throws(HTTPError) {
            var role = AccessRole.admin
            if let required { role = try authorize(head, required, acceptBasic: routeName == "console") }
            guard head.method == allowed else {
                throw HTTPError(status: 405, message: "\(path) takes \(allowed.rawValue), not \(head.method.rawValue)")
            }
            switch routeName {
            case "health":
                try health(ready: parts[2] == "ready", keepAlive: keepAlive, started: started)
            case "metrics":
                try metrics(keepAlive: keepAlive, started: started)
            case "console":
                let page = try Console.page(parts, service: shared.service, role: role)
                respondHTML(200, page, started: started, keepAlive: keepAlive)
            case "server_metadata":
                let body = InferenceProtocol.serverMetadata(
                    name: shared.service.configuration.serverName,
                    version: shared.service.configuration.serverVersion
                )
                respond(200, json: body, route: routeName, started: started, keepAlive: keepAlive)
            default:
                try model(parts, route: routeName, head: head, started: started)
            }
        } catch {
            fail(error, route: routeName, started: started, keepAlive: keepAlive)
        }
    }

    /// Checks the `Authorization: Bearer TOKEN` header against the token file (when
    /// authentication is on): 401 without a known token, 403 when its role is too low.
    /// - Parameter acceptBasic: Also take `Authorization: Basic` with the token as the password
    ///   (any user name): what a browser sends after its own login prompt, for the console.
    /// - Returns: The token's role (`.admin` when authentication is off).
    private func authorize(
        _ head: HTTPRequestHead,
        _ required: AccessRole,
        acceptBasic: Bool = false
    ) throws(HTTPError) -> AccessRole {
        let authenticator = shared.service.authenticator
        guard authenticator.isEnabled else { return .admin }
        guard required > .none else { return .none }
        let header = head.headers.first(name: "authorization") ?? ""
        let token: String
        if header.hasPrefix("Bearer ") {
            token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        } else if acceptBasic, header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst("Basic ".count))),
            let credentials = String(data: decoded, encoding: .utf8), let colon = credentials.firstIndex(of: ":")
        {
            token = String(credentials[credentials.index(after: colon)...])
        } else {
            throw HTTPError(status: 401, message: "this endpoint needs an Authorization: Bearer token")
        }
        guard let entry = authenticator.current.authenticate(token) else {
            throw HTTPError(status: 401, message: "the bearer token is not valid")
        }
        guard entry.role >= required else {
            throw HTTPError(
                status: 403,
                message: "this endpoint needs role \(required); the token has role \(entry.role)"
            )
        }
        return entry.role
    }

    private func health(ready: Bool, keepAlive: Bool, started: NIODeadline) throws(HTTPError) {
        guard ready else {
            respond(200, json: "{\"live\":true}", route: "health", started: started, keepAlive: keepAlive)
            return
        }
        let service = shared.service
        let isReady = service.repository.isLoaded && !service.isDraining
        respond(
            isReady ? 200 : 503,
            json: "{\"ready\":\(isReady)}",
            route: "health",
            started: started,
            keepAlive: keepAlive
        )
    }

    private func metrics(keepAlive: Bool, started: NIODeadline) throws(HTTPError) {
        guard let factory = shared.metricsFactory else {
            throw HTTPError(status: 404, message: "metrics are off (--metrics off)")
        }
        shared.service.metrics?.collect(from: shared.service)
        let bytes = factory.emit()
        var buffer = context?.channel.allocator.buffer(capacity: bytes.count) ?? ByteBuffer()
        buffer.writeBytes(bytes)
        respond(
            200,
            body: buffer,
            contentType: "text/plain; version=0.0.4; charset=utf-8",
            route: "metrics",
            started: started,
            keepAlive: keepAlive
        )
    }

    /// `/v2/models/{name}[/versions/{v}][/ready|/infer]`.
    private func model(_ parts: [String], route: String, head: HTTPRequestHead, started: NIODeadline) throws(HTTPError)
    {
        let keepAlive = head.isKeepAlive
        let name = parts[2].removingPercentEncoding ?? parts[2]
        var rest = parts.dropFirst(3)
        if route != "model_metadata" { rest = rest.dropLast() }
        var selector: V1.ModelRef.Selector?
        switch rest.count {
        case 0:
            selector = nil
        case 2 where rest.first == "versions":
            guard let version = UInt32(rest.last!), version > 0 else {
                throw .badRequest("model version \"\(rest.last!)\" is not a positive integer")
            }
            selector = .version(version)
        default:
            throw HTTPError(status: 404, message: "no such endpoint: \(head.uri)")
        }
        let service = shared.service
        let entry: ModelRepository.Entry
        do { entry = try service.repository.resolve(V1.ModelRef(name: name, selector: selector)) } catch {
            throw HTTPError(error)
        }
        let task = entry.metadata.task
        switch route {
        case "model_ready":
            respond(
                200,
                json: "{\"name\":\(InferenceProtocol.quote(name)),\"ready\":\(!service.isDraining)}",
                route: route,
                started: started,
                keepAlive: keepAlive
            )
        case "model_metadata":
            let versions: [UInt32]
            if selector == nil {
                versions =
                    service.repository.list().first { $0.name == name }?.versions.map(\.version).sorted() ?? [
                        entry.version
                    ]
            } else {
                versions = [entry.version]
            }
            let body = InferenceProtocol.modelMetadata(
                name: name,
                versions: versions,
                task: task,
                features: entry.inputColumnCount,
                classes: entry.metadata.classNames.count
            )
            respond(200, json: body, route: route, started: started, keepAlive: keepAlive)
        default:
            try infer(entry, head: head, started: started)
        }
    }

    // MARK: - Infer

    private func infer(_ entry: ModelRepository.Entry, head: HTTPRequestHead, started: NIODeadline) throws(HTTPError) {
        guard !shared.service.isDraining else {
            throw HTTPError(status: 503, message: "the server is shutting down")
        }
        var jsonLength: Int?
        if let text = head.headers.first(name: "inference-header-content-length") {
            guard let value = Int(text) else {
                throw .badRequest("Inference-Header-Content-Length \"\(text)\" is not a number")
            }
            jsonLength = value
        }
        let task = entry.metadata.task
        let request = try InferenceProtocol.parseInfer(
            body: body,
            jsonLength: jsonLength,
            features: entry.inputColumnCount,
            task: task
        )
        body.clear()
        let wantsProbabilities = request.outputs?.contains(InferenceProtocol.probabilitiesOutput) ?? true
        let prepared: ModelService.PreparedPredict
        do {
            prepared = try shared.service.preparePredict(
                V1.PredictRequest(
                    model: V1.ModelRef(name: entry.name, selector: .version(entry.version)),
                    inputs: V1.Tensor(columns: UInt32(entry.inputColumnCount), values: request.values),
                    includeProbabilities: task != .regression && wantsProbabilities
                )
            )
        } catch {
            throw HTTPError(error)
        }
        nextCallID &+= 1
        let callID = nextCallID
        pending = PendingInfer(
            callID: callID,
            request: request,
            task: task,
            keepAlive: head.isKeepAlive,
            started: started
        )
        let decodeMicroseconds = UInt32(clamping: (NIODeadline.now() - started).nanoseconds / 1000)
        if prepared.rowCount <= shared.service.configuration.batching.inlineMaxRows {
            batcher.enqueue(
                PredictBatcher.Item(
                    sink: self,
                    callID: callID,
                    rows: prepared.rows,
                    rowCount: prepared.rowCount,
                    includeScores: prepared.includeScores,
                    deadline: nil,
                    enqueued: started,
                    decodeMicroseconds: decodeMicroseconds
                ),
                entry: prepared.entry
            )
        } else {
            offload(prepared, callID: callID, decodeMicroseconds: decodeMicroseconds)
        }
    }

    /// A large infer: computed on the worker pool, answered on this loop.
    private func offload(_ prepared: ModelService.PreparedPredict, callID: UInt32, decodeMicroseconds: UInt32) {
        guard let context else { return }
        let service = shared.service
        let logger = shared.logger
        let threads = prepared.rowCount >= 1024 ? service.configuration.eventLoopThreads : 1
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let call = CallContext(timeoutMilliseconds: 0)
        context.channel.closeFuture.whenComplete { _ in call.cancel() }
        shared.workers.runIfActive(eventLoop: context.eventLoop) { () throws(ModelwireError) -> V1.PredictResponse in
            try service.predict(prepared, threads: threads, timings: V1.CallTimings(decodeUs: decodeMicroseconds), call)
        }.whenComplete { result in
            bound.value.finishPredict(
                callID,
                result.mapError { ModelwireError(mapping: $0, logger: logger, operation: "HTTP infer") }
            )
            bound.value.flushPredictAnswers()
        }
    }

    func isPredictOpen(_ callID: UInt32) -> Bool {
        pending?.callID == callID && context?.channel.isActive == true
    }

    func finishPredict(_ callID: UInt32, _ result: Result<V1.PredictResponse, ModelwireError>) {
        guard let infer = pending, infer.callID == callID else { return }
        pending = nil
        switch result {
        case .success(let response):
            let json = InferenceProtocol.inferResponse(
                response,
                rows: infer.request.rowCount,
                task: infer.task,
                request: infer.request
            )
            respond(200, json: json, route: "infer", started: infer.started, keepAlive: infer.keepAlive, flush: false)
        case .failure(let error):
            fail(HTTPError(error), route: "infer", started: infer.started, keepAlive: infer.keepAlive, flush: false)
        }
    }

    func flushPredictAnswers() { context?.flush() }

    // MARK: - Answers

    private func fail(_ error: HTTPError, route: String, started: NIODeadline, keepAlive: Bool, flush: Bool = true) {
        if route == "console" {
            respondHTML(
                error.status,
                ConsoleDocument.error(status: error.status, message: error.message),
                started: started,
                keepAlive: keepAlive && !error.close,
                challenge: error.status == 401
            )
            return
        }
        respond(
            error.status,
            json: error.json,
            route: route,
            started: started,
            keepAlive: keepAlive && !error.close,
            flush: flush,
            extraHeaders: error.status == 401 ? [("WWW-Authenticate", "Bearer")] : []
        )
    }

    /// A console page; `challenge` adds the login challenges of a 401 (Bearer, and Basic so that a
    /// browser prompts for the token).
    private func respondHTML(
        _ status: Int,
        _ html: String,
        started: NIODeadline,
        keepAlive: Bool,
        challenge: Bool = false
    ) {
        var buffer = context?.channel.allocator.buffer(capacity: html.utf8.count) ?? ByteBuffer()
        buffer.writeString(html)
        var headers = ConsoleDocument.headers
        if challenge {
            headers += [
                ("WWW-Authenticate", "Bearer"),
                ("WWW-Authenticate", "Basic realm=\"Modelwire console\", charset=\"UTF-8\""),
            ]
        }
        respond(
            status,
            body: buffer,
            contentType: "text/html; charset=utf-8",
            route: "console",
            started: started,
            keepAlive: keepAlive,
            extraHeaders: headers
        )
    }

    private func respond(
        _ status: Int,
        json: String,
        route: String,
        started: NIODeadline,
        keepAlive: Bool,
        flush: Bool = true,
        extraHeaders: [(String, String)] = []
    ) {
        var buffer = context?.channel.allocator.buffer(capacity: json.utf8.count) ?? ByteBuffer()
        buffer.writeString(json)
        respond(
            status,
            body: buffer,
            contentType: "application/json",
            route: route,
            started: started,
            keepAlive: keepAlive,
            flush: flush,
            extraHeaders: extraHeaders
        )
    }

    private func respond(
        _ status: Int,
        body: ByteBuffer,
        contentType: String,
        route: String,
        started: NIODeadline,
        keepAlive: Bool,
        flush: Bool = true,
        extraHeaders: [(String, String)] = []
    ) {
        guard let context, context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(4 + extraHeaders.count)
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        shared.service.metrics?.httpRequestFinished(route: route, status: status, started: started)
        if keepAlive {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            if flush { context.flush() }
            phase = .idle
            drainQueued()
        } else {
            phase = .closing
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Serves the pipelined request parts that waited for the previous answer.
    private func drainQueued() {
        while !queued.isEmpty {
            if case .answering = phase { return }
            if case .closing = phase { return }
            receive(queued.removeFirst())
        }
    }
}

@available(*, unavailable)
extension HTTPHandler: Sendable {}
