import OpenCLKit

/// Which set of kernels the plan uses. The CPU family has no barriers and no local memory (a
/// PoCL work-group runs its work-items back to back on one thread); the GPU family tiles in
/// local memory and reduces in work-groups. Each runs on any device; the default follows the
/// device type.
public enum KernelFamily: String, CaseIterable, Sendable, Codable {
    case cpu, gpu

    /// The family for a device: CPUs get the CPU family, everything else the GPU family.
    public static func forDevice(_ device: CLDevice) -> KernelFamily { device.type == .cpu ? .cpu : .gpu }
}

/// What every device op of a plan is lowered with: the device, the kernel family, the tuned
/// tile sizes and the precision.
public struct LoweringContext {
    public let runtime: DeviceRuntime
    public let family: KernelFamily
    /// Tuned tile sizes for this device, if any.
    public let tuning: TuningTable?
    public let precision: Precision
    public let arithmetic: Arithmetic
    /// Whether Winograd algorithms may run (`--no-winograd` says no).
    public let winograd: Bool

    public init(
        runtime: DeviceRuntime, family: KernelFamily? = nil, tuning: TuningTable? = nil, precision: Precision = .fp32,
        arithmetic: Arithmetic = .auto, winograd: Bool = true
    ) {
        self.runtime = runtime
        self.family = family ?? .forDevice(runtime.device)
        self.tuning = tuning
        (self.precision, self.arithmetic, self.winograd) = (precision, arithmetic, winograd)
    }

    public var device: CLDevice { runtime.device }

    /// This context for a layer stored in `precision` (a mixed plan's fp32-kept layers).
    func storing(_ precision: Precision) -> LoweringContext {
        precision == self.precision
            ? self
            : LoweringContext(
                runtime: runtime, family: family, tuning: tuning, precision: precision,
                arithmetic: precision == .fp32 ? .auto : arithmetic, winograd: winograd)
    }
}
