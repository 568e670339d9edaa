/// Choices that shape a plan.
public struct PlanOptions: Sendable, Equatable {
    /// Ops forced onto the CPU reference: layer names (`layer3.1.conv2`), kinds (`excite`), or
    /// name prefixes ending in `*` (`layer4*`). Used to corner a driver bug.
    public var cpuOps: [String] = []
    /// Debug: build this layer's kernel with `DEBUG_PERTURB`, which makes it wrong on purpose.
    public var perturbLayer: String?
    /// Most device memory (bytes) the plan may use, below what the device has; nil: the device's.
    public var memoryLimitBytes: Int?
    /// Debug: make this layer's device op fail when it runs (tests of driver trouble).
    public var failLayer: String?
    /// Time each op with OpenCL events (needs a profiling queue) and the host clock.
    public var profile = false

    public init(cpuOps: [String] = [], perturbLayer: String? = nil, failLayer: String? = nil, profile: Bool = false) {
        self.cpuOps = cpuOps
        self.perturbLayer = perturbLayer
        self.failLayer = failLayer
        self.profile = profile
    }

    /// True when `--cpu-ops` names this op.
    func forcesCPU(name: String, kind: OpKind) -> Bool {
        cpuOps.contains { pattern in
            if pattern == name || pattern == kind.rawValue { return true }
            return pattern.hasSuffix("*") && name.hasPrefix(pattern.dropLast())
        }
    }

    /// Throws for `--cpu-ops` entries that match nothing, so a typo is not silently ignored.
    func validate(opNames: [String], kinds: [OpKind]) throws {
        for pattern in cpuOps {
            let matches = zip(opNames, kinds).contains { forcesCPUPattern(pattern, name: $0, kind: $1) }
            if !matches {
                let kindList = OpKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw InputError.invalidOption(
                    "--cpu-ops '\(pattern)' matches no op; use a layer name from `senet-gpu plan`, a kind (\(kindList)) or a prefix like layer4*"
                )
            }
        }
        if let layer = failLayer, !opNames.contains(layer) {
            throw InputError.invalidOption("--debug-fail '\(layer)' is not a layer of this network; see `senet-gpu plan`")
        }
        if let layer = perturbLayer, !opNames.contains(layer) {
            throw InputError.invalidOption("--debug-perturb '\(layer)' is not a layer of this network; see `senet-gpu plan`")
        }
    }

    private func forcesCPUPattern(_ pattern: String, name: String, kind: OpKind) -> Bool {
        PlanOptions(cpuOps: [pattern]).forcesCPU(name: name, kind: kind)
    }
}
