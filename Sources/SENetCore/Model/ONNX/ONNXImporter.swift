import Foundation
import ONNXProto

/// Maps an ONNX graph exported from an SE-ResNet or SE-ResNeXt onto `SEResNet` by recognising
/// its parts in order: stem convolutions and max-pool, residual blocks (branch convs,
/// squeeze-excite, identity / conv / average-pool + conv shortcut, add, Relu), global pool,
/// classifier and an optional Softmax. Layers keep the canonical names of the safetensors
/// models (`layer2.0.conv1`); `SEResNet.layerNames` maps them to the file's node names.
public enum ONNXImporter {
    /// The op types the importer maps or evaluates at load (shape computations), sorted.
    public static var supportedOps: [String] { ONNXGraphWalker.supported.union(ONNXShapeFolding.foldable).sorted() }

    /// Loads and maps `path`.
    public static func load(path: String) throws -> SEResNet {
        try importModel(try ONNXFile(path: path))
    }

    /// Maps a parsed file.
    public static func importModel(_ file: ONNXFile) throws -> SEResNet {
        var walker = try ONNXGraphWalker(file: file)
        guard file.inputs.count == 1, file.outputs.count == 1 else {
            throw walker.mismatch(
                nil, "expected one image input and one output, found \(file.inputs.count) and \(file.outputs.count)")
        }
        var naming = Naming()

        // Stem: convolutions until the max-pool.
        var x = try walker.skipShapeOps(file.inputs[0])
        var stem: [ConvLayer] = []
        while let index = walker.soleReader(x, ["Conv"]) {
            let (layer, output) = try naming.conv(&walker, index, "stem.conv\(stem.count + 1)")
            stem.append(layer)
            x = output
        }
        guard (1...3).contains(stem.count), let poolIndex = walker.soleReader(x, ["MaxPool"]) else {
            throw walker.mismatch(walker.readers(x).first, "expected a stem of one to three convolutions and a MaxPool")
        }
        walker.use(poolIndex)
        naming.show("stem.pool", walker.node(poolIndex))
        let (k, s, p) = try walker.window(poolIndex)
        let stemPool = PoolWindow(kernel: k, stride: s, padding: p, ceilMode: walker.int(poolIndex, "ceil_mode", default: 0) == 1)
        x = walker.node(poolIndex).output[0]
        if stem.count == 1 {  // a single stem conv is `stem.conv`, as in the safetensors models
            stem = [stem[0].renamed("stem.conv")]
            naming.rename("stem.conv1", to: "stem.conv")
        }

        // Residual blocks, numbered by stage: a block that strides starts the next stage.
        var blocks: [ResidualBlock] = []
        var blocksPerStage: [Int] = []
        while walker.globalPool(reading: x) == nil {
            if blocks.isEmpty || walker.strides(x) { blocksPerStage.append(0) }
            let prefix = "layer\(blocksPerStage.count).\(blocksPerStage[blocksPerStage.count - 1])"
            let (block, output) = try residualBlock(&walker, &naming, x, prefix: prefix)
            blocks.append(block)
            blocksPerStage[blocksPerStage.count - 1] += 1
            x = output
        }
        guard !blocks.isEmpty else { throw walker.mismatch(walker.readers(x).first, "found no residual blocks after the stem") }

        // Head: global pool, classifier, optional Softmax, the graph's output.
        let pool = walker.globalPool(reading: x)!
        walker.use(pool)
        naming.show("pool", walker.node(pool))
        naming.fixedPool("pool", walker, pool)
        let classifier = try walker.fullyConnected(walker.node(pool).output[0])
        naming.show("classifier", walker.node(classifier.node), weight: classifier.weightName)
        var end = try walker.skipShapeOps(classifier.output)
        var probabilities = false
        if let softmax = walker.soleReader(end, ["Softmax"]) {
            let axis = walker.int(softmax, "axis", default: file.opset >= 13 ? -1 : 1)
            guard axis == 1 || axis == -1 else {
                throw walker.mismatch(softmax, "Softmax over axis \(axis), not over the classes")
            }
            walker.use(softmax)
            naming.show("softmax", walker.node(softmax))
            (probabilities, end) = (true, try walker.skipShapeOps(walker.node(softmax).output[0]))
        }
        guard end == file.outputs[0] else {
            throw walker.mismatch(walker.readers(end).first, "the classifier's output is not the graph's output")
        }
        if let stray = file.nodes.indices.first(where: {
            !walker.used.contains($0) && !["Constant"].contains(file.nodes[$0].opType)
                && !ONNXGraphWalker.passThrough.contains(file.nodes[$0].opType)
        }) {
            throw walker.mismatch(stray, "this node is not part of the recognised network")
        }
        try ONNXArchitecture.checkChannels(
            stem: stem, blocks: blocks, classifier: classifier.weight, names: naming.names, walker: walker)
        let architecture = try ONNXArchitecture.infer(
            stem: stem, stemPool: stemPool, blocks: blocks, blocksPerStage: blocksPerStage,
            classes: classifier.weight.shape[0], linearSqueezeExcite: walker.linearSqueezeExcite, walker: walker)
        var model = SEResNet(
            architecture: architecture, stem: stem, stemPool: stemPool, blocks: blocks, classifierWeight: classifier.weight,
            classifierBias: classifier.bias)
        (model.layerNames, model.weightNames) = (naming.names, naming.weightNames)
        model.fixedPoolWindows = naming.fixedPoolWindows
        model.outputsProbabilities = probabilities
        model.origin = "ONNX, \(file.producer)"
        return model
    }

    /// One block from its input `x`: branch, squeeze-excite, shortcut, add and Relu.
    private static func residualBlock(
        _ walker: inout ONNXGraphWalker, _ naming: inout Naming, _ x: String, prefix: String
    ) throws -> (ResidualBlock, String) {
        // The branch's first conv is the Conv reading x whose output does not go to an Add.
        let convReaders = walker.readers(x).filter { walker.node($0).opType == "Conv" }
        guard let first = convReaders.first(where: { !walker.feedsAdd(convOutput: $0) }) else {
            throw walker.mismatch(walker.readers(x).first, "expected a residual block's first convolution")
        }
        var convs: [ConvLayer] = []
        var (layer, branch) = try naming.conv(&walker, first, "\(prefix).conv1")
        convs.append(layer)
        while let next = walker.soleReader(branch, ["Conv"]) {
            (layer, branch) = try naming.conv(&walker, next, "\(prefix).conv\(convs.count + 1)")
            convs.append(layer)
        }
        let se = try walker.squeezeExcite(on: branch, name: "\(prefix).se")
        naming.show("\(prefix).se.pool", walker.node(se.pool))
        naming.fixedPool("\(prefix).se.pool", walker, se.pool)
        naming.show("\(prefix).se.fc1", walker.node(se.reduce), weight: se.weightNames.0)
        naming.show("\(prefix).se", walker.node(se.expand), weight: se.weightNames.1)
        let scaled = walker.node(se.mul).output[0]
        guard let add = walker.soleReader(scaled, ["Add"]), walker.node(add).input.count == 2,
            let relu = walker.soleReader(walker.node(add).output[0], ["Relu"])
        else { throw walker.mismatch(se.mul, "expected the scaled branch to be added to the shortcut, then a Relu") }
        walker.use(add)
        walker.use(relu)
        naming.show(prefix, walker.node(add))
        let shortcutValue = walker.node(add).input.first { $0 != scaled } ?? scaled

        // Shortcut: x itself, a conv of x, or an average pool of x and a conv.
        var shortcut = x
        var pool: PoolWindow?
        if let poolIndex = walker.readers(x).first(where: { walker.node($0).opType == "AveragePool" }) {
            walker.use(poolIndex)
            let (k, s, p) = try walker.window(poolIndex)
            guard p == 0 || walker.int(poolIndex, "count_include_pad", default: 0) == 0 else {
                throw walker.mismatch(poolIndex, "count_include_pad with padding is not supported")
            }
            pool = PoolWindow(kernel: k, stride: s, padding: p, ceilMode: walker.int(poolIndex, "ceil_mode", default: 0) == 1)
            naming.show("\(prefix).downsample.pool", walker.node(poolIndex))
            shortcut = walker.node(poolIndex).output[0]
        }
        var downsample: ConvLayer?
        if shortcutValue != x {
            let convIndex = pool == nil ? convReaders.first { $0 != first } : walker.soleReader(shortcut, ["Conv"])
            guard let convIndex else {
                throw walker.mismatch(add, "expected the shortcut to be the block input or a convolution of it")
            }
            let (conv, output) = try naming.conv(&walker, convIndex, "\(prefix).downsample")
            (downsample, shortcut) = (conv, output)
        }
        guard shortcut == shortcutValue, shortcut != x || pool == nil else {
            throw walker.mismatch(
                add, "the shortcut added here is not the block input, its convolution or its pooled convolution")
        }
        let block = ResidualBlock(
            name: prefix, convs: convs, squeezeExcite: se.layer, shortcutPool: pool, downsample: downsample)
        return (block, walker.node(relu).output[0])
    }

    /// Canonical layer name → the file's node name, and node name → weight initializer name;
    /// canonical pool name → the window of a fixed-size pool used as a global one.
    struct Naming {
        var names: [String: String] = [:]
        var weightNames: [String: String] = [:]
        var fixedPoolWindows: [String: [Int]] = [:]
        private var taken = Set<String>()

        mutating func fixedPool(_ canonical: String, _ walker: ONNXGraphWalker, _ index: Int) {
            if let window = walker.fixedGlobalPoolWindow(index) { fixedPoolWindows[canonical] = window }
        }

        mutating func show(_ canonical: String, _ node: Onnx_NodeProto, weight: String? = nil) {
            let own = node.name.escapingLineBreaks
            let shown = own.isEmpty || taken.contains(own) ? canonical : own
            taken.insert(shown)
            names[canonical] = shown
            if let weight { weightNames[shown] = weight.escapingLineBreaks }
        }

        mutating func rename(_ canonical: String, to other: String) {
            names[other] = names.removeValue(forKey: canonical)
        }

        mutating func conv(_ walker: inout ONNXGraphWalker, _ index: Int, _ canonical: String) throws -> (ConvLayer, String) {
            let (layer, output, weight) = try walker.convolution(at: index, name: canonical)
            show(canonical, walker.node(index), weight: weight)
            return (layer, output)
        }
    }
}
