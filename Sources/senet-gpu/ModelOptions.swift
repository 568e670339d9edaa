import ArgumentParser
import Foundation
import SENetGPU

/// Where the network and its input come from; shared by infer, compare and bench.
struct ModelOptions: ParsableArguments {
    @Option(help: "safetensors weights (timm seresnetNN, legacy/Cadene, or classic SENet). Default: synthetic seeded weights.")
    var weights: String?

    @Option(help: "Model: seresnet18/34/50/101/152, legacy_seresnetNN or senetNN. Checked against --weights.")
    var model: String?

    @Option(help: "Input .npy: float32 NCHW with 3 channels, already normalised. Default: a seeded synthetic input.")
    var input: String?

    @Option(help: "Batch size of the synthetic input.")
    var batch = 1

    @Option(help: "Height and width of the synthetic input, e.g. 224 or 240x320.")
    var size = "224"

    /// Seed of the synthetic weights and input; fixed so every run prints the same numbers.
    static let syntheticSeed: UInt64 = 1

    /// The network, and whether its weights are synthetic.
    func loadModel() throws -> (SEResNet, synthetic: Bool) {
        if let weights { return (try ModelLoader.load(path: weights, modelName: model), false) }
        let name = model ?? "seresnet50"
        guard let architecture = Architecture(modelName: name) else { throw ModelLoader.unknownModel(name) }
        return (try SyntheticWeights.model(architecture, seed: Self.syntheticSeed), true)
    }

    /// The input batch: `--input` or the synthetic one.
    func loadInput() throws -> Tensor {
        if let input {
            let tensor = try NumpyFile.read(path: input)
            guard tensor.shape.count == 4, tensor.shape[1] == 3, tensor.shape[0] > 0, tensor.shape[2] >= 32, tensor.shape[3] >= 32
            else {
                throw InputError.invalidArray(path: input, reason: "shape \(tensor.shape) is not [N, 3, H, W] with H, W >= 32")
            }
            return tensor
        }
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard batch >= 1, parts.count == 1 || parts.count == 2, parts.allSatisfy({ $0 >= 32 && $0 <= 4096 }) else {
            throw InputError.invalidOption(
                "invalid --size '\(size)' or --batch \(batch); use e.g. --size 224 or 240x320 (32 to 4096), --batch >= 1")
        }
        let (height, width) = (parts[0], parts.count == 2 ? parts[1] : parts[0])
        return SyntheticWeights.input(shape: [batch, 3, height, width], seed: Self.syntheticSeed)
    }
}
