/// Where a weight file comes from; each family has its own key names and its own semantics
/// that the weights alone do not show (GUIDE §3).
public enum ModelFamily: String, CaseIterable, Sendable, Codable {
    /// timm `seresnetNN`, `seresnextNN_…`, the deep-stem "d"/"t" variants and timm's `senet154`:
    /// ResNet v1.5 (stride on the 3×3), padded stem max-pool, SE `se.fc1/fc2`.
    case timm
    /// timm `legacy_seresnetNN`/`legacy_seresnextNN`/`legacy_senet154`, the Cadene ports of the
    /// Caffe models: stride on the first 1×1 of SE-ResNet bottlenecks (on the 3×3 in
    /// SE-ResNeXt and SENet-154), stem `layer0.*`, stem max-pool without padding in ceil mode,
    /// ReLU before the SE in basic blocks, head `last_linear`.
    case legacy
    /// The classic PyTorch `SENet` class: v1.5, `basicblock`/`bottleneck`/`seblock` keys,
    /// `nn.Linear` SE of width round(C/16), softmax head (we output logits).
    case classic

    /// The model-name prefix of a plain SE-ResNet: `seresnet50`, `legacy_seresnet50`, `senet50`.
    public var modelPrefix: String {
        switch self {
        case .timm: return "seresnet"
        case .legacy: return "legacy_seresnet"
        case .classic: return "senet"
        }
    }
}

/// Residual block kind: two 3×3 convs (18/34) or 1×1-3×3-1×1 with 4× expansion (26 and up).
public enum BlockKind: String, Sendable, Codable {
    case basic, bottleneck

    public var expansion: Int { self == .basic ? 1 : 4 }
}

/// Everything that fixes the shape of one network of the family: SE-ResNet, SE-ResNeXt, the
/// deep-stem variants and SENet-154 differ only in the fields below.
public struct Architecture: Equatable, Sendable, CustomStringConvertible {
    public var family: ModelFamily
    public var blockKind: BlockKind
    /// Residual blocks in each of the four stages.
    public var blocksPerStage: [Int]
    public var numClasses: Int
    /// Reduced width of each stage's SE bottleneck (from the weights, or the family's rule).
    public var seWidths: [Int]
    /// Groups of each bottleneck's 3×3 (SE-ResNeXt's cardinality); 1 in SE-ResNets.
    public var cardinality = 1
    /// Channels per group for 64 planes (the "4" of 32x4d): a stage's inner width is
    /// ⌊planes · baseWidth / 64⌋ · cardinality.
    public var baseWidth = 64
    /// Output channels of each stem convolution: one 7×7 ([64]) or three 3×3 (deep stems:
    /// [32, 32, 64] "d", [24, 32, 64] "t", [64, 64, 128] SENet-154).
    public var stemWidths = [64]
    /// Strided shortcuts average-pool 2×2 (ceil mode, padding not counted) before a stride-1
    /// 1×1 conv: timm's "d" and "t" variants (`avg_down`).
    public var averagePoolShortcut = false
    /// Kernel of strided shortcut convolutions: 3 in SENet-154, 1 elsewhere.
    public var shortcutKernel = 1
    /// A bottleneck's first 1×1 outputs inner width / `reduceFirst` (SENet-154: 2).
    public var reduceFirst = 1

    /// Bottleneck planes of the four stages (before expansion).
    public static let stagePlanes = [64, 128, 256, 512]
    /// Depths of the plain SE-ResNets and their layouts.
    public static let depths: [Int: (BlockKind, [Int])] = [
        18: (.basic, [2, 2, 2, 2]), 34: (.basic, [3, 4, 6, 3]), 50: (.bottleneck, [3, 4, 6, 3]),
        101: (.bottleneck, [3, 4, 23, 3]), 152: (.bottleneck, [3, 8, 36, 3]),
    ]

    /// The plain SE-ResNet of `family` and `depth` with the family's SE width rule.
    public init?(family: ModelFamily, depth: Int, numClasses: Int = 1000) {
        guard let (kind, blocks) = Self.depths[depth] else { return nil }
        self.init(family: family, blockKind: kind, blocksPerStage: blocks, numClasses: numClasses)
    }

    /// Any layout; SE widths follow the family's rule.
    public init(
        family: ModelFamily, blockKind: BlockKind, blocksPerStage: [Int], numClasses: Int = 1000, cardinality: Int = 1,
        baseWidth: Int = 64, stemWidths: [Int] = [64], averagePoolShortcut: Bool = false, shortcutKernel: Int = 1,
        reduceFirst: Int = 1
    ) {
        (self.family, self.blockKind, self.blocksPerStage, self.numClasses) = (family, blockKind, blocksPerStage, numClasses)
        (self.cardinality, self.baseWidth, self.stemWidths) = (cardinality, baseWidth, stemWidths)
        (self.averagePoolShortcut, self.shortcutKernel, self.reduceFirst) = (averagePoolShortcut, shortcutKernel, reduceFirst)
        seWidths = []
        seWidths = (0..<4).map { Self.seWidth(channels: outChannels(stage: $0), family: family) }
    }

    /// Layers with weights along the deepest path, as the model names count them (stem convs,
    /// block convs, classifier): 18, 26, 50, 101, 152, 200; SENet-154's stem adds two.
    public var depth: Int {
        let perBlock = blockKind == .basic ? 2 : 3
        let count = perBlock * blocksPerStage.reduce(0, +) + 2
        return isSENet154 ? count + 2 : count
    }

    /// SENet-154's shape: 64×4d groups, halved first 1×1, three-conv stem, 3×3 shortcuts.
    public var isSENet154: Bool {
        cardinality == 64 && baseWidth == 4 && reduceFirst == 2 && stemWidths == [64, 64, 128] && shortcutKernel == 3
            && blocksPerStage == [3, 8, 36, 3]
    }

    public var description: String { "\(modelName) (\(family.rawValue) family, \(numClasses) classes)" }

    /// Channels entering the first stage (the stem's output).
    public var stemChannels: Int { stemWidths.last! }

    /// Output channels of stage `stage` (0-based).
    public func outChannels(stage: Int) -> Int { Self.stagePlanes[stage] * blockKind.expansion }

    /// Inner (grouped 3×3) width of stage `stage`'s bottlenecks; the planes of basic blocks.
    public func innerWidth(stage: Int) -> Int { Self.stagePlanes[stage] * baseWidth / 64 * cardinality }

    /// Features entering the classifier.
    public var featureCount: Int { outChannels(stage: 3) }

    /// The SE reduced width each family's code computes for `channels`.
    public static func seWidth(channels: Int, family: ModelFamily) -> Int {
        switch family {
        case .timm: return makeDivisible(Double(channels) / 16, divisor: 8)
        case .legacy: return channels / 16
        case .classic: return Int((Double(channels) / 16).rounded(.toNearestOrEven))
        }
    }

    /// timm's `make_divisible(v, divisor, round_limit=0)` as its SE module calls it: the nearest
    /// multiple of `divisor`, at least `divisor`.
    static func makeDivisible(_ value: Double, divisor: Int) -> Int {
        max(divisor, Int(value + Double(divisor) / 2) / divisor * divisor)
    }
}
