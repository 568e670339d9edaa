import Foundation
import SENetCore

/// Choices that shape a plan.
public struct PlanOptions: Sendable, Equatable {
    /// Ops forced onto the CPU reference: layer names (`layer3.1.conv2`), kinds (`linear`), or
    /// patterns with `*` (`layer4*`, `*.se*`). Used to corner a driver bug.
    public var cpuOps: [String] = []
    /// Debug: perturb this layer's output through an extra plan step (tests of `compare`).
    public var perturbLayer: String?
    /// Most device memory (bytes) the plan may use, below what the device has; nil: the device's.
    public var memoryLimitBytes: Int?
    /// Debug: make this layer's device op fail when it runs (tests of driver trouble).
    public var failLayer: String?
    /// Time each op with OpenCL events (needs a profiling queue) and the host clock.
    public var profile = false
    /// The kernels to use; nil: the device type's family.
    public var kernelFamily: KernelFamily?
    /// How feature maps and weights are stored on the device (the CPU reference is fp32).
    public var precision: Precision = .fp32
    /// The arithmetic of fp16 convolutions.
    public var arithmetic: Arithmetic = .auto
    /// Whether 3×3 stride-1 convolutions may run as Winograd (`--no-winograd`: the direct kernels).
    public var winograd = true
    /// In an fp16 plan, the layers kept in fp32 (names, kinds or `*` patterns, as `cpuOps`),
    /// each with why (`--fp32-layers`, or what `--auto-precision` measured). The plan inserts
    /// casts where they meet fp16 layers.
    public var fp32Layers: [String: String] = [:]
    /// The scales of an int8 plan (`senet-gpu calibrate`), checked against the graph when the
    /// plan is made. `fp32Layers` keeps int8 layers in fp32 here too.
    public var int8Calibration: Int8Calibration?

    public init(cpuOps: [String] = [], perturbLayer: String? = nil, failLayer: String? = nil, profile: Bool = false) {
        self.cpuOps = cpuOps
        self.perturbLayer = perturbLayer
        self.failLayer = failLayer
        self.profile = profile
    }

    /// True when `cpuOps` selects this op.
    func forcesCPU(name: String, kind: OpKind) -> Bool {
        cpuOps.contains { Self.matches($0, name: name, kind: kind) }
    }

    /// Throws for `cpuOps` entries that match nothing, so a typo is not silently ignored, and for
    /// debug hooks naming a layer that does not exist.
    func validate(_ graph: NetworkGraph) throws {
        for pattern in fp32Layers.keys.sorted()
        where !graph.nodes.contains(where: { Self.matches(pattern, name: $0.name, kind: $0.kind) }) {
            throw EngineError.unmatchedFP32Layer(pattern: pattern)
        }
        for pattern in cpuOps where !graph.nodes.contains(where: { Self.matches(pattern, name: $0.name, kind: $0.kind) }) {
            var kinds: [String] = []
            for node in graph.nodes where !kinds.contains(node.kind.rawValue) { kinds.append(node.kind.rawValue) }
            throw EngineError.unmatchedOpPattern(pattern: pattern, kinds: kinds)
        }
        for layer in [failLayer, perturbLayer].compactMap({ $0 }) where graph.node(named: layer) == nil {
            throw EngineError.unknownLayer(name: layer)
        }
    }

    /// Why `fp32Layers` keeps this op in fp32; nil when it does not.
    func fp32Reason(name: String, kind: OpKind) -> String? {
        fp32Layers.keys.sorted().first { Self.matches($0, name: name, kind: kind) }.map { fp32Layers[$0]! }
    }

    /// A name, a kind, or a pattern where `*` stands for any run of characters.
    static func matches(_ pattern: String, name: String, kind: OpKind) -> Bool {
        if pattern == name || pattern == kind.rawValue { return true }
        guard pattern.contains("*") else { return false }
        return fnmatch(pattern, name, 0) == 0
    }
}
