import Foundation
import NIOPosix

/// Where request bodies and images are decoded, off the event loops and Swift's cooperative
/// pool. Two lanes of `ServerConfiguration.decodeThreads` threads each: small requests (a body
/// of at most `smallBodyBytes` whose images declare at most `smallPixels`) decode on their own,
/// so an ordinary infer never queues behind requests of huge images, and under a load of small
/// requests every core decodes. Images are priced by the size their headers declare before a
/// pixel is decoded: one request may declare at most `maxRequestPixels`, and all requests
/// decoding at once at most `maxDecodingPixels`.
final class DecodeLanes: Sendable {
    static let smallBodyBytes = 4 << 20
    static let smallPixels = 16_000_000

    private let small: NIOThreadPool
    private let large: NIOThreadPool
    private let decoding: PixelBudget
    let maxRequestPixels: Int

    init(threads: Int, maxRequestPixels: Int, maxDecodingPixels: Int) {
        small = NIOThreadPool(numberOfThreads: max(1, threads))
        large = NIOThreadPool(numberOfThreads: max(1, threads))
        self.maxRequestPixels = maxRequestPixels
        decoding = PixelBudget(limit: maxDecodingPixels)
    }

    func start() {
        small.start()
        large.start()
    }

    func shutdown() async {
        try? await small.shutdownGracefully()
        try? await large.shutdownGracefully()
    }

    /// Runs `work` on the small lane when `isSmall`, else on the large one.
    func run<T: Sendable>(small isSmall: Bool, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await (isSmall ? small : large).runIfActive(work)
    }

    /// Decodes images that declare `pixels` in all: refused at once over either budget, else
    /// run on the lane their size picks, holding their share of the server's budget meanwhile.
    func decodeImages<T: Sendable>(
        pixels: Int, count: Int, smallBody: Bool, _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        guard pixels <= maxRequestPixels else {
            throw ServeError.badRequest(
                "input 'image': the \(count) image\(count == 1 ? "" : "s") declare\(count == 1 ? "s" : "") \(Self.megapixels(pixels)) megapixels, more than --max-request-megapixels \(Self.megapixels(maxRequestPixels)) allows; send smaller images (the model reads a center crop) or raise the limit"
            )
        }
        guard decoding.reserve(pixels) else {
            throw ServeError(
                status: 503,
                message:
                    "the server is decoding \(Self.megapixels(decoding.inUse)) megapixels for other requests and this request's \(Self.megapixels(pixels)) would pass --max-decoding-megapixels \(Self.megapixels(decoding.limit)); retry shortly",
                retryAfter: 1)
        }
        defer { decoding.release(pixels) }
        return try await run(small: smallBody && pixels <= Self.smallPixels, work)
    }

    static func megapixels(_ pixels: Int) -> String { String(format: "%.1f", Double(pixels) / 1e6) }
}

/// Pixels being decoded across the server, against a limit.
final class PixelBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var used = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var inUse: Int { lock.withLock { used } }

    /// Takes `pixels` of the budget, or nothing and false when they do not fit.
    func reserve(_ pixels: Int) -> Bool {
        lock.withLock {
            guard used + pixels <= limit else { return false }
            used += pixels
            return true
        }
    }

    func release(_ pixels: Int) { lock.withLock { used -= pixels } }
}
