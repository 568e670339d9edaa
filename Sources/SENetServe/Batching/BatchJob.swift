import Foundation

/// One request's images waiting for a device: `images` rows of `[3, H, W]` floats, and what
/// to call with its rows of the batch's output.
final class BatchJob: @unchecked Sendable {
    let images: Int
    /// H and W: only jobs of one side share a batch.
    let side: ImageSide
    let input: [Float]
    let arrival: DispatchTime
    let deadline: DispatchTime
    private let completion: @Sendable (Result<BatchRows, ServeError>) -> Void
    private var finished = false
    private let lock = NSLock()

    init(
        images: Int, side: ImageSide, input: [Float], timeout: Double,
        completion: @escaping @Sendable (Result<BatchRows, ServeError>) -> Void
    ) {
        self.images = images
        self.side = side
        self.input = input
        arrival = .now()
        deadline = arrival + timeout
        self.completion = completion
    }

    /// Calls the completion once; later calls are ignored.
    func finish(_ result: Result<BatchRows, ServeError>) {
        let first = lock.withLock {
            defer { finished = true }
            return !finished
        }
        if first { completion(result) }
    }
}

/// One request's share of a batch's output: `images` rows of logits and probabilities.
struct BatchRows: Sendable {
    let images: Int
    let logits: [Float]
    let probabilities: [Float]
    /// Nanoseconds the request waited for its batch, and its batch's device run took.
    var queueNanoseconds: UInt64 = 0
    var inferNanoseconds: UInt64 = 0
}

/// Why a request was not answered with outputs: the HTTP status and the `{"error"}` text.
public struct ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let message: String
    /// Seconds for a Retry-After header (503).
    public let retryAfter: Int?

    public init(status: Int, message: String, retryAfter: Int? = nil) {
        (self.status, self.message, self.retryAfter) = (status, message, retryAfter)
    }

    public var description: String { message }

    static func badRequest(_ message: String) -> ServeError { ServeError(status: 400, message: message) }
}
