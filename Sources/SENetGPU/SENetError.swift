/// The errors a user can act on. Each description is one line: the problem, then a hint.
public enum SENetError: Error, CustomStringConvertible, Equatable {
    /// The ICD loader found no OpenCL platform at all.
    case noOpenCLPlatform
    /// `--device N` named a device that does not exist; carries the list that does.
    case deviceIndexOutOfRange(index: Int, available: [String])
    /// `--device` was neither a number nor `cpu`.
    case invalidDeviceName(String)
    /// The driver's compiler rejected a kernel source; carries its build log.
    case kernelBuildFailed(source: String, options: String, log: String)
    /// A kernel source file was found nowhere; carries every place searched.
    case kernelSourceNotFound(name: String, searched: [String])
    /// The plan does not fit the device; carries what it needs and a batch size that fits.
    case deviceOutOfMemory(neededBytes: Int, availableBytes: Int, batch: Int, suggestedBatch: Int)
    /// A device op failed while running; names the layer.
    case layerFailed(layer: String, reason: String)
    /// The tuner found no working candidate for a shape.
    case tuningFailed(shape: String, reason: String)

    public var description: String {
        switch self {
        case .noOpenCLPlatform:
            return "no OpenCL platform found; install a driver (on Debian/Ubuntu: "
                + "`apt-get install pocl-opencl-icd` for the CPU, or your GPU vendor's OpenCL ICD) "
                + "and check /etc/OpenCL/vendors"
        case .deviceIndexOutOfRange(let index, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: "; ")
            return "device \(index) does not exist; available: \(list) (or `--device cpu`)"
        case .invalidDeviceName(let name):
            return "invalid device '\(name)'; use a number from `senet-gpu devices` or `cpu`"
        case .kernelBuildFailed(let source, let options, let log):
            let shownLog = log.isEmpty ? "(the driver gave no build log)" : log
            return "OpenCL kernel \(source) failed to build with options '\(options)'; "
                + "fix the source or report the driver bug. Build log:\n\(shownLog)"
        case .deviceOutOfMemory(let needed, let available, let batch, let suggested):
            let mib = { (bytes: Int) in "\(bytes / 1_048_576) MiB" }
            let hint = suggested >= 1 ? "try --batch \(suggested)" : "the model does not fit even at batch 1"
            return "batch \(batch) does not fit in device memory (needs \(mib(needed)), the device allows \(mib(available))); "
                + "\(hint), or --fallback cpu to run on the CPU"
        case .layerFailed(let layer, let reason):
            return "the device failed in layer \(layer): \(reason); no results were written. "
                + "Run `senet-gpu compare` or force the layer onto the CPU with --cpu-ops \(layer)"
        case .tuningFailed(let shape, let reason):
            return "tuning failed for convolution \(shape): \(reason); the driver may be miscompiling, try `senet-gpu compare`"
        case .kernelSourceNotFound(let name, let searched):
            return "kernel source \(name) not found; searched: \(searched.joined(separator: ", ")); "
                + "check --kernels / SENET_GPU_KERNELS"
        }
    }
}

/// Errors about the files a user hands in: weights, `.npy` inputs.
public enum InputError: Error, CustomStringConvertible, Equatable {
    /// A weight file that cannot be read or that breaks the safetensors format.
    case invalidWeights(path: String, reason: String)
    /// A well-formed weight file that does not describe a supported SE-ResNet.
    case unsupportedModel(path: String, reason: String)
    /// A `.npy` input or output problem.
    case invalidArray(path: String, reason: String)
    /// A file that cannot be opened at all.
    case unreadable(path: String, reason: String)
    /// A command-line value that makes no sense.
    case invalidOption(String)
    /// An image file that cannot be decoded: not JPEG or PNG, damaged, too large or unsupported.
    case invalidImage(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidWeights(let path, let reason):
            return "weights \(path): \(reason.escapingLineBreaks); re-export them with tools/export_weights.py"
        case .unsupportedModel(let path, let reason):
            return "weights \(path) are not a supported SE-ResNet: \(reason.escapingLineBreaks); "
                + "check --model or export with tools/export_weights.py"
        case .invalidArray(let path, let reason):
            return "array \(path): \(reason.escapingLineBreaks); inputs must be float32 little-endian NCHW .npy with 3 channels"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason.escapingLineBreaks); check the path and permissions"
        case .invalidOption(let message):
            return message
        case .invalidImage(let path, let reason):
            return "image \(path): \(reason.escapingLineBreaks); supported: JPEG (baseline, progressive; RGB or grey) "
                + "and PNG (grey, RGB, RGBA, palette, 8/16-bit)"
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
