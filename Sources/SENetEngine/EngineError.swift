import OpenCLKit

/// Errors of the engine. Each case carries what a front end needs to say what went wrong and
/// what to do; `description` is one line without front-end words (no flags).
public enum EngineError: Error, CustomStringConvertible, Equatable {
    /// The ICD loader found no OpenCL platform at all.
    case noOpenCLPlatform
    /// A device index that does not exist; carries the devices that do.
    case deviceIndexOutOfRange(index: Int, available: [String])
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
    /// The whole network with the newly tuned tiles disagrees with the CPU reference.
    case tunedNetworkDisagrees(relativeError: Float)
    /// A launch whose sizes the device or the kernel cannot run.
    case invalidLaunch(kernel: String, global: [Int], local: [Int]?, reason: String)
    /// A pattern selecting ops for the CPU matched none; carries the kinds that exist.
    case unmatchedOpPattern(pattern: String, kinds: [String])
    /// A layer name that is not in the network (debug hooks name layers).
    case unknownLayer(name: String)
    /// A run's input differs from the shape its plan was built for.
    case inputShapeMismatch(got: [Int], planned: [Int])
    /// A weight tensor (as the device would store it, BatchNorm folded) holds values past
    /// half's largest finite value, 65504, so fp16 storage would make them infinite.
    case weightOutOfHalfRange(tensor: String, largest: Float, count: Int)
    /// Half arithmetic was asked for on a device without cl_khr_fp16.
    case halfArithmeticUnsupported(device: String)
    /// `--auto-precision` or `--fp32-layers` without an fp16 plan on a device.
    case autoPrecisionNeedsHalf
    /// The mixed-precision search kept `kept` layers in fp32 and the logits still missed.
    case autoPrecisionFailed(kept: Int, logitsError: Float, tolerance: Float)
    /// An `--fp32-layers` entry that matches no op.
    case unmatchedFP32Layer(pattern: String)
    /// An int8 plan without a calibration file.
    case int8NeedsCalibration

    public var description: String {
        switch self {
        case .noOpenCLPlatform:
            return "no OpenCL platform found; install a driver (on Debian/Ubuntu: "
                + "`apt-get install pocl-opencl-icd` for the CPU, or your GPU vendor's OpenCL ICD) and check /etc/OpenCL/vendors"
        case .deviceIndexOutOfRange(let index, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: "; ")
            return "device \(index) does not exist; available: \(list)"
        case .kernelBuildFailed(let source, let options, let log):
            let shownLog = log.isEmpty ? "(the driver gave no build log)" : log
            return "OpenCL kernel \(source) failed to build with options '\(options)'; "
                + "fix the source or report the driver bug. Build log:\n\(shownLog)"
        case .kernelSourceNotFound(let name, let searched):
            return "kernel source \(name) not found; searched: \(searched.joined(separator: ", "))"
        case .deviceOutOfMemory(let needed, let available, let batch, _):
            return "batch \(batch) does not fit in device memory (needs \(needed / 1_048_576) MiB, "
                + "the device allows \(available / 1_048_576) MiB)"
        case .layerFailed(let layer, let reason):
            return "the device failed in layer \(layer): \(reason); no results were written"
        case .tuningFailed(let shape, let reason):
            return "tuning failed for convolution \(shape): \(reason); the driver may be miscompiling"
        case .tunedNetworkDisagrees(let error):
            return "the tuned network's logits differ from the CPU reference (relative error \(error)), so nothing was saved; "
                + "the driver may be miscompiling"
        case .invalidLaunch(let kernel, let global, let local, let reason):
            return "kernel \(kernel) cannot launch with global \(global), local \(local.map { "\($0)" } ?? "driver's"): \(reason)"
        case .unmatchedOpPattern(let pattern, let kinds):
            return "'\(pattern)' matches no op; use a layer name, a kind (\(kinds.joined(separator: ", "))) or a pattern with *"
        case .unknownLayer(let name):
            return "'\(name)' is not a layer of this network"
        case .inputShapeMismatch(let got, let planned):
            return "input shape \(got) differs from the plan's \(planned)"
        case .weightOutOfHalfRange(let tensor, let largest, let count):
            return
                "tensor \(tensor) has \(count) values outside the fp16 range (largest magnitude \(largest), fp16 stops at 65504)"
        case .halfArithmeticUnsupported(let device):
            return "device \(device) has no fp16 arithmetic (no cl_khr_fp16 or an empty CL_DEVICE_HALF_FP_CONFIG)"
        case .autoPrecisionNeedsHalf:
            return "mixed precision keeps layers of an fp16 plan in fp32, so it needs --precision fp16 and an OpenCL device"
        case .autoPrecisionFailed(let kept, let error, let tolerance):
            return "mixed precision kept \(kept) layers in fp32 and the logits still differ from the fp32 reference by "
                + String(format: "%.2e relative (bound %.1e)", error, tolerance)
        case .unmatchedFP32Layer(let pattern):
            return "--fp32-layers '\(pattern)' matches no layer"
        case .int8NeedsCalibration:
            return "an int8 plan needs the scales of a calibration file"
        }
    }
}
