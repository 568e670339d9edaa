import OpenCLKit
import SENetCore
import SENetEngine

/// Errors only the command line can make: flag values that make no sense.
enum CLIError: Error, CustomStringConvertible {
    /// A flag value that makes no sense; the message names the flag.
    case invalidOption(String)

    var description: String {
        switch self {
        case .invalidOption(let message): return message
        }
    }
}

/// The one-line message for any error: the library's statement of the problem, then a hint in
/// the command line's own words (its flags). The library never names a flag; this does.
enum ErrorMessages {
    static func line(_ error: Error) -> String {
        switch error {
        case let error as InputError: return input(error)
        case let error as EngineError: return engine(error)
        case let error as CLError: return "OpenCL error: \(error.description)"
        case let error as CLIError: return error.description
        default: return "\(error)"
        }
    }

    private static func input(_ error: InputError) -> String {
        let text = error.description
        switch error {
        case .invalidWeights: return "\(text); re-export them with tools/export_weights.py"
        case .unsupportedModel: return "\(text); check --model or export with tools/export_weights.py"
        case .invalidONNX: return "\(text); re-export it with torch.onnx.export and keep its external data files beside it"
        case .unsupportedONNXNode:
            let ops = ONNXImporter.supportedOps.joined(separator: ", ")
            return
                "\(text); supported ops: \(ops). Export the model without that op, or as safetensors with tools/export_weights.py"
        case .unsupportedONNXGraph:
            return
                "\(text); ONNX input covers SE-ResNet/SE-ResNeXt graphs from torch.onnx.export; try tools/export_weights.py instead"
        case .modelMismatch: return "--model: \(text); drop --model or give the matching --weights"
        case .unknownModel: return "\(text); pass one of them to --model"
        case .invalidArray: return "\(text); inputs must be float32 NCHW .npy with 3 channels"
        case .unreadable: return "\(text); check the path and permissions"
        case .invalidImage:
            return "\(text); supported: JPEG (baseline, progressive; RGB or grey) and PNG (grey, RGB, RGBA, palette, 8/16-bit)"
        case .invalidPreprocessing: return "\(text); check --resize, --crop, --mean and --std"
        case .cropLargerThanImage: return "\(text); raise --resize or lower --crop"
        case .invalidInputShape: return "\(text); check --size and --batch, or the .npy's shape"
        case .labelCountMismatch: return "--labels: \(text); give one name per line"
        case .fixedPoolDoesNotFit:
            return "\(text); give --size the image size the model was exported at (224 for AvgPool2d(7) heads), "
                + "or export it with AdaptiveAvgPool2d(1) to run at any size"
        case .invalidCalibration: return "\(text); write it again with `senet-gpu calibrate` for this model"
        }
    }

    private static func engine(_ error: EngineError) -> String {
        let text = error.description
        switch error {
        case .deviceIndexOutOfRange: return "\(text) (or `--device cpu`)"
        case .kernelSourceNotFound: return "\(text); check --kernels / SENET_GPU_KERNELS"
        case .deviceOutOfMemory(_, _, _, let suggested):
            let hint = suggested >= 1 ? "try --batch \(suggested)" : "the model does not fit even at batch 1"
            return "\(text); \(hint), or --fallback cpu to run on the CPU"
        case .layerFailed(let layer, _):
            return "\(text). Run `senet-gpu compare` or force the layer onto the CPU with --cpu-ops \(layer)"
        case .tuningFailed, .tunedNetworkDisagrees: return "\(text); try `senet-gpu compare`"
        case .unmatchedOpPattern(let pattern, let kinds):
            return "--cpu-ops '\(pattern)' matches no op; use a layer name from `senet-gpu plan`, a kind "
                + "(\(kinds.joined(separator: ", "))) or a pattern like layer4* or *.se*"
        case .unknownLayer: return "\(text); see `senet-gpu plan` for the layer names"
        case .invalidLaunch: return "\(text); report it with the output of `senet-gpu devices --json`"
        case .weightOutOfHalfRange:
            return "\(text); run this model with --precision fp32, or add --auto-precision to keep that layer in fp32"
        case .halfArithmeticUnsupported: return "\(text); use --arithmetic fp32 (fp16 storage still works) or --arithmetic auto"
        case .autoPrecisionNeedsHalf: return "\(text); add --precision fp16 and --device N"
        case .autoPrecisionFailed: return "\(text); run this model with --precision fp32, or raise --tolerance"
        case .unmatchedFP32Layer: return "\(text); use a layer name from `senet-gpu plan`, a kind, or a pattern like layer4*"
        case .int8NeedsCalibration:
            return "\(text); add --int8-calibration FILE, written by `senet-gpu calibrate --device N --out FILE`"
        case .noOpenCLPlatform, .kernelBuildFailed, .inputShapeMismatch: return text
        }
    }
}
