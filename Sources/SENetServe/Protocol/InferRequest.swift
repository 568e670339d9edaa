import Foundation

/// A decoded `POST /v2/models/NAME/infer` body (Open Inference Protocol, REST), with the
/// binary-data extension `tritonclient` uses. Foundation only, so the fuzzer compiles it alone.
public struct InferRequest: Sendable, Equatable {
    public struct Input: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var datatype: String
        public var content: Content
    }

    /// FP32 values in row-major order, or BYTES elements (image files).
    public enum Content: Sendable, Equatable {
        case floats([Float])
        case bytes([Data])
    }

    /// One entry of `outputs`: which output, sent as binary data or JSON, and Triton's
    /// `classification` parameter (top-K labels instead of the tensor).
    public struct RequestedOutput: Sendable, Equatable {
        public var name: String
        public var binary: Bool
        public var classification: Int?
    }

    public var id: String?
    public var inputs: [Input]
    /// nil: every output.
    public var outputs: [RequestedOutput]?
    /// Request-level `parameters.top_k`: how many labels the `labels` output holds.
    public var topK: Int?
    /// Request-level `parameters.binary_data_output`: the default for outputs not listed.
    public var binaryOutput: Bool
}

/// A request the protocol calls bad (HTTP 400); `message` is the whole `{"error": ...}` text.
public struct RequestError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Element counts and sizes must stay far below what could overflow or exhaust memory
/// before any allocation is made from them.
enum RequestLimits {
    static let maxDimensions = 8
    static let maxElements = 1 << 28
}

extension InferRequest {
    /// The number of elements `shape` holds, or an error for negative, zero-free-but-huge or
    /// too many dimensions.
    static func elementCount(of shape: [Int], input: String) throws -> Int {
        guard !shape.isEmpty, shape.count <= RequestLimits.maxDimensions else {
            throw RequestError("input '\(input)': shape \(shape) must have 1 to \(RequestLimits.maxDimensions) dimensions")
        }
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { throw RequestError("input '\(input)': shape \(shape) has a negative dimension") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= RequestLimits.maxElements else {
                throw RequestError("input '\(input)': shape \(shape) holds too many elements")
            }
            count = product
        }
        return count
    }
}
