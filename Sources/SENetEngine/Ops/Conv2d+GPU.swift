import OpenCLKit
import SENetCore

/// Tile sizes of the GPU convolution (`conv_gemm.cl`): a work-group computes a tileM × tileN
/// block of output channels × pixels with (tileM / workM) × (tileN / workN) work-items, staging
/// tileK steps of weights and inputs in local memory; `slices` splits K (nil: chosen from the
/// device's compute units).
public struct GPUConvTiling: Hashable, Codable, Sendable, CustomStringConvertible {
    public var tileM, tileN, tileK, workM, workN: Int
    public var slices: Int?
    /// fp16 plans only: half local tiles, products and per-step sums (`HALF_MATH`).
    public var halfArithmetic = false

    public init(tileM: Int, tileN: Int, tileK: Int, workM: Int, workN: Int, slices: Int? = nil) {
        (self.tileM, self.tileN, self.tileK, self.workM, self.workN, self.slices) = (tileM, tileN, tileK, workM, workN, slices)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let field = { (key: CodingKeys) in try c.decode(Int.self, forKey: key) }
        (tileM, tileN, tileK, workM, workN) = (
            try field(.tileM), try field(.tileN), try field(.tileK), try field(.workM), try field(.workN)
        )
        slices = try c.decodeIfPresent(Int.self, forKey: .slices)
        halfArithmetic = try c.decodeIfPresent(Bool.self, forKey: .halfArithmetic) ?? false
    }

    /// Work-items per work-group.
    public var groupSize: Int { (tileM / workM) * (tileN / workN) }
    /// Local memory one work-group stages (fp32 tiles; half arithmetic stages half as much).
    public var localBytes: Int { tileK * (tileM + tileN) * MemoryLayout<Float>.stride }

    public var description: String {
        "M=\(tileM) N=\(tileN) K=\(tileK) WM=\(workM) WN=\(workN) group=\(groupSize)" + (slices.map { " split=\($0)" } ?? "")
            + (halfArithmetic ? " half" : "")
    }

    /// What the tuner tries (work-groups of 64 to 256), each also with split-K off.
    public static let candidates: [GPUConvTiling] = [
        (64, 64, 16, 4, 4), (64, 64, 8, 8, 4), (32, 64, 16, 4, 4), (64, 32, 16, 4, 4), (32, 32, 16, 4, 4), (32, 32, 16, 2, 2),
        (64, 16, 16, 4, 4), (32, 16, 16, 2, 4), (128, 8, 16, 8, 2),
    ].flatMap { m, n, k, wm, wn in
        [nil, 1].map { GPUConvTiling(tileM: m, tileN: n, tileK: k, workM: wm, workN: wn, slices: $0) }
    }

    /// True when `device` can run it: local memory and work-group size. (The kernel's own limit
    /// and preferred multiple are known only once it is built: `GPUConvolution.make` checks them.)
    public func fits(_ device: CLDevice) -> Bool { unfitReason(device) == nil }

    /// Why `device` cannot run it, or nil when it can (as far as is known before building).
    public func unfitReason(_ device: CLDevice) -> String? {
        if localBytes > Int(device.localMemoryBytes) {
            return "it stages \(localBytes) bytes in local memory, more than the device's \(device.localMemoryBytes)"
        }
        let largestGroup = min(device.maxWorkGroupSize, device.maxWorkItemSizes.first ?? groupSize)
        if groupSize > largestGroup { return "work-groups of \(groupSize) exceed the device's \(largestGroup)" }
        return nil
    }

    /// Whether `conv_gemm.cl` can run this tiling on `device` (a table read from disk may hold
    /// anything): positive tiles that the work-items divide, a group that stages whole pixel
    /// columns, and it fits the device.
    public func isValid(on device: CLDevice) -> Bool { invalidReason(on: device) == nil }

    /// Why `conv_gemm.cl` cannot run this tiling on `device`, or nil when it can.
    public func invalidReason(on device: CLDevice) -> String? {
        if halfArithmetic && !device.supportsFP16 { return "the device has no fp16 arithmetic" }
        let sizes = [tileM, tileN, tileK, workM, workN]
        guard sizes.allSatisfy({ (1...256).contains($0) }), tileM % workM == 0, tileN % workN == 0 else {
            return "tiles must lie in 1...256 and be whole multiples of the work per item"
        }
        if groupSize % tileN != 0 { return "a work-group of \(groupSize) does not stage whole columns of TN=\(tileN)" }
        if !(1...1024).contains(slices ?? 1) { return "split-K of \(slices ?? 1) is outside 1...1024" }
        return unfitReason(device)
    }

    /// The largest tile the device can run whose edge tiles waste at most a quarter more work on
    /// `g` than the least wasteful candidate: big tiles reuse the most, and narrow ones serve
    /// small pixel counts (the 7×7 stage, tiny inputs).
    public static func defaultFor(device: CLDevice, geometry g: ConvGeometry? = nil) -> GPUConvTiling {
        let fitting = candidates.filter { $0.fits(device) && $0.slices == nil }
        guard let g, !fitting.isEmpty else { return fitting.first ?? fallback }
        let pixels = g.batch * g.outHeight * g.outWidth
        func padded(_ t: GPUConvTiling) -> Int { ceilDiv(pixels, t.tileN) * t.tileN * ceilDiv(g.outChannels, t.tileM) * t.tileM }
        let least = fitting.map(padded).min()!
        let near = fitting.filter { 4 * padded($0) <= 5 * least }
        return near.max { ($0.tileM * $0.tileN, $0.groupSize) < ($1.tileM * $1.tileN, $1.groupSize) } ?? fallback
    }

    /// Small enough for any device with local memory.
    static let fallback = GPUConvTiling(tileM: 16, tileN: 16, tileK: 8, workM: 2, workN: 2)

    /// K slices for `g`: split K when the output tiles alone give fewer than four work-groups per
    /// compute unit, keeping at least two tileK steps per slice.
    public func sliceCount(_ g: ConvGeometry, computeUnits: Int) -> Int {
        if let slices { return max(1, slices) }
        let k = g.inChannels * g.kernelHeight * g.kernelWidth
        let groups = ceilDiv(g.batch * g.outHeight * g.outWidth, tileN) * ceilDiv(g.outChannels, tileM)
        let target = 4 * max(1, computeUnits)
        guard groups < target else { return 1 }
        return max(1, min(8, ceilDiv(target, groups), k / (2 * tileK)))
    }
}

func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

/// A convolution through `conv_gemm` (and `conv_gemm_reduce` when K is split).
public enum GPUConvolution {
    /// Bytes of scratch for the split-K partial sums of `g` (0 when K is not split).
    public static func scratchBytes(_ g: ConvGeometry, tiling: GPUConvTiling, computeUnits: Int) -> Int {
        let slices = tiling.sliceCount(g, computeUnits: computeUnits)
        return slices > 1 ? slices * g.outChannels * g.batch * g.outHeight * g.outWidth * MemoryLayout<Float>.stride : 0
    }

    /// The launches of one convolution, arguments bound. `scratch` holds the partial sums when
    /// K is split (`scratchBytes`).
    public static func make(
        runtime: DeviceRuntime, geometry g: ConvGeometry, tiling t: GPUConvTiling, input: CLBuffer, weightT: CLBuffer,
        bias: CLBuffer, output: CLBuffer, relu: Bool, scratch: CLBuffer?, types: KernelTypes = KernelTypes()
    ) throws -> DeviceOp {
        let types = types.withHalfArithmetic(t.halfArithmetic)
        precondition(g.groups == 1, "conv_gemm has no groups")
        let defines = ["TM": t.tileM, "TN": t.tileN, "TK": t.tileK, "WM": t.workM, "WN": t.workN]
        let k = g.inChannels * g.kernelHeight * g.kernelWidth
        let pixels = g.batch * g.outHeight * g.outWidth
        var slices = t.sliceCount(g, computeUnits: runtime.device.computeUnits)
        var notes: [String] = []
        let needed = scratchBytes(g, tiling: t, computeUnits: runtime.device.computeUnits)
        if slices > 1, scratch == nil || scratch!.byteCount < needed {
            notes.append("split-K in \(slices) dropped: \(needed) bytes of scratch were not given")
            slices = 1
        }
        let kPerSlice = ceilDiv(ceilDiv(k, slices), t.tileK) * t.tileK
        slices = ceilDiv(k, kPerSlice)
        let kernel = try runtime.kernel("conv_gemm", file: "conv_gemm.cl", defines: defines, types: types)
        if t.groupSize > kernel.maxWorkGroupSize {
            // Registers or local memory limit this build below the group size: take the largest
            // candidate the kernel allows (preferring multiples of the preferred group size).
            let multiple = kernel.preferredWorkGroupSizeMultiple
            let smaller = GPUConvTiling.candidates.filter {
                $0.slices == nil && $0.groupSize <= kernel.maxWorkGroupSize && $0.fits(runtime.device)
            }
            guard
                let next = smaller.max(by: {
                    ($0.groupSize % multiple == 0 ? 1 : 0, $0.tileM * $0.tileN) < (
                        $1.groupSize % multiple == 0 ? 1 : 0, $1.tileM * $1.tileN
                    )
                })
            else {
                throw EngineError.invalidLaunch(
                    kernel: "conv_gemm", global: [], local: [t.groupSize],
                    reason: "no tiling fits CL_KERNEL_WORK_GROUP_SIZE \(kernel.maxWorkGroupSize)")
            }
            var retry = next
            (retry.slices, retry.halfArithmetic) = (t.slices, t.halfArithmetic)
            let note =
                "conv_gemm with \(t) builds for at most \(kernel.maxWorkGroupSize) work-items on this device; "
                + "\(retry) ran instead"
            return try make(
                runtime: runtime, geometry: g, tiling: retry, input: input, weightT: weightT, bias: bias, output: output,
                relu: relu, scratch: scratch, types: types
            ).noting([note])
        }
        let (groupN, groupM) = (t.tileN / t.workN, t.tileM / t.workM)
        let partial = slices > 1 ? scratch! : output  // Unused when K is not split.
        let ints = [
            g.inChannels, g.height, g.width, g.outChannels, g.outHeight, g.outWidth, g.kernelHeight, g.kernelWidth, g.stride,
            g.padding, g.batch, relu ? 1 : 0, slices, kPerSlice,
        ]
        var launches = [
            try KernelLaunch(
                kernel,
                [.buffer(input), .buffer(weightT), .buffer(bias), .buffer(output), .buffer(partial)] + ints.map { .int($0) },
                global: [ceilDiv(pixels, t.tileN) * groupN, ceilDiv(g.outChannels, t.tileM) * groupM, slices],
                local: [groupN, groupM, 1])
        ]
        if slices > 1 {
            let reduce = try runtime.kernel("conv_gemm_reduce", file: "conv_gemm.cl", defines: defines, types: types)
            launches.append(
                try KernelLaunch(
                    reduce,
                    [.buffer(partial), .buffer(bias), .buffer(output)]
                        + [g.outChannels, pixels, g.outHeight * g.outWidth, slices, relu ? 1 : 0].map { .int($0) },
                    global: [runtime.roundedUp(pixels), g.outChannels], local: [runtime.independentWorkGroupSize, 1]))
        }
        return DeviceOp(launches, convolutionTiling: .gpu(t), splitK: slices, substitutions: notes)
    }
}
