import Foundation
import GRPCCore
import InferenceProto
import SENetCore

/// `inference.GRPCInferenceService`, the Open Inference Protocol's gRPC side as Triton's
/// clients call it. Every call goes through the same server as REST: readiness, the decode
/// lanes, the dispatcher and its batching, the watchdog, the metrics and the statistics.
struct GRPCInferenceService: Inference_GRPCInferenceService.SimpleServiceProtocol {
    let server: InferenceServer

    private var model: ServedModel { server.model }

    func serverLive(request: Inference_ServerLiveRequest, context: ServerContext) async throws
        -> Inference_ServerLiveResponse
    {
        .with { $0.live = true }
    }

    func serverReady(request: Inference_ServerReadyRequest, context: ServerContext) async throws
        -> Inference_ServerReadyResponse
    {
        .with { $0.ready = server.wantsTraffic }
    }

    func modelReady(request: Inference_ModelReadyRequest, context: ServerContext) async throws
        -> Inference_ModelReadyResponse
    {
        try checkModel(request.name, request.version)
        return .with { $0.ready = server.wantsTraffic }
    }

    func serverMetadata(request: Inference_ServerMetadataRequest, context: ServerContext) async throws
        -> Inference_ServerMetadataResponse
    {
        .with {
            $0.name = "senet-gpu"
            $0.version = SENetGPUVersion.string
            $0.extensions = InferenceServer.extensions
        }
    }

    func modelMetadata(request: Inference_ModelMetadataRequest, context: ServerContext) async throws
        -> Inference_ModelMetadataResponse
    {
        try checkModel(request.name, request.version)
        func tensor(_ entry: ServedModel.Tensor) -> Inference_ModelMetadataResponse.TensorMetadata {
            .with {
                $0.name = entry.name
                $0.datatype = entry.datatype
                $0.shape = entry.shape.map(Int64.init)
            }
        }
        return .with {
            $0.name = model.name
            $0.versions = [model.version]
            $0.platform = "senet-gpu"
            $0.inputs = model.inputTensors.map(tensor)
            $0.outputs = model.outputTensors.map(tensor)
        }
    }

    func modelConfig(request: Inference_ModelConfigRequest, context: ServerContext) async throws
        -> Inference_ModelConfigResponse
    {
        try checkModel(request.name, request.version)
        return .with {
            $0.config = model.configuration(batch: server.configuration.batch, devices: server.dispatcher.workers.map(\.name))
        }
    }

    func modelStatistics(request: Inference_ModelStatisticsRequest, context: ServerContext) async throws
        -> Inference_ModelStatisticsResponse
    {
        if !request.name.isEmpty { try checkModel(request.name, request.version) }
        return .with {
            $0.modelStats = [server.metrics.statistics.message(model: model.name, version: model.version)]
        }
    }

    func modelInfer(request: Inference_ModelInferRequest, context: ServerContext) async throws
        -> Inference_ModelInferResponse
    {
        do {
            return try await infer(request)
        } catch {
            throw Self.rpcError(error)
        }
    }

    /// Triton's streaming call: one response message per request, in order; a failed request
    /// is answered with its `error_message` and the stream goes on.
    func modelStreamInfer(
        request: RPCAsyncSequence<Inference_ModelInferRequest, any Error>,
        response: RPCWriter<Inference_ModelStreamInferResponse>, context: ServerContext
    ) async throws {
        for try await message in request {
            do {
                let answer = try await infer(message)
                try await response.write(.with { $0.inferResponse = answer })
            } catch {
                try await response.write(.with { $0.errorMessage = Self.rpcError(error).message })
            }
        }
    }

    /// One request, counted in the statistics as REST's are (another model's are not).
    private func infer(_ request: Inference_ModelInferRequest) async throws -> Inference_ModelInferResponse {
        let received = DispatchTime.now()
        try checkModel(request.modelName, request.modelVersion)
        do {
            try server.checkReady()
            let decoded: InferRequest
            do {
                decoded = try InferRequest(grpc: request)
            } catch let error as RequestError {
                throw ServeError.badRequest(error.message)
            }
            let bytes = request.rawInputContents.reduce(0) { $0 + $1.count }
            let answer = try await server.answer(
                decoded, decodeStarted: received, smallBody: bytes <= DecodeLanes.smallBodyBytes)
            let message = Inference_ModelInferResponse(
                model: model.name, version: model.version, id: decoded.id, outputs: answer.outputs)
            server.record(answer, received: received)
            return message
        } catch {
            server.metrics.statistics.failed(nanoseconds: received.nanosecondsUntilNow)
            throw error
        }
    }

    private func checkModel(_ name: String, _ version: String) throws {
        guard name == model.name else {
            throw ServeError(status: 404, message: "unknown model '\(name)'; this server serves '\(model.name)'")
        }
        if !version.isEmpty, version != model.version {
            throw ServeError(
                status: 404, message: "unknown version '\(version)' of '\(model.name)'; it has version \(model.version)")
        }
    }

    /// REST's statuses as gRPC codes, Triton's way: 400 invalid argument, 404 not found, 413
    /// resource exhausted, 503 unavailable, the rest internal.
    static func rpcError(_ error: Error) -> RPCError {
        switch error {
        case let error as RPCError: return error
        case let error as ServeError:
            let code: RPCError.Code =
                switch error.status {
                case 400: .invalidArgument
                case 404: .notFound
                case 413: .resourceExhausted
                case 503: .unavailable
                default: .internalError
                }
            return RPCError(code: code, message: error.message)
        case let error as RequestError: return RPCError(code: .invalidArgument, message: error.message)
        default: return RPCError(code: .internalError, message: "internal error: \(error)")
        }
    }
}
