/// Errors about what a user hands in: weight files, arrays, images, model names, settings.
/// Each case carries the facts; `description` states the problem in one line. Front ends add
/// their own hints (the CLI names its flags; the library never does).
public enum InputError: Error, CustomStringConvertible, Equatable {
    /// A weight file that cannot be read or that breaks the safetensors format.
    case invalidWeights(path: String, reason: String)
    /// A well-formed weight file that does not describe a supported SE-ResNet.
    case unsupportedModel(path: String, reason: String)
    /// An ONNX file that cannot be parsed, or whose tensors or external data are invalid.
    case invalidONNX(path: String, reason: String)
    /// An ONNX node whose op type the importer does not map onto the network.
    case unsupportedONNXNode(path: String, node: String, opType: String)
    /// An ONNX graph of supported ops that is not an SE-ResNet/SE-ResNeXt as exported by PyTorch.
    case unsupportedONNXGraph(path: String, node: String, reason: String)
    /// The caller asked for one model and the file holds another.
    case modelMismatch(path: String, requested: String, found: String)
    /// A model name that is not one of ours; carries examples of names that are.
    case unknownModel(name: String, examples: [String])
    /// A `.npy` input or output problem.
    case invalidArray(path: String, reason: String)
    /// A file that cannot be opened at all.
    case unreadable(path: String, reason: String)
    /// An image file that cannot be decoded: not JPEG or PNG, damaged, too large or unsupported.
    case invalidImage(path: String, reason: String)
    /// Preprocessing settings that make no sense (crop below 32, a zero std, ...).
    case invalidPreprocessing(resize: Int, crop: Int, mean: [Float], std: [Float])
    /// The centre crop does not fit inside the resized image.
    case cropLargerThanImage(crop: Int, width: Int, height: Int)
    /// An input batch that is not [N, 3, H, W] with N ≥ 1 and H, W ≥ 32.
    case invalidInputShape(shape: [Int])
    /// A label file whose line count is not the model's class count.
    case labelCountMismatch(path: String, names: Int, classes: Int)
    /// An ONNX AveragePool with a fixed window, a global pool only on maps of that size, on a
    /// map of another size (the input is not the size the model was exported for).
    case fixedPoolDoesNotFit(node: String, window: [Int], map: [Int])
    /// An int8 calibration file that cannot be parsed or does not fit the model.
    case invalidCalibration(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidWeights(let path, let reason):
            return "weights \(path): \(reason.escapingLineBreaks)"
        case .unsupportedModel(let path, let reason):
            return "weights \(path) are not a supported SE-ResNet: \(reason.escapingLineBreaks)"
        case .invalidONNX(let path, let reason):
            return "ONNX model \(path): \(reason.escapingLineBreaks)"
        case .unsupportedONNXNode(let path, let node, let opType):
            return
                "ONNX model \(path): node '\(node.escapingLineBreaks)' has op type \(opType.escapingLineBreaks), which senet-gpu does not run"
        case .unsupportedONNXGraph(let path, let node, let reason):
            return
                "ONNX model \(path) is not an SE-ResNet graph senet-gpu can map: at \(node.escapingLineBreaks): \(reason.escapingLineBreaks)"
        case .modelMismatch(let path, let requested, let found):
            return "model \(requested.escapingLineBreaks) was asked for but \(path) holds \(found)"
        case .unknownModel(let name, let examples):
            return "unknown model '\(name.escapingLineBreaks)'; known: \(examples.joined(separator: ", "))"
        case .invalidArray(let path, let reason):
            return "array \(path): \(reason.escapingLineBreaks)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason.escapingLineBreaks)"
        case .invalidImage(let path, let reason):
            return "image \(path): \(reason.escapingLineBreaks)"
        case .invalidPreprocessing(let resize, let crop, let mean, let std):
            return "invalid preprocessing (resize \(resize), crop \(crop), mean \(mean), std \(std)): "
                + "the crop must be at least 32 and the three std values non-zero"
        case .cropLargerThanImage(let crop, let width, let height):
            return "the centre crop \(crop) is larger than the resized image \(width)×\(height)"
        case .invalidInputShape(let shape):
            return "input shape \(shape) is not [N, 3, H, W] with N >= 1 and H, W >= 32"
        case .labelCountMismatch(let path, let names, let classes):
            return "labels \(path) has \(names) names but the model has \(classes) classes"
        case .fixedPoolDoesNotFit(let node, let window, let map):
            let (w, m) = (window.map(String.init).joined(separator: "×"), map.map(String.init).joined(separator: "×"))
            return "ONNX node '\(node.escapingLineBreaks)' is an AveragePool with a fixed \(w) window, a global pool "
                + "only on \(w) feature maps, but this input size gives it \(m)"
        case .invalidCalibration(let path, let reason):
            return "int8 calibration \(path): \(reason.escapingLineBreaks)"
        }
    }
}

extension String {
    /// The text with control characters and line or paragraph separators written as escapes
    /// (`\n`, `\u{2028}`), so a name quoted from an untrusted file cannot break a message over lines.
    public var escapingLineBreaks: String {
        var result = ""
        for scalar in unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: result += scalar.escaped(asASCII: true)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
