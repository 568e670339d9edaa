/// Where a weight file comes from; each family has its own key names and its own semantics
/// that the weights alone do not show (GUIDE §3).
public enum ModelFamily: String, CaseIterable, Sendable, Codable {
    /// timm `seresnetNN`: ResNet v1.5 (stride on the 3×3), padded stem max-pool, SE `se.fc1/fc2`.
    case timm
    /// timm `legacy_seresnetNN` and the Cadene ports of the Caffe models: ResNet v1 (stride on
    /// the first 1×1), stem max-pool without padding in ceil mode, ReLU before the SE in basic
    /// blocks, head `last_linear`.
    case legacy
    /// The classic PyTorch `SENet` class: v1.5, `basicblock`/`bottleneck`/`seblock` keys,
    /// `nn.Linear` SE of width round(C/16), softmax head (we output logits).
    case classic

    /// The model-name prefix: `seresnet50`, `legacy_seresnet50`, `senet50`.
    public var modelPrefix: String {
        switch self {
        case .timm: return "seresnet"
        case .legacy: return "legacy_seresnet"
        case .classic: return "senet"
        }
    }
}

/// Residual block kind: two 3×3 convs (18/34) or 1×1-3×3-1×1 with 4× expansion (50/101/152).
public enum BlockKind: String, Sendable, Codable {
    case basic, bottleneck

    public var expansion: Int { self == .basic ? 1 : 4 }
}

/// Everything that fixes the shape of one SE-ResNet.
public struct Architecture: Equatable, Sendable, CustomStringConvertible {
    public var family: ModelFamily
    public var blockKind: BlockKind
    /// Residual blocks in each of the four stages.
    public var blocksPerStage: [Int]
    public var numClasses: Int
    /// Reduced width of each stage's SE bottleneck (from the weights, or the family's rule).
    public var seWidths: [Int]

    /// Bottleneck (inner) widths of the four stages.
    public static let stageWidths = [64, 128, 256, 512]
    /// Supported depths and their layouts.
    public static let depths: [Int: (BlockKind, [Int])] = [
        18: (.basic, [2, 2, 2, 2]), 34: (.basic, [3, 4, 6, 3]), 50: (.bottleneck, [3, 4, 6, 3]),
        101: (.bottleneck, [3, 4, 23, 3]), 152: (.bottleneck, [3, 8, 36, 3]),
    ]

    /// The standard network of `family` and `depth` with the family's SE width rule.
    public init?(family: ModelFamily, depth: Int, numClasses: Int = 1000) {
        guard let (kind, blocks) = Self.depths[depth] else { return nil }
        self.family = family
        blockKind = kind
        blocksPerStage = blocks
        self.numClasses = numClasses
        seWidths = Self.stageWidths.map { Self.seWidth(channels: $0 * kind.expansion, family: family) }
    }

    /// Parses `seresnet50`, `legacy_seresnet101`, `senet18`.
    public init?(modelName: String, numClasses: Int = 1000) {
        for family in ModelFamily.allCases.sorted(by: { $0.modelPrefix.count > $1.modelPrefix.count })
        where modelName.hasPrefix(family.modelPrefix) {
            guard let depth = Int(modelName.dropFirst(family.modelPrefix.count)) else { return nil }
            self.init(family: family, depth: depth, numClasses: numClasses)
            return
        }
        return nil
    }

    /// 18, 34, 50, 101 or 152.
    public var depth: Int {
        Self.depths.first { $0.value.0 == blockKind && $0.value.1 == blocksPerStage }?.key ?? 0
    }

    /// `seresnet50` and friends.
    public var modelName: String { "\(family.modelPrefix)\(depth)" }

    public var description: String { "\(modelName) (\(family.rawValue) family, \(numClasses) classes)" }

    /// Output channels of stage `stage` (0-based).
    public func outChannels(stage: Int) -> Int { Self.stageWidths[stage] * blockKind.expansion }

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
