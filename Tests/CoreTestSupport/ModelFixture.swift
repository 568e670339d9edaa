import Foundation
import SENetCore

/// A PyTorch-made test case from `tools/make_fixtures.py`: seeds, shapes and PyTorch's logits.
public struct ModelFixture: Decodable {
    /// The pass mark on the logits: max|ours − PyTorch| / max|PyTorch| ≤ 1e-4 (fp32).
    public static let tolerance: Float = 1e-4

    public let name: String
    public let family: ModelFamily
    public let depth: Int
    /// timm's model name for the variants (`seresnext26d_32x4d`); absent for plain SE-ResNets.
    public let model: String?
    public let numClasses: Int
    public let weightSeed: UInt64
    public let inputSeed: UInt64
    public let inputShape: [Int]
    public let logits: [Float]
    public let logitsShape: [Int]
    /// The PyTorch state_dict: [key, shape, dtype] in order.
    public let keys: [[KeyField]]

    public enum KeyField: Decodable {
        case text(String)
        case shape([Int])
        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .shape(try container.decode([Int].self))
            }
        }
    }

    /// (key, shape, dtype) triples.
    public var stateDict: [(key: String, shape: [Int], dtype: String)] {
        keys.compactMap { fields in
            guard fields.count == 3, case .text(let key) = fields[0], case .shape(let shape) = fields[1],
                case .text(let dtype) = fields[2]
            else { return nil }
            return (key, shape, dtype)
        }
    }

    public var architecture: Architecture {
        if let model { return Architecture(modelName: model, numClasses: numClasses)! }
        return Architecture(family: family, depth: depth, numClasses: numClasses)!
    }
    /// The fixture's kind of network, for worst-error reports: `timm SE-ResNeXt`, `legacy SENet-154`.
    public var group: String {
        let a = architecture
        let kind =
            a.isSENet154
            ? "SENet-154" : a.cardinality > 1 ? "SE-ResNeXt" : a.stemWidths.count > 1 ? "deep-stem SE-ResNet" : "SE-ResNet"
        return "\(family.rawValue) \(kind)"
    }

    public var input: Tensor { SyntheticWeights.input(shape: inputShape, seed: inputSeed) }
    public var expectedLogits: Tensor { Tensor(shape: logitsShape, data: logits) }

    public static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    public static func load(_ name: String) throws -> ModelFixture {
        try JSONDecoder().decode(ModelFixture.self, from: Data(contentsOf: directory.appendingPathComponent("\(name).json")))
    }

    /// Every model fixture in the folder, sorted by name.
    public static func all() throws -> [ModelFixture] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".json") && $0 != "dtypes.json"
        }.sorted().map { try load(String($0.dropLast(5))) }
    }

    /// Writes the synthetic weights as a safetensors file with exactly PyTorch's state_dict
    /// keys (num_batches_tracked included), as tools/export_weights.py would.
    public func writeWeights(to path: String) throws {
        let parameters = SyntheticWeights.parameters(for: architecture, seed: weightSeed)
        let floats = stateDict.filter { $0.dtype != "I64" }.map { (name: $0.key, tensor: parameters[$0.key]!) }
        let counters = stateDict.filter { $0.dtype == "I64" }.map { (name: $0.key, value: Int64(0)) }
        try SafeTensorsWriter.write(
            floats, int64Scalars: counters, metadata: ["family": family.rawValue, "model": architecture.modelName], to: path)
    }
}
