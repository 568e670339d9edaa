/// The `Architecture` an imported graph matches, read off its layers: for names and summaries
/// only (the graph's own layers are what runs).
enum ONNXArchitecture {
    /// Throws unless every layer's input channels are what the layer before it outputs: the
    /// file's weights, not its wiring, fix the shapes, and a graph that lies must not run.
    static func checkChannels(
        stem: [ConvLayer], blocks: [ResidualBlock], classifier: Tensor, names: [String: String], walker: ONNXGraphWalker
    ) throws {
        var channels = 3
        func expect(_ layer: String, _ actual: Int, _ wanted: Int) throws {
            guard actual == wanted else {
                throw walker.mismatch(nil, "layer \(names[layer] ?? layer) takes \(actual) channels but is given \(wanted)")
            }
        }
        for conv in stem {
            try expect(conv.name, conv.inChannels, channels)
            channels = conv.outChannels
        }
        for block in blocks {
            let input = channels
            for conv in block.convs {
                try expect(conv.name, conv.inChannels, channels)
                channels = conv.outChannels
            }
            try expect(block.squeezeExcite.name, block.squeezeExcite.channels, channels)
            try expect(block.name, block.downsample?.outChannels ?? input, channels)
            if let downsample = block.downsample { try expect(downsample.name, downsample.inChannels, input) }
        }
        try expect("classifier", classifier.shape[1], channels)
    }

    static func infer(
        stem: [ConvLayer], stemPool: PoolWindow, blocks: [ResidualBlock], blocksPerStage: [Int], classes: Int,
        linearSqueezeExcite: Bool, walker: ONNXGraphWalker
    ) throws -> Architecture {
        let branchConvs = blocks[0].convs.count
        guard blocksPerStage.count == 4, branchConvs == 2 || branchConvs == 3,
            blocks.allSatisfy({ $0.convs.count == branchConvs })
        else {
            throw walker.mismatch(
                nil, "expected four stages of blocks with two or three branch convolutions each, found \(blocksPerStage) blocks")
        }
        let family: ModelFamily = linearSqueezeExcite ? .classic : (stemPool.ceilMode ? .legacy : .timm)
        var a = Architecture(
            family: family, blockKind: branchConvs == 2 ? .basic : .bottleneck, blocksPerStage: blocksPerStage,
            numClasses: classes, stemWidths: stem.map(\.outChannels),
            averagePoolShortcut: blocks.contains { $0.shortcutPool != nil })
        if a.blockKind == .bottleneck {
            let (first, grouped) = (blocks[0].convs[0], blocks[0].convs[1])
            a.cardinality = grouped.groups
            a.reduceFirst = max(1, grouped.outChannels / max(first.outChannels, 1))
            a.baseWidth = grouped.outChannels / max(grouped.groups, 1)
        }
        let stage2 = blocksPerStage[0]
        if !a.averagePoolShortcut, let downsample = blocks[stage2].downsample { a.shortcutKernel = downsample.kernel }
        var firstOfStage = 0
        for stage in 0..<4 {
            a.seWidths[stage] = blocks[firstOfStage].squeezeExcite.reducedWidth
            firstOfStage += blocksPerStage[stage]
        }
        return a
    }
}
