import Foundation
import SENetCore
import SENetImages

/// What the server says about its model, and how a request's input becomes rows of floats.
public struct ServedModel: Sendable {
    public let name: String
    public let version = "1"
    public let classes: Int
    /// The crop: the size image files become, and the only tensor size without `dynamicSizes`.
    public let inputSide: (height: Int, width: Int)
    /// `--dynamic-size MIN...MAX`: the heights and widths an FP32 tensor may have; nil: the crop only.
    public let dynamicSizes: ClosedRange<Int>?
    public let preprocessing: Preprocessing
    public let labels: ClassLabels
    public let maxBatch: Int

    public init(
        name: String, classes: Int, preprocessing: Preprocessing, labels: ClassLabels, maxBatch: Int,
        dynamicSizes: ClosedRange<Int>? = nil
    ) {
        (self.name, self.classes, self.preprocessing, self.labels, self.maxBatch) = (
            name, classes, preprocessing, labels, maxBatch
        )
        inputSide = (preprocessing.crop, preprocessing.crop)
        self.dynamicSizes = dynamicSizes
    }

    /// The largest height and width a request may send: what bounds a body.
    public var largestSide: (height: Int, width: Int) {
        dynamicSizes.map { ($0.upperBound, $0.upperBound) } ?? inputSide
    }

    /// The inputs the warm-up runs on each device: every batch size a batch may be padded to at
    /// the crop, and with `dynamicSizes` a full batch at the largest size.
    public func warmUpShapes(_ batch: BatchSettings) -> [[Int]] {
        var shapes = batch.planBatches.map { [$0, 3, inputSide.height, inputSide.width] }
        let largest = [batch.maxBatch, 3, largestSide.height, largestSide.width]
        if !shapes.contains(largest) { shapes.append(largest) }
        return shapes
    }

    /// The tensor input's shape, -1 where the server takes a range.
    var tensorShape: [Int] {
        dynamicSizes == nil ? [-1, 3, inputSide.height, inputSide.width] : [-1, 3, -1, -1]
    }

    /// The tensor input's shape as errors and hints spell it.
    private var tensorShapeText: String {
        if let sizes = dynamicSizes {
            return "[N, 3, H, W], H and W within --dynamic-size \(sizes.lowerBound)..\(sizes.upperBound)"
        }
        return "[N, 3, \(inputSide.height), \(inputSide.width)]"
    }

    static let tensorInput = "input"
    static let imageInput = "image"
    static let outputNames = ["logits", "probabilities", "labels"]
    static let defaultTopK = 5

    /// A tensor as the model metadata lists it.
    struct Tensor {
        let name: String
        let datatype: String
        let shape: [Int]
    }

    var inputTensors: [Tensor] {
        [
            Tensor(name: Self.tensorInput, datatype: "FP32", shape: tensorShape),
            Tensor(name: Self.imageInput, datatype: "BYTES", shape: [-1]),
        ]
    }

    var outputTensors: [Tensor] {
        [
            Tensor(name: "logits", datatype: "FP32", shape: [-1, classes]),
            Tensor(name: "probabilities", datatype: "FP32", shape: [-1, classes]),
            Tensor(name: "labels", datatype: "BYTES", shape: [-1, -1]),
        ]
    }

    /// `GET /v2/models/NAME`.
    var metadataJSON: String {
        let quoted = InferResponseEncoder.quoted
        func tensors(_ list: [Tensor]) -> String {
            list.map {
                "{\"name\":\(quoted($0.name)),\"datatype\":\"\($0.datatype)\",\"shape\":[\($0.shape.map(String.init).joined(separator: ","))]}"
            }.joined(separator: ",")
        }
        return "{\"name\":\(quoted(name)),\"versions\":[\"\(version)\"],\"platform\":\"senet-gpu\","
            + "\"inputs\":[\(tensors(inputTensors))],\"outputs\":[\(tensors(outputTensors))]}"
    }

    /// The request's one input as `[N, 3, H, W]` floats: an FP32 tensor as sent, or image
    /// files decoded and preprocessed exactly as `infer` does.
    func rows(of request: InferRequest) throws -> RequestRows {
        guard request.inputs.count == 1, let input = request.inputs.first else {
            throw RequestError(
                "the request has \(request.inputs.count) inputs; send exactly one: '\(Self.tensorInput)' (FP32) or '\(Self.imageInput)' (BYTES)"
            )
        }
        switch (input.name, input.content) {
        case (Self.tensorInput, .floats(let values)):
            guard input.shape.count == 4, input.shape[1] == 3, fits(height: input.shape[2], width: input.shape[3]) else {
                throw RequestError("input '\(input.name)': shape \(input.shape) is not \(tensorShapeText)")
            }
            try checkBatch(input.shape[0], input.name)
            return RequestRows(images: input.shape[0], side: .init(height: input.shape[2], width: input.shape[3]), data: values)
        case (Self.imageInput, .bytes(let files)):
            guard input.shape.count == 1 || (input.shape.count == 2 && input.shape[1] == 1) else {
                throw RequestError("input '\(input.name)': shape \(input.shape) is not [N] or [N, 1] (one file per image)")
            }
            try checkBatch(files.count, input.name)
            var data: [Float] = []
            for (index, file) in files.enumerated() {
                do {
                    let image = try ImageDecoder.decode(data: file, name: "image \(index)")
                    try preprocessing.validate(width: image.width, height: image.height)
                    data.append(contentsOf: try Reference.preprocess(image, preprocessing).data)
                } catch {
                    throw RequestError("input '\(input.name)': image \(index) cannot be used: \(Self.reason(error))")
                }
            }
            return RequestRows(images: files.count, side: .init(height: inputSide.height, width: inputSide.width), data: data)
        case (Self.tensorInput, _), (Self.imageInput, _):
            let expected = input.name == Self.tensorInput ? "FP32" : "BYTES"
            throw RequestError("input '\(input.name)' must have datatype \(expected), not \(input.datatype)")
        default:
            throw RequestError(
                "unknown input '\(input.name)'; the model's inputs are '\(Self.tensorInput)' (FP32 \(tensorShapeText)) and '\(Self.imageInput)' (BYTES, JPEG or PNG files)"
            )
        }
    }

    private func fits(height: Int, width: Int) -> Bool {
        guard let sizes = dynamicSizes else { return (height, width) == inputSide }
        return sizes.contains(height) && sizes.contains(width)
    }

    /// How many images a request sends and the pixels their headers declare in all; nil when
    /// it sends no image files. Unreadable headers count nothing: decoding reports them.
    func declaredImages(of request: InferRequest) -> (count: Int, pixels: Int)? {
        guard request.inputs.count == 1, let input = request.inputs.first, input.name == Self.imageInput,
            case .bytes(let files) = input.content
        else { return nil }
        let pixels = files.reduce(0) { sum, file in
            sum + (ImageDecoder.declaredSize(data: file).map { $0.width * $0.height } ?? 0)
        }
        return (files.count, pixels)
    }

    private func checkBatch(_ images: Int, _ name: String) throws {
        guard images >= 1 else { throw RequestError("input '\(name)' holds no images") }
        guard images <= maxBatch else {
            throw RequestError(
                "input '\(name)' holds \(images) images; the server runs at most --max-batch \(maxBatch) per request")
        }
    }

    private static func reason(_ error: Error) -> String {
        switch error {
        case InputError.invalidImage(_, let reason), InputError.unreadable(_, let reason): return reason
        default: return "\(error)"
        }
    }

    /// The outputs a request asked for, from its rows of the batch.
    func outputs(for request: InferRequest, rows: BatchRows) throws -> [ResponseOutput] {
        let wanted =
            request.outputs
            ?? Self.outputNames.map { InferRequest.RequestedOutput(name: $0, binary: request.binaryOutput, classification: nil) }
        let topK = request.topK ?? min(Self.defaultTopK, classes)
        if wanted.contains(where: { $0.name == "labels" }) || request.topK != nil {
            guard topK >= 1, topK <= classes else {
                throw RequestError("parameters.top_k \(topK) is not between 1 and \(classes)")
            }
        }
        return try wanted.map { output in
            let values: [Float]
            switch output.name {
            case "logits": values = rows.logits
            case "probabilities": values = rows.probabilities
            case "labels":
                return ResponseOutput(
                    name: "labels", shape: [rows.images, topK],
                    content: .strings(labels(rows.probabilities, k: topK, images: rows.images)), binary: output.binary)
            default:
                throw RequestError(
                    "unknown output '\(output.name)'; the model's outputs are \(Self.outputNames.joined(separator: ", "))")
            }
            if let k = output.classification {
                guard k >= 1, k <= classes else {
                    throw RequestError("output '\(output.name)': classification \(k) is not between 1 and \(classes)")
                }
                return ResponseOutput(
                    name: output.name, shape: [rows.images, k], content: .strings(labels(values, k: k, images: rows.images)),
                    binary: output.binary)
            }
            return ResponseOutput(
                name: output.name, shape: [rows.images, classes], content: .floats(values), binary: output.binary)
        }
    }

    /// Triton's classification strings, "value:index:label", best first, per image.
    private func labels(_ values: [Float], k: Int, images: Int) -> [String] {
        (0..<images).flatMap { image in
            let row = values[(image * classes)..<((image + 1) * classes)]
            return zip(row.indices, row).sorted { $0.1 > $1.1 }.prefix(k).map { index, value in
                let klass = index - image * classes
                return "\(value):\(klass):\(labels.name(klass))"
            }
        }
    }
}

/// A request's input as rows of one batch: `images` rows of `[3, side.height, side.width]` floats.
struct RequestRows: Sendable {
    let images: Int
    let side: ImageSide
    let data: [Float]
}

/// An input's height and width: rows of one size run together.
struct ImageSide: Hashable, Sendable, CustomStringConvertible {
    let height: Int
    let width: Int
    var description: String { "\(height)×\(width)" }
}
