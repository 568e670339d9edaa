import Foundation
import SENetCore

/// An ONNX file exported by PyTorch (`tools/make_onnx_fixtures.py`), committed without its
/// weights: each external tensor has a recipe over the synthetic state_dict, so the data file
/// is rebuilt here and ONNX Runtime's output on the synthetic input is the expectation.
public struct ONNXFixture: Decodable {
    public struct Initializer: Decodable {
        public let name: String
        public let offset: Int
        public let length: Int
        public let shape: [Int]
        public let recipe: Recipe
    }

    /// How to rebuild a tensor: a state_dict entry, or a conv with its BatchNorm folded in.
    public struct Recipe: Decodable {
        public let kind: String
        public let key: String?
        public let shape: [Int]?
        public let conv: String?
        public let convShape: [Int]?
        public let bn: String?
        public let convBias: String?
        public let eps: Double?
    }

    public let name: String
    public let exporter: String
    public let opset: Int
    public let family: ModelFamily
    public let weightSeed: UInt64
    public let inputSeed: UInt64
    public let inputShape: [Int]
    /// "logits" or "probabilities" (the graph ends in Softmax).
    public let output: String
    public let expected: [Float]
    public let expectedShape: [Int]
    public let dataFile: String
    public let initializers: [Initializer]

    public static var directory: URL { ModelFixture.directory.appendingPathComponent("onnx") }

    public static func load(_ name: String) throws -> ONNXFixture {
        try JSONDecoder().decode(ONNXFixture.self, from: Data(contentsOf: directory.appendingPathComponent("\(name).json")))
    }

    /// Every ONNX fixture, sorted by name.
    public static func all() throws -> [ONNXFixture] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted().map {
            try load(String($0.dropLast(5)))
        }
    }

    public var input: Tensor { SyntheticWeights.input(shape: inputShape, seed: inputSeed) }
    public var expectedOutput: Tensor { Tensor(shape: expectedShape, data: expected) }
    public var outputsProbabilities: Bool { output == "probabilities" }

    /// Copies the graph into `folder` and writes its external data file beside it; returns the
    /// model's path.
    public func install(in folder: URL) throws -> String {
        let model = folder.appendingPathComponent("\(name).onnx")
        try? FileManager.default.removeItem(at: model)
        try FileManager.default.copyItem(at: Self.directory.appendingPathComponent("\(name).onnx"), to: model)
        var data = Data(count: initializers.map { $0.offset + $0.length }.max() ?? 0)
        for entry in initializers {
            let values = try rebuild(entry.recipe)
            precondition(values.count * 4 == entry.length, "\(entry.name): recipe gives \(values.count) values")
            values.withUnsafeBytes { data.replaceSubrange(entry.offset..<(entry.offset + entry.length), with: $0) }
        }
        try data.write(to: folder.appendingPathComponent(dataFile))
        return model.path
    }

    private func rebuild(_ r: Recipe) throws -> [Float] {
        func param(_ key: String, _ shape: [Int]) -> [Float] {
            SyntheticWeights.tensor(key: key, shape: shape, seed: weightSeed).data
        }
        switch r.kind {
        case "param": return param(r.key!, r.shape!)
        case "conv_bn_weight", "conv_bn_bias":
            let shape = r.convShape!
            let channels = shape[0]
            let bn = { (field: String) in param("\(r.bn!).\(field)", [channels]).map(Double.init) }
            let (gamma, beta, mean, variance) = (bn("weight"), bn("bias"), bn("running_mean"), bn("running_var"))
            let scale = (0..<channels).map { gamma[$0] / (variance[$0] + r.eps!).squareRoot() }
            if r.kind == "conv_bn_bias" {
                let convBias = r.convBias.map { param($0, [channels]).map(Double.init) } ?? Array(repeating: 0, count: channels)
                return (0..<channels).map { Float(beta[$0] - mean[$0] * scale[$0] + convBias[$0] * scale[$0]) }
            }
            let weight = param(r.conv!, shape)
            let perChannel = weight.count / channels
            return weight.enumerated().map { Float(Double($0.element) * scale[$0.offset / perChannel]) }
        default:
            throw CocoaError(.coderReadCorrupt, userInfo: [NSDebugDescriptionErrorKey: "unknown recipe kind \(r.kind)"])
        }
    }
}
