import Foundation

/// How large a request body may be. JSON costs memory per number (decoded as a tree before the
/// shape is checked), so a JSON body may only be as large as the model's largest JSON request:
/// `--max-batch` images of 3×H×W numbers at `bytesPerNumber` each. Binary bodies (the binary
/// data extension, image files) may use all of `--max-body-mb`.
public struct BodyLimits: Sendable {
    /// Room per number for the longest float text, `-1.17549435e-38`, a comma and spacing.
    static let bytesPerNumber = 24
    /// Room for the rest of the JSON: names, shapes, parameters.
    static let jsonSlack = 1 << 20

    /// Room for commas besides the numbers: shapes, outputs, parameters.
    static let valueSlack = 65_536

    public let maxBodyBytes: Int
    public let maxJSONBytes: Int
    /// Most numbers a request of this model can need.
    public let maxNumbers: Int

    public init(maxBodyBytes: Int, maxBatch: Int, inputSide: (height: Int, width: Int)) {
        self.maxBodyBytes = maxBodyBytes
        let numbers = maxBatch * 3 * inputSide.height * inputSide.width
        maxNumbers = numbers
        maxJSONBytes = min(maxBodyBytes, numbers * Self.bytesPerNumber + Self.jsonSlack)
    }

    /// The limit of a body; `binary` when it carries Inference-Header-Content-Length.
    func limit(binary: Bool) -> Int { binary ? maxBodyBytes : maxJSONBytes }

    func tooLarge(binary: Bool) -> ServeError {
        if binary || maxJSONBytes == maxBodyBytes {
            return ServeError(status: 413, message: "the body is larger than --max-body-mb \(maxBodyBytes / 1_048_576) MiB")
        }
        return ServeError(
            status: 413,
            message:
                "the JSON body is larger than \(Self.mebibytes(maxJSONBytes)) MiB, this model's largest JSON request (--max-batch images of numbers at \(Self.bytesPerNumber) bytes each); send tensors or image files with the binary data extension (Inference-Header-Content-Length), up to --max-body-mb \(maxBodyBytes / 1_048_576) MiB"
        )
    }

    /// The JSON part of a binary-extension body is held to the JSON limit too.
    func checkJSONHeader(_ length: Int) throws {
        guard length <= maxJSONBytes else {
            throw ServeError(
                status: 413,
                message:
                    "Inference-Header-Content-Length \(length) is larger than \(Self.mebibytes(maxJSONBytes)) MiB, this model's largest JSON request; put tensor data in the binary part"
            )
        }
    }

    /// JSON's decoder builds a tree of about 50 bytes per value before the shape can be
    /// checked, so 28 MiB of `0,0,0…` cost 706 MB: commas count the values first, in one pass,
    /// and more than the model can take are refused before decoding.
    func checkJSONValues(_ json: Data) throws {
        let commas = json.withUnsafeBytes { bytes in
            var count = 0
            for byte in bytes where byte == 0x2C { count += 1 }
            return count
        }
        guard commas <= maxNumbers + Self.valueSlack else {
            throw ServeError(
                status: 413,
                message:
                    "the JSON holds \(commas) values or more; a request of this model needs at most \(maxNumbers) (--max-batch images of 3×H×W numbers)"
            )
        }
    }

    static func mebibytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
