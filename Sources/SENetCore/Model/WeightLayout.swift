/// The key names and shapes a family's PyTorch code gives each parameter, and the semantics
/// (strides, groups, ReLU placement, pooling) that go with them.
public struct WeightLayout: Sendable {
    /// A convolution followed by a BatchNorm, and what comes after it.
    public struct ConvBN: Sendable {
        /// Layer name used in plans and `compare` output, e.g. `layer2.0.conv1`.
        public let name: String
        /// Key of the conv weight, [OC, IC / groups, K, K].
        public let weightKey: String
        /// Key prefix of the BatchNorm: `prefix.weight`, `.bias`, `.running_mean`, `.running_var`.
        public let batchNormPrefix: String
        public let shape: [Int]
        public let stride: Int
        public let padding: Int
        /// ReLU right after the BatchNorm.
        public let relu: Bool
        public var groups = 1
    }

    /// The two SE fully connected layers (1×1 convs in timm/legacy, `nn.Linear` in classic).
    public struct SqueezeExcite: Sendable {
        public let name: String
        public let reduceWeightKey, reduceBiasKey, expandWeightKey, expandBiasKey: String
        public let channels: Int
        public let reducedWidth: Int
        /// True for 1×1 conv weights [out, in, 1, 1]; false for linear [out, in].
        public let convolutional: Bool
    }

    public struct Block: Sendable {
        public let name: String
        /// The residual branch, in order; the last conv has `relu` only in legacy basic blocks.
        public let convs: [ConvBN]
        public let squeezeExcite: SqueezeExcite
        /// The shortcut's average pool before its conv (timm "d"/"t" variants), if any.
        public let shortcutPool: PoolWindow?
        public let downsample: ConvBN?
    }

    public let architecture: Architecture
    /// One 7×7 stride-2 conv, or three 3×3 (the first strided) in deep stems; ReLU after each.
    public let stem: [ConvBN]
    /// The stem's 3×3 stride-2 max-pool: padded in v1.5, unpadded ceil mode in the Caffe ports.
    public let stemPool: PoolWindow
    public let blocks: [Block]
    public let classifierWeightKey: String
    public let classifierBiasKey: String

    /// Every float parameter: (key, shape), in PyTorch's state_dict order. Integer
    /// bookkeeping (`num_batches_tracked`) is not listed.
    public var parameters: [(key: String, shape: [Int])] {
        func convBN(_ c: ConvBN) -> [(String, [Int])] {
            [(c.weightKey, c.shape)]
                + ["weight", "bias", "running_mean", "running_var"].map { ("\(c.batchNormPrefix).\($0)", [c.shape[0]]) }
        }
        // timm's deep stem registers conv1.0/.1/.3/.4/.6 then bn1: the same order as conv, BN.
        var list = stem.flatMap(convBN)
        for block in blocks {
            for conv in block.convs { list += convBN(conv) }
            let se = block.squeezeExcite
            let tail = se.convolutional ? [1, 1] : []
            list += [
                (se.reduceWeightKey, [se.reducedWidth, se.channels] + tail), (se.reduceBiasKey, [se.reducedWidth]),
                (se.expandWeightKey, [se.channels, se.reducedWidth] + tail), (se.expandBiasKey, [se.channels]),
            ]
            if let downsample = block.downsample { list += convBN(downsample) }
        }
        let classes = architecture.numClasses
        list += [(classifierWeightKey, [classes, architecture.featureCount]), (classifierBiasKey, [classes])]
        return list.map { (key: $0.0, shape: $0.1) }
    }

    public init(_ arch: Architecture) {
        architecture = arch
        let legacy = arch.family == .legacy
        stem = Self.stem(arch)
        stemPool = PoolWindow(kernel: 3, stride: 2, padding: legacy ? 0 : 1, ceilMode: legacy)
        classifierWeightKey = legacy ? "last_linear.weight" : "fc.weight"
        classifierBiasKey = legacy ? "last_linear.bias" : "fc.bias"

        var blocks: [Block] = []
        var inChannels = arch.stemChannels
        for stage in 0..<4 {
            let out = arch.outChannels(stage: stage)
            for index in 0..<arch.blocksPerStage[stage] {
                let prefix = "layer\(stage + 1).\(index)"
                let stride = (stage > 0 && index == 0) ? 2 : 1
                let convs = Self.branch(arch, prefix: prefix, inChannels: inChannels, stage: stage, stride: stride)
                let se = Self.squeezeExcite(arch.family, prefix: prefix, channels: out, reduced: arch.seWidths[stage])
                let (pool, downsample) =
                    (stride != 1 || inChannels != out)
                    ? Self.shortcut(arch, prefix: prefix, inChannels: inChannels, out: out, stride: stride) : (nil, nil)
                blocks.append(Block(name: prefix, convs: convs, squeezeExcite: se, shortcutPool: pool, downsample: downsample))
                inChannels = out
            }
        }
        self.blocks = blocks
    }

    /// The stem convolutions with the family's keys.
    private static func stem(_ arch: Architecture) -> [ConvBN] {
        let legacy = arch.family == .legacy
        if arch.stemWidths.count == 1 {
            return [
                ConvBN(
                    name: "stem.conv", weightKey: legacy ? "layer0.conv1.weight" : "conv1.weight",
                    batchNormPrefix: legacy ? "layer0.bn1" : "bn1", shape: [arch.stemWidths[0], 3, 7, 7], stride: 2,
                    padding: 3, relu: true)
            ]
        }
        // Deep stems: three 3×3 convs, the first with stride 2. timm keys them conv1.0/.3/.6 with
        // BNs conv1.1/.4 and bn1; the Cadene port layer0.conv1-3 with layer0.bn1-3.
        var inChannels = 3
        return arch.stemWidths.enumerated().map { i, width in
            defer { inChannels = width }
            let (weightKey, bn) =
                legacy
                ? ("layer0.conv\(i + 1).weight", "layer0.bn\(i + 1)")
                : ("conv1.\(3 * i).weight", i == 2 ? "bn1" : "conv1.\(3 * i + 1)")
            return ConvBN(
                name: "stem.conv\(i + 1)", weightKey: weightKey, batchNormPrefix: bn, shape: [width, inChannels, 3, 3],
                stride: i == 0 ? 2 : 1, padding: 1, relu: true)
        }
    }

    /// The residual branch of one block with the family's key names, widths and stride placement.
    private static func branch(_ arch: Architecture, prefix: String, inChannels: Int, stage: Int, stride: Int) -> [ConvBN] {
        let family = arch.family
        let width = arch.innerWidth(stage: stage)
        // (kernel, in, out, groups) of each conv in the branch.
        let specs: [(Int, Int, Int, Int)] =
            arch.blockKind == .basic
            ? [(3, inChannels, width, 1), (3, width, width, 1)]
            : [
                (1, inChannels, width / arch.reduceFirst, 1), (3, width / arch.reduceFirst, width, arch.cardinality),
                (1, width, arch.outChannels(stage: stage), 1),
            ]
        // Basic blocks stride the first conv. Bottlenecks stride the 3×3 (v1.5 and every grouped
        // bottleneck), except the Cadene SE-ResNet bottleneck (v1), which strides the first 1×1.
        let v1 = family == .legacy && arch.cardinality == 1
        let stridedIndex = (arch.blockKind == .basic || v1) ? 0 : 1
        return specs.enumerated().map { i, spec in
            let (kernel, cin, cout, groups) = spec
            let last = i == specs.count - 1
            // Legacy basic blocks apply a ReLU before the SE; elsewhere the last BN has none.
            let relu = !last || (family == .legacy && arch.blockKind == .basic)
            let (weightKey, bnPrefix): (String, String)
            if family == .classic {
                let container = arch.blockKind == .basic ? "basicblock" : "bottleneck"
                (weightKey, bnPrefix) = ("\(prefix).\(container).\(3 * i).weight", "\(prefix).\(container).\(3 * i + 1)")
            } else {
                (weightKey, bnPrefix) = ("\(prefix).conv\(i + 1).weight", "\(prefix).bn\(i + 1)")
            }
            return ConvBN(
                name: "\(prefix).conv\(i + 1)", weightKey: weightKey, batchNormPrefix: bnPrefix,
                shape: [cout, cin / groups, kernel, kernel],
                stride: i == stridedIndex ? stride : 1, padding: kernel / 2, relu: relu, groups: groups)
        }
    }

    /// The projection shortcut: a strided conv (k×k in SENet-154's strided stages), or timm's
    /// `avg_down`: 2×2 average pool (ceil mode, padding not counted) then a stride-1 1×1 conv.
    private static func shortcut(_ arch: Architecture, prefix: String, inChannels: Int, out: Int, stride: Int) -> (
        PoolWindow?, ConvBN
    ) {
        let name = "\(prefix).downsample"
        if arch.averagePoolShortcut {
            // timm's Sequential(pool or Identity, conv, BN): the conv is .1 even without a pool.
            let pool = stride == 1 ? nil : PoolWindow(kernel: 2, stride: stride, padding: 0, ceilMode: true)
            return (
                pool,
                ConvBN(
                    name: name, weightKey: "\(name).1.weight", batchNormPrefix: "\(name).2", shape: [out, inChannels, 1, 1],
                    stride: 1, padding: 0, relu: false)
            )
        }
        let kernel = stride == 1 ? 1 : arch.shortcutKernel
        return (
            nil,
            ConvBN(
                name: name, weightKey: "\(name).0.weight", batchNormPrefix: "\(name).1",
                shape: [out, inChannels, kernel, kernel], stride: stride, padding: kernel / 2, relu: false)
        )
    }

    private static func squeezeExcite(_ family: ModelFamily, prefix: String, channels: Int, reduced: Int) -> SqueezeExcite {
        let (reduce, expand): (String, String)
        switch family {
        case .timm: (reduce, expand) = ("\(prefix).se.fc1", "\(prefix).se.fc2")
        case .legacy: (reduce, expand) = ("\(prefix).se_module.fc1", "\(prefix).se_module.fc2")
        case .classic: (reduce, expand) = ("\(prefix).seblock.2", "\(prefix).seblock.4")
        }
        return SqueezeExcite(
            name: "\(prefix).se", reduceWeightKey: "\(reduce).weight", reduceBiasKey: "\(reduce).bias",
            expandWeightKey: "\(expand).weight", expandBiasKey: "\(expand).bias", channels: channels, reducedWidth: reduced,
            convolutional: family != .classic)
    }
}
