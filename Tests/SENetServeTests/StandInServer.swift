import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SENetCore
import SENetImages
import SENetServe
import XCTest

/// How many batches a backend has begun, the warm-up's included, and their input shapes.
final class BatchCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var seen: [[Int]] = []
    var begun: Int { lock.withLock { count } }
    var shapes: [[Int]] { lock.withLock { seen } }
    func begin(_ shape: [Int] = []) {
        lock.withLock {
            count += 1
            seen.append(shape)
        }
    }
}

/// Logits that say which rows the backend got: each row's first value and its mean, then zeros.
/// Fails a batch holding a row whose first value is 7 (the warm-up's zeros pass), and takes
/// `delay` seconds per batch (to fill the queue).
struct EchoBackend: InferenceBackend {
    struct Broken: Error, CustomStringConvertible {
        var description: String { "the stand-in was asked to fail" }
    }

    var classes = 4
    var delay = 0.0
    let batches = BatchCount()

    func logits(of row: ArraySlice<Float>) -> [Float] {
        [row.first!, row.reduce(0, +) / Float(row.count)] + Array(repeating: 0, count: classes - 2)
    }

    func infer(_ input: Tensor) throws -> (logits: Tensor, probabilities: Tensor) {
        batches.begin(input.shape)
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        let (batch, perRow) = (input.shape[0], input.count / input.shape[0])
        let rows = (0..<batch).map { input.data[($0 * perRow)..<(($0 + 1) * perRow)] }
        if rows.contains(where: { $0.first == 7 }) { throw Broken() }
        let logits = Tensor(shape: [batch, classes], data: rows.flatMap(logits))
        return (logits, logits)
    }
}

/// An `InferenceServer` on an `EchoBackend`, driven through HummingbirdTesting's router mode:
/// no device, no listener, no OpenCL. The defaults are those of ServeErrorCLITests' server
/// (`seresnet18` at 32×32, `--max-batch 4 --max-body-mb 1`).
struct StandInServer {
    var name = "seresnet18"
    var backend = EchoBackend(classes: 1000)
    var side = 32
    var maxBatch = 4
    var maxQueue = 64
    var timeoutSeconds = 30.0
    var windowSeconds = 0.002
    var batchTimeoutSeconds = 60.0
    /// `--dynamic-size`: FP32 tensors of any H and W in the range.
    var dynamicSizes: ClosedRange<Int>?
    /// More devices after `backend`'s ("stand-in"), by name.
    var moreBackends: [(name: String, backend: any InferenceBackend)] = []
    /// Runs "stand-in" instead of `backend` (which still gives the class count).
    var wrappedBackend: (any InferenceBackend)?

    /// Runs `test` against the routes; with `warmedUp` false, before the warm-up has run.
    func run(warmedUp: Bool = true, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let model = ServedModel(
            name: name, classes: backend.classes, preprocessing: Preprocessing(resize: side + 4, crop: side),
            labels: try ClassLabels(classes: backend.classes, file: nil), maxBatch: maxBatch,
            dynamicSizes: dynamicSizes)
        var batch = BatchSettings(
            maxBatch: maxBatch, windowSeconds: windowSeconds, maxQueue: maxQueue, timeoutSeconds: timeoutSeconds,
            inputSide: (side, side))
        batch.batchTimeoutSeconds = batchTimeoutSeconds
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20, batch: batch)
        let server = InferenceServer(
            model: model, backends: [("stand-in", wrappedBackend ?? backend)] + moreBackends, configuration: configuration,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try server.startWithoutListener(warmUp: warmedUp)
        do {
            try await Application(router: server.makeRouter()).test(.router, test)
        } catch {
            await server.stopWithoutListener()
            throw error
        }
        await server.stopWithoutListener()
    }
}

/// A reply's parts, read inside the client's callback.
struct Reply: Sendable {
    let status: Int
    let retryAfter: String?
    let body: String

    /// The `error` field of a `{"error": ...}` body.
    var error: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? String
    }
}

extension TestClientProtocol {
    func send(_ method: HTTPRequest.Method, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws
        -> Reply
    {
        var fields = HTTPFields()
        for (key, value) in headers { fields[HTTPField.Name(key)!] = value }
        return try await execute(
            uri: path, method: method, headers: fields, body: body.map { ByteBuffer(data: $0) }
        ) { response in
            Reply(
                status: Int(response.status.code), retryAfter: response.headers[.retryAfter],
                body: String(buffer: response.body))
        }
    }

    /// Polls /metrics every 5 ms until `name` reads `value`; fails after 10 s.
    func waitForMetric(_ name: String, _ value: Double) async throws {
        for _ in 0..<2000 {
            if try await metric(name) == value { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTFail("\(name) never reached \(value)")
    }

    /// The value of the Prometheus sample `name` (with its labels) on /metrics, or nil.
    func metric(_ name: String) async throws -> Double? {
        let text = try await send(.get, "/metrics").body
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }
}
