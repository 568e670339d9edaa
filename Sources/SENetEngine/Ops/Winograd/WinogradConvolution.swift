import OpenCLKit
import SENetCore

/// `conv_winograd.cl`: 3×3 stride-1 convolutions as Winograd F(m×m, 3×3): an input transform,
/// α² GEMMs (conv_ocvec's register tile in the CPU family, conv_gemm's local-memory tiling in
/// the GPU family) and an output transform with the bias and ReLU, through plan scratch (V and
/// M, fp32). In fp32 CPU-family plans `winograd-f4` (4× fewer multiplies) is the default for
/// those layers and `winograd-f2` (2.25×, a transformed weight 16/9 of the plain one instead of
/// 36/9) for those of 512 channels or more. In the GPU family neither is a default until one
/// has been timed on a GPU; `tune` may choose either there. `--no-winograd` turns both off.
struct WinogradConvolution: ConvAlgorithm {
    let transform: WinogradTransform
    var name: String { "winograd-f\(transform.m)" }
    var packing: any ConvWeightPacking { WinogradPacking(transform: transform) }

    init(m: Int) { transform = WinogradTransform(m: m)! }

    func unsupportedReason(_ g: ConvGeometry, context: LoweringContext) -> String? {
        if !context.winograd { return "--no-winograd turned it off" }
        if g.kernelHeight != 3 || g.kernelWidth != 3 || g.stride != 1 || g.padding != 1 {
            return "it runs only 3×3 stride-1 padding-1 convolutions"
        }
        if g.groups > 1 { return "it has no grouped form" }
        if context.precision != .fp32 { return "its transforms amplify half rounding; fp16 plans run the direct kernels" }
        return nil
    }

    /// With the channel-vector default tile: F(2,3) for layers of 512 or more input channels
    /// (SE-ResNet's last stage, 7×7 at 224: F(4,3) pads 7 to 8 as F(2,3) does, but reads a
    /// weight 36/16 as large per tile; ncnn chooses so, and `tune` picked it on PoCL), F(4,3)
    /// for the rest. By channels, not map size, so plans of every image size share one upload.
    func defaultTiling(_ g: ConvGeometry, context: LoweringContext) -> ConvolutionTiling? {
        if context.family == .gpu { return nil }
        let wide = g.inChannels >= 512
        return (transform.m == 2) == wide ? .cpu(ConvTiling.channelVectorDefault(device: context.device)) : nil
    }

    func defaultDeclinedReason(_ g: ConvGeometry, context: LoweringContext) -> String {
        context.family == .gpu
            ? "not a GPU-family default until timed on a GPU (`tune` may choose it)"
            : "the device's defaults give the layer to winograd-f\(transform.m == 2 ? 4 : 2)"
    }

    func invalidReason(_ tiling: ConvolutionTiling, _ g: ConvGeometry, context: LoweringContext) -> String? {
        if tiling.family != context.family {
            return
                "a \(tiling.family.rawValue.uppercased())-family tiling in a \(context.family.rawValue.uppercased())-family plan"
        }
        switch tiling {
        case .cpu(let t) where t.kernel != .channelVector || t.halfArithmetic:
            return "it is not a channel-vector tiling in fp32"
        case .gpu(let t) where t.halfArithmetic || (t.slices ?? 1) != 1:
            return "it runs GPU tiles in fp32 without split-K"
        default: return tiling.invalidReason(on: context.device)
        }
    }

    func scratchBytes(_ g: ConvGeometry, tiling: ConvolutionTiling, elementBytes: Int, context: LoweringContext) -> Int {
        let shape = Shape(g, transform)
        return shape.points * shape.chunkTiles * (g.inChannels + g.outChannels) * MemoryLayout<Float>.size
    }

    func make(_ b: DeviceBinding, geometry g: ConvGeometry, tiling: ConvolutionTiling, relu: Bool) throws -> DeviceOp {
        let needed = scratchBytes(g, tiling: tiling, elementBytes: 4, context: b.context)
        guard let scratch = b.scratch, scratch.byteCount >= needed else {
            // The plan sizes scratch from `scratchBytes`; only a caller that skipped it lands here.
            preconditionFailure("\(name) needs \(needed) bytes of scratch")
        }
        let shape = Shape(g, transform)
        let (runtime, file) = (b.runtime, "conv_winograd.cl")
        let (defines, gemm) = kernelSetup(tiling)
        var launches: [KernelLaunch] = []
        // The transforms take one fixed work-group size: with the driver's choice PoCL compiled
        // each once per layer shape (the F(4,3) output transform took 2.3 s each time). On CPUs
        // 8 × 8 items, so that a 14×14 layer's 16 tiles still fill a group: groups of 8 cost
        // SE-ResNet-50 10 % in PoCL's per-group overhead.
        let transformLocal = runtime.device.type == .cpu ? [8, 8] : [runtime.independentWorkGroupSize, 1]
        for first in stride(from: 0, to: shape.tiles, by: shape.chunkTiles) {
            // Fresh kernel objects per chunk: a launch binds its arguments to its kernel object.
            let kernels = try ["winograd_input", gemm, "winograd_output"].map {
                try runtime.kernel($0, file: file, defines: defines, types: b.types)
            }
            let count = min(shape.chunkTiles, shape.tiles - first)
            let mOffset = shape.points * count * g.inChannels
            launches.append(
                try KernelLaunch(
                    kernels[0],
                    [.buffer(b.inputs[0]), .buffer(scratch)]
                        + [g.inChannels, g.height, g.width, shape.tilesY, shape.tilesX, first, count].map { .int($0) },
                    global: Self.transformGlobal(count, g.inChannels, local: transformLocal), local: transformLocal))
            let arguments: [KernelArgument] =
                [.buffer(b.weights[0]), .buffer(scratch)] + [mOffset, g.inChannels, g.outChannels, count].map { .int($0) }
            switch tiling {
            case .cpu(let tiling):
                launches.append(
                    try gemmLaunch(
                        kernels[1], tiling: tiling, arguments: arguments, channels: g.outChannels, tiles: count,
                        points: shape.points, units: runtime.device.computeUnits))
            case .gpu(let tiling):
                launches.append(
                    try localGEMMLaunch(
                        kernels[1], tiling: tiling, arguments: arguments, channels: g.outChannels, tiles: count,
                        points: shape.points))
            }
            launches.append(
                try KernelLaunch(
                    kernels[2],
                    [.buffer(scratch), .int(mOffset), .buffer(b.weights[1]), .buffer(b.output)]
                        + [g.outChannels, g.outHeight, g.outWidth, shape.tilesY, shape.tilesX, first, count, relu ? 1 : 0]
                        .map { .int($0) },
                    global: Self.transformGlobal(g.outChannels, count, local: transformLocal), local: transformLocal))
        }
        return DeviceOp(launches, convolutionTiling: tiling)
    }

    /// `[x, y]` rounded up to whole work-groups of `local` (the kernels skip the extra items).
    static func transformGlobal(_ x: Int, _ y: Int, local: [Int]) -> [Int] {
        [(x + local[0] - 1) / local[0] * local[0], (y + local[1] - 1) / local[1] * local[1]]
    }

    /// The build defines and the GEMM kernel.
    private func kernelSetup(_ tiling: ConvolutionTiling) -> (defines: [String: Int], gemm: String) {
        switch tiling {
        case .cpu(let t):
            precondition(t.kernel == .channelVector, "\(name) given \(t)")
            let defines = ["WINO_M": transform.m, "VW": t.vectorWidth, "OV": t.channels / t.vectorWidth, "NP": t.pixels]
            return (defines, "winograd_gemm")
        case .gpu(let t):
            let defines = [
                "WINO_M": transform.m, "VW": Self.gpuVectorWidth, "TM": t.tileM, "TN": t.tileN, "TK": t.tileK,
                "WM": t.workM, "WN": t.workN,
            ]
            return (defines, "winograd_gemm_local")
        }
    }

    /// dim 0 = blocks of `pixels` tiles, in work-groups that share a weight panel (as
    /// conv_ocvec's, kept small enough for 8 groups per compute unit); dim 1 = channel blocks;
    /// dim 2 = the α² points.
    private func gemmLaunch(
        _ kernel: CLKernel, tiling: ConvTiling, arguments: [KernelArgument], channels: Int, tiles: Int, points: Int,
        units: Int
    ) throws -> KernelLaunch {
        let tileBlocks = (tiles + tiling.pixels - 1) / tiling.pixels
        let channelBlocks = (channels + tiling.channels - 1) / tiling.channels
        guard let size = tiling.localSize else {
            return try KernelLaunch(kernel, arguments, global: [tileBlocks, channelBlocks, points])
        }
        var local = min(size, tileBlocks)
        while local > 1 && (tileBlocks + local - 1) / local * channelBlocks * points < 8 * units { local /= 2 }
        let global = [(tileBlocks + local - 1) / local * local, channelBlocks, points]
        return try KernelLaunch(kernel, arguments, global: global, local: [local, 1, 1])
    }

    /// Two register tiles for the CPU family; for the GPU family the device's default GEMM tile
    /// and a small one whose work-items each hold several channels and tiles, with a TK that
    /// takes several local-memory steps (a partial last one) over the self-check's 13 channels,
    /// so Oclgrind sees the barriers between steps.
    func selfCheckTilings(device: CLDevice, precision: Precision) -> [ConvolutionTiling] {
        let cpu = [
            ConvTiling(vectors: 2, vectorWidth: 8, pixels: 5, localSize: 4),
            ConvTiling(vectors: 1, vectorWidth: 4, pixels: 3, localSize: nil),
        ]
        let gpu = [
            GPUConvTiling.defaultFor(device: device), GPUConvTiling(tileM: 32, tileN: 16, tileK: 4, workM: 2, workN: 4),
        ].filter { $0.fits(device) }
        return cpu.map(ConvolutionTiling.cpu) + gpu.map(ConvolutionTiling.gpu)
    }

    /// The channel-vector tiles `tune` tries for conv_ocvec (CPU family) or gemm-gpu's tiles
    /// without split-K (GPU family), without half arithmetic.
    func tuningCandidates(_ g: ConvGeometry, context: LoweringContext) -> [ConvolutionTiling] {
        switch context.family {
        case .cpu:
            return ConvTuner.candidates(for: context.device, precision: .fp32, arithmetic: .fp32)
                .filter { $0.kernel == .channelVector }.map(ConvolutionTiling.cpu)
        case .gpu:
            return GPUConvTiling.candidates.filter { $0.slices == nil && $0.fits(context.device) }.map(ConvolutionTiling.gpu)
        }
    }

    /// The most scratch (V and M) one chunk of tiles may take. ncnn builds its scratch one
    /// cache-sized block at a time; 2 MiB keeps SE-ResNet-50's arena at batch 1 as it was without
    /// Winograd (the block fits beside the 56×56 stage's values) at every batch.
    static let scratchLimit = 2 << 20

    /// The tile grid of `g`: ⌈H/m⌉ × ⌈W/m⌉ tiles per image, α² points each, run in equal chunks
    /// of at most `chunkTiles` tiles whose scratch fits `scratchLimit` (one tile at least).
    struct Shape {
        let tilesY, tilesX, tiles, points, chunkTiles: Int

        init(_ g: ConvGeometry, _ transform: WinogradTransform) {
            tilesY = (g.outHeight + transform.m - 1) / transform.m
            tilesX = (g.outWidth + transform.m - 1) / transform.m
            tiles = g.batch * tilesY * tilesX
            points = transform.alpha * transform.alpha
            let perTile = points * (g.inChannels + g.outChannels) * MemoryLayout<Float>.size
            let chunks =
                (tiles + max(1, WinogradConvolution.scratchLimit / perTile) - 1)
                / max(1, WinogradConvolution.scratchLimit / perTile)
            chunkTiles = (tiles + chunks - 1) / chunks
        }
    }
}

/// U = G g Gᵀ per point, each point's [O, C] matrix packed in blocks of 64 output channels:
/// [α², ⌈O/64⌉, C, 64], so a tile's output channels at one input channel are contiguous.
struct WinogradPacking: ConvWeightPacking {
    let transform: WinogradTransform
    var name: String { "wino\(transform.m)-oc\(ConvTiling.weightBlock)" }

    func packedShape(_ weightShape: [Int]) -> [Int] {
        let block = ConvTiling.weightBlock
        return [transform.alpha * transform.alpha, (weightShape[0] + block - 1) / block, weightShape[1], block]
    }

    func pack(_ weight: Tensor) -> Tensor {
        let u = transform.transformedWeights(weight)
        let (points, outChannels, inChannels) = (u.shape[0], u.shape[1], u.shape[2])
        let block = ConvTiling.weightBlock
        var packed = Tensor(shape: packedShape(weight.shape))
        let blocks = packed.shape[1]
        for p in 0..<points {
            for o in 0..<outChannels {
                let base = ((p * blocks + o / block) * inChannels) * block + o % block
                let row = (p * outChannels + o) * inChannels
                for c in 0..<inChannels { packed.data[base + c * block] = u.data[row + c] }
            }
        }
        return packed
    }
}
