import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SENetCore
import SENetEngine
import ServiceLifecycle

/// Where and how `serve` listens.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int
    public var batch: BatchSettings
    /// Seconds to wait before the warm-up (tests of the not-ready state).
    public var warmUpDelay: Double = 0
    /// Seconds a connection may go without a complete request part (headers, a body chunk)
    /// while it is not waiting for a response: idle keep-alive, slow headers, stalled bodies.
    public var idleTimeout: Double = 60
    /// Threads that decode request bodies (JSON, binary tensors, images) off the event loops and
    /// Swift's cooperative pool, so health and metrics answer while large requests decode.
    /// Small requests have as many threads of their own (`DecodeLanes`).
    public var decodeThreads = 2
    /// Most pixels the images of one request may declare.
    public var maxRequestPixels = 200_000_000
    /// Most pixels all requests being decoded at once may declare.
    public var maxDecodingPixels = 400_000_000
    /// Most open connections (`ConnectionRegistry`).
    public var maxConnections = 960
    /// Port of the gRPC listener (on `host`), or nil for HTTP only.
    public var grpcPort: Int?
    /// Seconds after SIGTERM that the listener keeps serving while readiness says 503.
    public var drainWindow: Double = 5
    /// Seconds the shutdown then waits for requests in flight before closing what is left.
    public var drainTimeout: Double = 20

    public init(host: String, port: Int, maxBodyBytes: Int, batch: BatchSettings) {
        (self.host, self.port, self.maxBodyBytes, self.batch) = (host, port, maxBodyBytes, batch)
    }
}

/// The Open Inference Protocol server: HTTP from Hummingbird, one worker per device. Live as
/// soon as it listens, ready once every device has built its plans and passed a warm-up run.
/// SIGTERM or SIGINT drain it (`drainOnSignals`): every request received is answered.
public final class InferenceServer: Sendable {
    let model: ServedModel
    let dispatcher: Dispatcher
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    let logger: Logger
    let state = ServerState()
    /// Where request bodies and images are decoded.
    let decodeLanes: DecodeLanes
    let connections: ConnectionRegistry
    let bodyLimits: BodyLimits

    /// A server of `model` on `backends` (one worker each: an `InferenceEngine` per device).
    public init(
        model: ServedModel, backends: [(name: String, backend: any InferenceBackend)], configuration: ServerConfiguration,
        logger: Logger
    ) {
        self.model = model
        self.configuration = configuration
        self.logger = logger
        let metrics = ServerMetrics(devices: backends.map(\.name), maxBatch: configuration.batch.maxBatch)
        self.metrics = metrics
        connections = ConnectionRegistry(limit: configuration.maxConnections)
        bodyLimits = BodyLimits(
            maxBodyBytes: configuration.maxBodyBytes, maxBatch: configuration.batch.maxBatch, inputSide: model.largestSide)
        decodeLanes = DecodeLanes(
            threads: configuration.decodeThreads, maxRequestPixels: configuration.maxRequestPixels,
            maxDecodingPixels: configuration.maxDecodingPixels)
        dispatcher = Dispatcher(
            workers: backends.map {
                DeviceWorker(name: $0.name, backend: $0.backend, settings: configuration.batch, metrics: metrics, logger: logger)
            }, settings: configuration.batch, metrics: metrics)
    }

    /// The routes behind the protocol-error middleware: what `run` serves, and what tests drive
    /// in-process (HummingbirdTesting's router mode).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ProtocolErrorMiddleware(metrics: metrics, state: state, logger: logger))
        addRoutes(to: router)
        return router
    }

    /// Starts the workers and decode threads and warms every backend up, as `run` does before
    /// it reports ready; for serving the router without the listener (tests). With `warmUp`
    /// false the server stays not ready, as during `run`'s warm-up.
    public func startWithoutListener(warmUp: Bool = true) throws {
        dispatcher.start()
        decodeLanes.start()
        guard warmUp else { return }
        try warmUpDevices()
        state.setReady()
    }

    /// Answers what the workers hold and stops them and the decode threads.
    public func stopWithoutListener() async {
        dispatcher.drain()
        await decodeLanes.shutdown()
    }

    /// Serves until a shutdown signal; throws when warm-up failed.
    public func run() async throws {
        let router = makeRouter()
        let logger = logger
        let idle = TimeAmount.milliseconds(Int64(configuration.idleTimeout * 1000))
        let server = HTTPServerBuilder { [bodyLimits, connections] responder in
            ServeHTTP1Channel(responder: responder, idleTimeout: idle, bodyLimits: bodyLimits, connections: connections)
        }
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "senet-gpu"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "port": "\(port)"])
            },
            logger: logger)
        var services: [any Service] = [app]
        if let grpcPort = configuration.grpcPort {
            services.append(
                GRPCListener(
                    service: GRPCInferenceService(server: self), host: configuration.host, port: grpcPort,
                    maxRequestBytes: configuration.maxBodyBytes, idleTimeout: configuration.idleTimeout, logger: logger))
        }
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.drainTimeout * 1000))
        let group = ServiceGroup(configuration: groupConfiguration)
        let signals = drainOnSignals(group)
        dispatcher.start()
        decodeLanes.start()
        let warmUp = Task.detached { [self] in
            do {
                if configuration.warmUpDelay > 0 { try await Task.sleep(for: .seconds(configuration.warmUpDelay)) }
                try warmUpDevices()
                state.setReady()
                logger.info("ready", metadata: ["model": "\(model.name)", "devices": "\(dispatcher.workers.map(\.name))"])
            } catch {
                state.failWarmUp("\(error)")
                logger.critical("warm-up failed; shutting down", metadata: ["error": "\(error)"])
                await group.triggerGracefulShutdown()
            }
        }
        try await group.run()
        signals.cancel()
        warmUp.cancel()
        _ = await warmUp.result
        dispatcher.drain()
        await decodeLanes.shutdown()
        logger.info(
            "stopped after answering every accepted request",
            metadata: [
                "infer_received": "\(state.received)", "infer_ok": "\(state.answered)", "infer_errors": "\(state.failed)",
            ])
        if let failure = state.warmUpFailure { throw ServeError(status: 500, message: "warm-up failed: \(failure)") }
    }

    /// Builds the plan of every batch size a batch may be padded to, on every device, and checks
    /// each run's logits are finite, so the first requests neither compile kernels nor hit a
    /// broken driver. With `--dynamic-size`, a full batch at the largest size runs too, so a
    /// device without the memory for it fails here, not under load. Stops between runs when
    /// cancelled (SIGTERM during warm-up).
    private func warmUpDevices() throws {
        for worker in dispatcher.workers {
            for shape in model.warmUpShapes(configuration.batch) {
                try Task.checkCancellation()
                let input = Tensor(shape: shape)
                let output = try worker.backend.infer(input)
                guard output.logits.data.allSatisfy(\.isFinite) else {
                    throw ServeError(status: 500, message: "device \(worker.name) computed non-finite logits for a zero input")
                }
            }
            worker.reportPlans()
        }
    }
}

/// Readiness and the counts the shutdown line reports.
final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var ready = false
    private var draining = false
    private var failure: String?
    private var ok = 0
    private var errors = 0
    private var arrived = 0

    /// Warmed up: infer requests are served.
    var isReady: Bool { lock.withLock { ready } }
    /// What readiness probes report: warmed up and not draining.
    var wantsTraffic: Bool { lock.withLock { ready && !draining } }
    var warmUpFailure: String? { lock.withLock { failure } }
    var answered: Int { lock.withLock { ok } }
    var failed: Int { lock.withLock { errors } }
    var received: Int { lock.withLock { arrived } }

    func setReady() { lock.withLock { ready = true } }
    /// Starts the drain; false when it had started already.
    func startDraining() -> Bool {
        lock.withLock {
            defer { draining = true }
            return !draining
        }
    }
    func failWarmUp(_ reason: String) { lock.withLock { failure = reason } }
    func receivedRequest() { lock.withLock { arrived += 1 } }
    func count(success: Bool) {
        lock.withLock {
            if success { ok += 1 } else { errors += 1 }
        }
    }
}
