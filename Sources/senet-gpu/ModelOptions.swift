import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

/// The network: `--weights` and `--model`; shared by infer, compare, bench and serve.
struct WeightsOptions: ParsableArguments {
    @Option(
        help:
            "Weights: safetensors (timm seresnet/seresnext, legacy/Cadene, classic SENet) or an ONNX file from torch.onnx.export. Default: synthetic seeded weights."
    )
    var weights: String?

    @Option(
        help:
            "Model: seresnet18/34/50/101/152, legacy_seresnetNN, senetNN, seresnext50_32x4d, seresnet152d, senet154 and the rest of timm's SENet names (an unknown name lists them). Checked against --weights."
    )
    var model: String?

    /// The network, and whether its weights are synthetic.
    func loadModel() throws -> (SEResNet, synthetic: Bool) {
        if let weights {
            let loaded = try ModelLoader.load(path: weights, modelName: model)
            for warning in loaded.warnings { printErr("senet-gpu: warning: weights \(weights): \(warning)") }
            return (loaded, false)
        }
        let name = model ?? "seresnet50"
        guard let architecture = Architecture(modelName: name) else { throw ModelLoader.unknownModel(name) }
        return (try SyntheticWeights.model(architecture, seed: ModelOptions.syntheticSeed), true)
    }
}

/// How images become the network's input; shared by infer, compare, bench and serve.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: "Resize the shorter image side to this (bilinear, as PIL).")
    var resize = 256

    @Option(help: "Side of the centre crop.")
    var crop = 224

    @Option(help: "Per-channel mean subtracted after scaling to [0, 1], as R,G,B.")
    var mean = "0.485,0.456,0.406"

    @Option(help: "Per-channel standard deviation divided by, as R,G,B.")
    var std = "0.229,0.224,0.225"

    /// `--resize`, `--crop`, `--mean`, `--std`.
    func preprocessing() throws -> Preprocessing {
        func triple(_ text: String, _ name: String) throws -> [Float] {
            let values = text.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == 3 else { throw CLIError.invalidOption("--\(name) '\(text)' must be three numbers, as R,G,B") }
            return values
        }
        return Preprocessing(resize: resize, crop: crop, mean: try triple(mean, "mean"), std: try triple(std, "std"))
    }
}

/// Where the network and its input come from; shared by infer, compare and bench.
struct ModelOptions: ParsableArguments {
    @OptionGroup var weightsOptions: WeightsOptions

    @Option(
        parsing: .upToNextOption,
        help:
            "Inputs: JPEG/PNG files or folders (searched recursively), or one float32 NCHW .npy already normalised. Default: a seeded synthetic input."
    )
    var input: [String] = []

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @Option(help: "Batch size of the synthetic input.")
    var batch = 1

    @Option(help: "Height and width of the synthetic input, e.g. 224 or 240x320.")
    var size = "224"

    /// Seed of the synthetic weights and input; fixed so every run prints the same numbers.
    static let syntheticSeed: UInt64 = 1

    var weights: String? { weightsOptions.weights }
    var model: String? { weightsOptions.model }

    func loadModel() throws -> (SEResNet, synthetic: Bool) { try weightsOptions.loadModel() }

    func preprocessing() throws -> Preprocessing { try preprocessingOptions.preprocessing() }

    /// True when `--input` names images (files or folders) rather than one `.npy`.
    var inputIsImages: Bool { !input.isEmpty && !(input.count == 1 && input[0].lowercased().hasSuffix(".npy")) }

    /// The input batch: `--input` (one .npy, or images preprocessed on the CPU) or the synthetic one.
    func loadInput() throws -> Tensor {
        if inputIsImages {
            let files = try ImageInputs.collect(input)
            guard !files.isEmpty else {
                throw CLIError.invalidOption("no JPEG or PNG files found in \(input.joined(separator: ", "))")
            }
            let settings = try preprocessing()
            let tensors = try files.map { try Reference.preprocess(ImageDecoder.decode(path: $0), settings) }
            return Tensor(shape: [tensors.count, 3, settings.crop, settings.crop], data: tensors.flatMap(\.data))
        }
        if let input = input.first {
            let tensor = try NumpyFile.read(path: input)
            guard tensor.shape.count == 4, tensor.shape[1] == 3, tensor.shape[0] > 0, tensor.shape[2] >= 32, tensor.shape[3] >= 32
            else {
                throw InputError.invalidArray(path: input, reason: "shape \(tensor.shape) is not [N, 3, H, W] with H, W >= 32")
            }
            warnAboutNonFiniteValues(tensor, source: input)
            return tensor
        }
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard batch >= 1, parts.count == 1 || parts.count == 2, parts.allSatisfy({ $0 >= 32 && $0 <= 4096 }) else {
            throw CLIError.invalidOption(
                "invalid --size '\(size)' or --batch \(batch); use e.g. --size 224 or 240x320 (32 to 4096), --batch >= 1")
        }
        let (height, width) = (parts[0], parts.count == 2 ? parts[1] : parts[0])
        return SyntheticWeights.input(shape: [batch, 3, height, width], seed: Self.syntheticSeed)
    }

    /// NaN or infinity in an input would flow through ReLU's max into confident-looking
    /// predictions, so each such image is named on stderr.
    private func warnAboutNonFiniteValues(_ tensor: Tensor, source: String) {
        let perImage = tensor.count / tensor.shape[0]
        for image in 0..<tensor.shape[0] {
            let bad = tensor.data[(image * perImage)..<((image + 1) * perImage)].reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 {
                printErr(
                    "senet-gpu: warning: \(source) image \(image) has \(bad) NaN or infinite values; its results are meaningless")
            }
        }
    }
}
