/// Model names as timm and the Cadene ports spell them, derived from the architecture so a
/// detected weight file and `--model NAME` meet on one string.
extension Architecture {
    /// Every named model we build, in the order `--help` and errors list them.
    public static let catalog: [Architecture] = {
        var list: [Architecture] = []
        for family in ModelFamily.allCases {
            for depth in depths.keys.sorted() { list.append(Architecture(family: family, depth: depth)!) }
        }
        let deep = [32, 32, 64]
        let tiered = [24, 32, 64]
        let senetStem = [64, 64, 128]
        let b26 = [2, 2, 2, 2]
        let b50 = [3, 4, 6, 3]
        let b101 = [3, 4, 23, 3]
        let b152 = [3, 8, 36, 3]
        let b200 = [3, 24, 36, 3]
        func net(
            _ family: ModelFamily, _ blocks: [Int], _ cardinality: Int = 1, _ baseWidth: Int = 64, stem: [Int] = [64],
            avgDown: Bool = false
        ) -> Architecture {
            Architecture(
                family: family, blockKind: .bottleneck, blocksPerStage: blocks, cardinality: cardinality, baseWidth: baseWidth,
                stemWidths: stem, averagePoolShortcut: avgDown)
        }
        list += [
            net(.timm, b50, stem: tiered, avgDown: true), net(.timm, b152, stem: deep, avgDown: true),
            net(.timm, b200, stem: deep, avgDown: true),
            net(.timm, b26, 32, 4, stem: deep, avgDown: true), net(.timm, b26, 32, 4, stem: tiered, avgDown: true),
            net(.timm, b50, 32, 4), net(.timm, b101, 32, 4), net(.timm, b101, 32, 8), net(.timm, b101, 64, 4),
            net(.legacy, b26, 32, 4), net(.legacy, b50, 32, 4), net(.legacy, b101, 32, 4),
        ]
        for family in [ModelFamily.timm, .legacy] {
            var senet = net(family, b152, 64, 4, stem: senetStem)
            (senet.reduceFirst, senet.shortcutKernel) = (2, 3)
            list.append(senet)
        }
        return list
    }()

    /// The Cadene `pretrainedmodels` names, which hold the legacy family's weights.
    public static let cadeneAliases = [
        "se_resnet50": "legacy_seresnet50", "se_resnet101": "legacy_seresnet101", "se_resnet152": "legacy_seresnet152",
        "se_resnext50_32x4d": "legacy_seresnext50_32x4d", "se_resnext101_32x4d": "legacy_seresnext101_32x4d",
    ]

    /// The catalog's model called `modelName` (timm's or Cadene's spelling).
    public init?(modelName: String, numClasses: Int = 1000) {
        let name = Self.cadeneAliases[modelName] ?? modelName
        guard var found = Self.catalog.first(where: { $0.modelName == name }) else { return nil }
        found.numClasses = numClasses
        self = found
    }

    /// True when a file holding `self` satisfies `--model requested`: the same name, or
    /// `senet154` for either family's SENet-154 (timm and Cadene both use that name).
    public func answers(to requested: String) -> Bool {
        let name = Self.cadeneAliases[requested] ?? requested
        return name == modelName || (name == "senet154" && isSENet154)
    }

    /// timm's name for this layout: `seresnet50`, `seresnext26d_32x4d`, `seresnet50t`,
    /// `legacy_seresnext50_32x4d`, `senet154`; the classic class is `senetNN`.
    public var modelName: String {
        if family == .classic { return "senet\(depth)" }
        let prefix = family == .legacy ? "legacy_" : ""
        if isSENet154 { return "\(prefix)senet154" }
        var stem = ""
        if stemWidths.count == 3 {
            stem = stemWidths[0] == stemWidths[1] ? "d" : "t"
        }
        if cardinality == 1 { return "\(prefix)seresnet\(depth)\(stem)" }
        return "\(prefix)seresnext\(depth)\(stem)_\(cardinality)x\(baseWidth)d"
    }

    /// Every catalog name, for help texts and errors.
    public static var modelNames: [String] { catalog.map(\.modelName) }
}
