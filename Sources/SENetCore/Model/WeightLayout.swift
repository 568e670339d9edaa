/// The key names and shapes a family's PyTorch code gives each parameter, and the semantics
/// (strides, ReLU placement, pooling) that go with them.
public struct WeightLayout: Sendable {
    /// A convolution followed by a BatchNorm, and what comes after it.
    public struct ConvBN: Sendable {
        /// Layer name used in plans and `compare` output, e.g. `layer2.0.conv1`.
        public let name: String
        /// Key of the conv weight, [OC, IC, K, K].
        public let weightKey: String
        /// Key prefix of the BatchNorm: `prefix.weight`, `.bias`, `.running_mean`, `.running_var`.
        public let batchNormPrefix: String
        public let shape: [Int]
        public let stride: Int
        public let padding: Int
        /// ReLU right after the BatchNorm.
        public let relu: Bool
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
        public let downsample: ConvBN?
    }

    public let architecture: Architecture
    public let stem: ConvBN
    /// The stem's 3×3 stride-2 max-pool: padded in v1.5, unpadded ceil mode in the Caffe ports.
    public let stemPool: PoolWindow
    public let blocks: [Block]
    public let classifierWeightKey: String
    public let classifierBiasKey: String

    /// Every float parameter: (key, shape). Integer bookkeeping (`num_batches_tracked`) is not listed.
    public var parameters: [(key: String, shape: [Int])] {
        func convBN(_ c: ConvBN) -> [(String, [Int])] {
            [(c.weightKey, c.shape)]
                + ["weight", "bias", "running_mean", "running_var"].map { ("\(c.batchNormPrefix).\($0)", [c.shape[0]]) }
        }
        var list = convBN(stem)
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
        let family = arch.family
        let legacy = family == .legacy
        stem = ConvBN(
            name: "stem.conv", weightKey: legacy ? "layer0.conv1.weight" : "conv1.weight",
            batchNormPrefix: legacy ? "layer0.bn1" : "bn1", shape: [64, 3, 7, 7], stride: 2, padding: 3, relu: true)
        stemPool = PoolWindow(kernel: 3, stride: 2, padding: legacy ? 0 : 1, ceilMode: legacy)
        classifierWeightKey = legacy ? "last_linear.weight" : "fc.weight"
        classifierBiasKey = legacy ? "last_linear.bias" : "fc.bias"

        var blocks: [Block] = []
        var inChannels = 64
        for stage in 0..<4 {
            let width = Architecture.stageWidths[stage]
            let out = arch.outChannels(stage: stage)
            for index in 0..<arch.blocksPerStage[stage] {
                let prefix = "layer\(stage + 1).\(index)"
                let stride = (stage > 0 && index == 0) ? 2 : 1
                let convs = Self.branch(arch, prefix: prefix, inChannels: inChannels, width: width, stride: stride)
                let downsample =
                    (stride != 1 || inChannels != out)
                    ? ConvBN(
                        name: "\(prefix).downsample", weightKey: "\(prefix).downsample.0.weight",
                        batchNormPrefix: "\(prefix).downsample.1", shape: [out, inChannels, 1, 1], stride: stride,
                        padding: 0, relu: false) : nil
                let se = Self.squeezeExcite(family, prefix: prefix, channels: out, reduced: arch.seWidths[stage])
                blocks.append(Block(name: prefix, convs: convs, squeezeExcite: se, downsample: downsample))
                inChannels = out
            }
        }
        self.blocks = blocks
    }

    /// The residual branch of one block with the family's key names and stride placement.
    private static func branch(_ arch: Architecture, prefix: String, inChannels: Int, width: Int, stride: Int) -> [ConvBN] {
        let family = arch.family
        // (kernel, in, out) of each conv in the branch.
        let specs: [(Int, Int, Int)] =
            arch.blockKind == .basic
            ? [(3, inChannels, width), (3, width, width)]
            : [(1, inChannels, width), (3, width, width), (1, width, width * 4)]
        // v1 (legacy) strides the first conv of the branch; v1.5 strides the 3×3.
        let stridedIndex = family == .legacy ? 0 : (arch.blockKind == .basic ? 0 : 1)
        return specs.enumerated().map { i, spec in
            let (kernel, cin, cout) = spec
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
                shape: [cout, cin, kernel, kernel],
                stride: i == stridedIndex ? stride : 1, padding: kernel / 2, relu: relu)
        }
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
