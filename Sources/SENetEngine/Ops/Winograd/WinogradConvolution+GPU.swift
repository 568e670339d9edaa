import OpenCLKit
import SENetCore

extension WinogradConvolution {
    /// Output channels per work-item of the GPU family's output transform: float4 loads of M.
    static let gpuVectorWidth = 4

    /// `winograd_gemm_local`: dim 0 = channel blocks of `tileM` (`tileM / workM` work-items),
    /// dim 1 = tile blocks of `tileN`, dim 2 = the α² points; one work-group per block pair.
    func localGEMMLaunch(
        _ kernel: CLKernel, tiling t: GPUConvTiling, arguments: [KernelArgument], channels: Int, tiles: Int, points: Int
    ) throws -> KernelLaunch {
        let (groupM, groupN) = (t.tileM / t.workM, t.tileN / t.workN)
        guard t.groupSize <= kernel.maxWorkGroupSize else {
            // Registers or local memory limit this build below the group size; a tuned tile was
            // timed with this build, so only a table from elsewhere or a default lands here.
            throw EngineError.invalidLaunch(
                kernel: "winograd_gemm_local", global: [], local: [groupM, groupN],
                reason: "\(t) needs \(t.groupSize) work-items; this build allows \(kernel.maxWorkGroupSize). "
                    + "Retune (`senet-gpu tune`) or run with --no-winograd")
        }
        let global = [ceilDiv(channels, t.tileM) * groupM, ceilDiv(tiles, t.tileN) * groupN, points]
        return try KernelLaunch(kernel, arguments, global: global, local: [groupM, groupN, 1])
    }
}
