import OpenCLKit
import SENetCore

extension ConvGeometry {
    /// The tuned CPU-family tiling for this shape and precision when it is valid on the device,
    /// else the default; `--arithmetic` overrides the tuned choice of half arithmetic (forcing
    /// it moves a pixel-vector layer to the channel-vector kernel, which has it).
    func cpuTilingChoice(_ context: LoweringContext) -> (tiling: ConvTiling, tuned: Bool) {
        let key = ConvTuner.key(self, precision: context.precision)
        if groups > 1 {
            // Grouped layers have one kernel, tuned or not, in either family; no half arithmetic.
            if let tuned = context.tuning?.entries[key], tuned.isValid(on: context.device), tuned.fits(self) {
                return (tuned, true)
            }
            return (ConvTiling.groupedDefault(device: context.device, geometry: self), false)
        }
        var tiling = ConvTiling.defaultFor(device: context.device, geometry: self)
        var fromTable = false
        if let tuned = context.tuning?.entries[key], tuned.isValid(on: context.device) { (tiling, fromTable) = (tuned, true) }
        switch (context.precision, context.arithmetic) {
        case (.fp32, _), (.fp16, .fp32): tiling.halfArithmetic = false
        case (.fp16, .fp16):
            if tiling.kernel != .channelVector {
                (tiling, fromTable) = (ConvTiling.channelVectorDefault(device: context.device), false)
            }
            tiling.halfArithmetic = true
        case (.fp16, .auto): break
        }
        return (tiling, fromTable)
    }

    /// The tuned GPU tiling for this shape and precision when the device can run it, else the
    /// device's default; half arithmetic as for `cpuTiling`.
    func gpuTilingChoice(_ context: LoweringContext) -> (tiling: GPUConvTiling, tuned: Bool) {
        let key = ConvTuner.key(self, precision: context.precision)
        var tiling = GPUConvTiling.defaultFor(device: context.device, geometry: self)
        var fromTable = false
        if let tuned = context.tuning?.gpuEntries[key], tuned.isValid(on: context.device) { (tiling, fromTable) = (tuned, true) }
        switch (context.precision, context.arithmetic) {
        case (.fp32, _), (.fp16, .fp32): tiling.halfArithmetic = false
        case (.fp16, .fp16): tiling.halfArithmetic = true
        case (.fp16, .auto): break
        }
        return (tiling, fromTable)
    }
}
