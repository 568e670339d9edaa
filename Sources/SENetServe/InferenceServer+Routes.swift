import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import SENetCore

extension InferenceServer {
    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!
    /// The protocol extensions both transports serve.
    static let extensions = ["binary_tensor_data", "classification", "model_configuration", "statistics"]

    /// Ready (warmed up, not draining) with a device in service.
    var wantsTraffic: Bool { state.wantsTraffic && dispatcher.hasWorkerInService }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v2/health/live") { _, _ in Self.json("{\"live\":true}") }
        router.get("/v2/health/ready") { [self] _, _ in
            wantsTraffic
                ? Self.json("{\"ready\":true}") : Self.json("{\"ready\":false}", status: .serviceUnavailable)
        }
        router.get("/v2") { _, _ in
            let extensions = Self.extensions.map { "\"\($0)\"" }.joined(separator: ",")
            return Self.json(
                "{\"name\":\"senet-gpu\",\"version\":\(InferResponseEncoder.quoted(SENetGPUVersion.string)),\"extensions\":[\(extensions)]}"
            )
        }
        router.get("/metrics") { [metrics] _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        router.get("/v2/models/stats") { [self] _, _ in
            Self.json(metrics.statistics.json(model: model.name, version: model.version))
        }
        for prefix in ["/v2/models/:name", "/v2/models/:name/versions/:version"] {
            router.get(RouterPath(prefix + "/config")) { [self] _, context in
                try checkModel(context)
                return Self.json(
                    model.configurationJSON(batch: configuration.batch, devices: dispatcher.workers.map(\.name)))
            }
            router.get(RouterPath(prefix + "/stats")) { [self] _, context in
                try checkModel(context)
                return Self.json(metrics.statistics.json(model: model.name, version: model.version))
            }
            router.get(RouterPath(prefix)) { [self] _, context in
                try checkModel(context)
                return Self.json(model.metadataJSON)
            }
            router.get(RouterPath(prefix + "/ready")) { [self] _, context in
                try checkModel(context)
                return wantsTraffic
                    ? Self.json("{\"ready\":true}") : Self.json("{\"ready\":false}", status: .serviceUnavailable)
            }
            router.post(RouterPath(prefix + "/infer")) { [self] request, context in
                try checkModel(context)
                return try await infer(request)
            }
        }
    }

    /// 404 for another model's name or version.
    private func checkModel(_ context: BasicRequestContext) throws {
        let name = context.parameters.get("name") ?? ""
        guard name == model.name else {
            throw ServeError(status: 404, message: "unknown model '\(name)'; this server serves '\(model.name)'")
        }
        if let version = context.parameters.get("version"), version != model.version {
            throw ServeError(
                status: 404, message: "unknown version '\(version)' of '\(model.name)'; it has version \(model.version)")
        }
    }

    /// One infer request, counted in the statistics extension as a success or a failure.
    private func infer(_ request: Request) async throws -> Response {
        let received = DispatchTime.now()
        do {
            return try await infer(request, received: received)
        } catch {
            metrics.statistics.failed(nanoseconds: received.nanosecondsUntilNow)
            throw error
        }
    }

    private func infer(_ request: Request, received: DispatchTime) async throws -> Response {
        try checkReady()
        if let encoding = request.headers[.contentEncoding], encoding != "identity" {
            throw ServeError.badRequest("Content-Encoding \(encoding) is not supported; send the body uncompressed")
        }
        let binary = request.headers[Self.headerLength] != nil
        let limit = bodyLimits.limit(binary: binary)
        let tooLarge = bodyLimits.tooLarge(binary: binary)
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        } catch {
            // The client closed its side before sending the whole body: its fault, not ours.
            let declared = request.headers[.contentLength].map { " of its Content-Length \($0)" } ?? ""
            throw ServeError.badRequest("the body ended before all\(declared) bytes arrived")
        }
        var jsonLength: Int?
        if let header = request.headers[Self.headerLength] {
            guard let length = Int(header) else {
                throw ServeError.badRequest("Inference-Header-Content-Length '\(header)' is not a number")
            }
            if length <= body.readableBytes { try bodyLimits.checkJSONHeader(length) }  // Else the decoder says "outside".
            jsonLength = length
        }
        // JSON, tensor and image decoding is CPU work of up to seconds: on the decode lanes, so
        // the cooperative pool (2 threads on 2 cores) stays free for health checks and metrics.
        let collected = DispatchTime.now()
        let smallBody = body.readableBytes <= DecodeLanes.smallBodyBytes
        let decoded: InferRequest
        do {
            decoded = try await decodeLanes.run(small: smallBody) { [jsonLength, bodyLimits] in
                let data = Data(buffer: body)
                try bodyLimits.checkJSONValues(jsonLength.map { data.prefix(max(0, $0)) } ?? data)
                return try InferRequest.decode(body: data, jsonLength: jsonLength)
            }
        } catch let error as RequestError {
            throw ServeError.badRequest(error.message)
        }
        let answer = try await answer(decoded, decodeStarted: collected, smallBody: smallBody)
        let encoded = InferResponseEncoder.encode(
            model: model.name, version: model.version, id: decoded.id, outputs: answer.outputs)
        var headers: HTTPFields = [.contentType: encoded.jsonLength == nil ? "application/json" : "application/octet-stream"]
        if let length = encoded.jsonLength { headers[Self.headerLength] = "\(length)" }
        record(answer, received: received)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: encoded.body)))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Every error as the protocol's `{"error": "..."}` with its status (and Retry-After for 503),
/// one log line per request, and the request metrics.
struct ProtocolErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics
    let state: ServerState
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        let start = DispatchTime.now()
        let isInfer = request.method == .post && request.uri.path.hasSuffix("/infer")
        if isInfer { state.receivedRequest() }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServeError {
            response = Self.errorResponse(error)
        } catch let error as HTTPResponseError {
            let status = Int(error.status.code)
            let message =
                status == 404 ? "no route \(request.method) \(request.uri.path); see GET /v2 and /v2/models/NAME" : "\(error)"
            response = Self.errorResponse(ServeError(status: status, message: message))
        } catch {
            response = Self.errorResponse(ServeError(status: 500, message: "internal error: \(error)"))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let path = request.uri.path
        let route =
            path.hasSuffix("/infer")
            ? "infer" : path.hasPrefix("/v2/health") ? "health" : path == "/metrics" ? "metrics" : "metadata"
        let status = Int(response.status.code)
        metrics.request(route: route, status: status, seconds: seconds)
        if isInfer { state.count(success: status == 200) }
        let level: Logger.Level = status >= 500 ? .warning : status >= 400 ? .notice : .debug
        logger.log(
            level: level, "request",
            metadata: [
                "method": "\(request.method)", "path": "\(path)", "status": "\(status)",
                "ms": "\(String(format: "%.2f", seconds * 1000))",
            ])
        return response
    }

    static func errorResponse(_ error: ServeError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        return Response(
            status: .init(code: error.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(data: InferResponseEncoder.error(error.message))))
    }
}
