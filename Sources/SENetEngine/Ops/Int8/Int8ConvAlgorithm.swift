import OpenCLKit
import SENetCore

/// One way to run an int8 convolution (`conv_int8.cl`): a type that says when it applies and
/// why not, and builds its launch. `Int8ConvAlgorithms.select` picks the first that can run a
/// layer on the device and records why the ones before it were passed over, as the fp32
/// `ConvAlgorithms` do.
public protocol Int8ConvAlgorithm: Sendable {
    /// Its name in plans: `int8-dot`, `int8`.
    var name: String { get }
    /// Why it cannot run `geometry` on `device`, or nil when it can.
    func unsupportedReason(_ geometry: ConvGeometry, device: CLDevice) -> String?
    /// Its launch over the binding's int8 input, packed weights, multipliers, biases and output.
    func make(_ binding: DeviceBinding, op: Int8Convolution) throws -> DeviceOp
}

/// The int8 convolution an op runs with, and why the ones before it were passed over.
public struct Int8ConvAlgorithmChoice: Sendable {
    public let algorithm: any Int8ConvAlgorithm
    /// "name: reason" for each registered algorithm tried before this one.
    public let passedOver: [String]
}

public enum Int8ConvAlgorithms {
    /// Every int8 algorithm, in order of preference.
    public static let registered: [any Int8ConvAlgorithm] = [
        Int8KernelConvolution(dotProduct: true), Int8KernelConvolution(dotProduct: false),
    ]

    /// The first registered algorithm that runs `geometry` on `device`, or nil (with every
    /// reason) when none does.
    public static func select(_ geometry: ConvGeometry, device: CLDevice) -> (
        choice: Int8ConvAlgorithmChoice?, passedOver: [String]
    ) {
        var passedOver: [String] = []
        for algorithm in registered {
            if let reason = algorithm.unsupportedReason(geometry, device: device) {
                passedOver.append("\(algorithm.name): \(reason)")
            } else {
                return (Int8ConvAlgorithmChoice(algorithm: algorithm, passedOver: passedOver), passedOver)
            }
        }
        return (nil, passedOver)
    }
}

/// `conv_int8`: four channels per 32-bit word, OCB output channels × NP pixels of a row per
/// work-item, exact int32 sums. `int8-dot` multiplies the words with `dot()` of
/// `cl_khr_integer_dot_product`; `int8` with plain integer multiply-adds, so every device runs it.
struct Int8KernelConvolution: Int8ConvAlgorithm {
    let dotProduct: Bool
    var name: String { dotProduct ? "int8-dot" : "int8" }
    /// Output pixels of one row per work-item. One: CPU runtimes vectorize across work-items, so
    /// neighbouring pixels become one vector load; four made 32 accumulators per work-item and
    /// ran SE-ResNet-50 at 0.5–0.8× the speed of one on PoCL and Intel's runtime.
    static let pixels = 1

    func unsupportedReason(_ g: ConvGeometry, device: CLDevice) -> String? {
        if dotProduct && !device.extensions.contains("cl_khr_integer_dot_product") {
            return "the device lacks cl_khr_integer_dot_product"
        }
        if dotProduct && !device.deviceVersion.hasPrefix("OpenCL 3.") {
            return "its dot() of 8-bit words needs OpenCL C 3.0, and the device is \(device.deviceVersion)"
        }
        return Self.geometryReason(g)
    }

    /// Why the kernel cannot read `g`'s groups, or nil: a group's input channels must be whole
    /// char4 words of the NC4HW4 map, and a work-item's output channels one group's.
    static func geometryReason(_ g: ConvGeometry) -> String? {
        guard g.groups > 1 else { return nil }
        let perGroup = g.inChannels / g.groups
        if perGroup % 4 != 0 { return "its groups of \(perGroup) input channels are not whole blocks of 4" }
        return nil
    }

    /// Output channels per work-item: 8, or for grouped convolutions the most of 8, 4, 2, 1
    /// that divides a group's output channels.
    static func channelBlock(_ g: ConvGeometry) -> Int {
        let perGroup = g.outChannels / g.groups
        return g.groups == 1 ? 8 : [8, 4, 2, 1].first { perGroup % $0 == 0 }!
    }

    func make(_ b: DeviceBinding, op: Int8Convolution) throws -> DeviceOp {
        let g = op.geometry
        let block = Self.channelBlock(g)
        let kernel = try b.runtime.kernel(
            "conv_int8", file: "conv_int8.cl", defines: ["OCB": block, "NP": Self.pixels, "USE_DOT": dotProduct ? 1 : 0],
            standard: dotProduct ? "CL3.0" : "CL1.2")
        let ints = [
            (g.inChannels + 3) / 4, g.height, g.width, g.outChannels, g.outHeight, g.outWidth, g.kernelHeight, g.stride,
            g.padding, op.relu ? 1 : 0, (g.inChannels / g.groups + 3) / 4, g.outChannels / g.groups,
        ]
        let rowBlocks = g.outHeight * ((g.outWidth + Self.pixels - 1) / Self.pixels)
        let arguments = [b.inputs[0], b.weights[0], b.weights[1], b.weights[2], b.output].map { KernelArgument.buffer($0) }
        return DeviceOp([
            try KernelLaunch(
                kernel, arguments + ints.map { .int($0) },
                global: [b.runtime.roundedUp(rowBlocks), (g.outChannels + block - 1) / block, g.batch],
                local: [b.runtime.independentWorkGroupSize, 1, 1])
        ])
    }

    /// `codes` [OC, IC / groups, K, K] as the kernel reads them: [OC / OCB][GC4][K][K][OCB] words
    /// of four input channels, zeros past a group's channels and past OC; flat.
    static func pack(_ codes: Tensor, geometry g: ConvGeometry) -> Tensor {
        let block = channelBlock(g)
        let (perGroup, taps) = (g.inChannels / g.groups, g.kernelHeight * g.kernelWidth)
        let words = (perGroup + 3) / 4
        let blocks = (g.outChannels + block - 1) / block
        var packed = [Float](repeating: 0, count: blocks * words * taps * block * 4)
        for oc in 0..<g.outChannels {
            for c in 0..<perGroup {
                for tap in 0..<taps {
                    let word = ((oc / block * words + c / 4) * taps + tap) * block + oc % block
                    packed[word * 4 + c % 4] = codes.data[(oc * perGroup + c) * taps + tap]
                }
            }
        }
        return Tensor(shape: [packed.count], data: packed)
    }

    static func packedCount(_ g: ConvGeometry) -> Int {
        let block = channelBlock(g)
        return (g.outChannels + block - 1) / block * ((g.inChannels / g.groups + 3) / 4) * g.kernelHeight * g.kernelWidth
            * block * 4
    }
}
