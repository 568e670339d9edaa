import OpenCLKit
import SENetCore

extension ConvGeometry {
    /// The CPU family's default tiling for this shape (`ConvTiling.defaultFor`, or the grouped
    /// default); `--arithmetic fp16` moves an ungrouped pixel-vector layer to the channel-vector
    /// kernel, which has half arithmetic.
    func cpuDefaultTiling(_ context: LoweringContext) -> ConvTiling {
        if groups > 1 { return ConvTiling.groupedDefault(device: context.device, geometry: self, family: context.family) }
        let tiling = ConvTiling.defaultFor(device: context.device, geometry: self)
        if context.precision == .fp16 && context.arithmetic == .fp16 && tiling.kernel != .channelVector {
            return ConvTiling.channelVectorDefault(device: context.device)
        }
        return tiling
    }
}
