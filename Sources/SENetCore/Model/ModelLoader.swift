import Foundation

/// Loads an SE-ResNet from a safetensors file of any supported family, detecting the family,
/// depth, SE widths and class count from the tensor names and shapes.
public enum ModelLoader {
    /// Loads `path`. When `modelName` is given (`seresnet50`, `seresnext26d_32x4d`,
    /// `legacy_senet154`, `senet18`), the file must be that model.
    public static func load(path: String, modelName: String? = nil) throws -> SEResNet {
        if try looksLikeONNX(path: path) {
            let model = try ONNXImporter.load(path: path)
            try check(model.architecture, requested: modelName, path: path)
            return model
        }
        let file = try SafeTensorsFile(path: path)
        let shapes = Dictionary(uniqueKeysWithValues: file.entries.filter(\.dtype.isFloat).map { ($0.name, $0.shape) })
        let architecture = try detect(shapes: shapes, source: path)
        try check(architecture, requested: modelName, path: path)
        return try ModelBuilder.build(layout: WeightLayout(architecture), available: shapes, source: path, tensor: file.tensor)
    }

    /// Throws when `--model` names another model than the file holds.
    static func check(_ architecture: Architecture, requested modelName: String?, path: String) throws {
        guard let modelName else { return }
        guard Architecture(modelName: modelName) != nil else { throw unknownModel(modelName) }
        guard architecture.answers(to: modelName) else {
            throw InputError.modelMismatch(path: path, requested: modelName, found: architecture.modelName)
        }
    }

    /// True when the file is ONNX rather than safetensors, by content: a safetensors file starts
    /// with a little-endian header length and `{`; an ONNX model is a protobuf whose first field
    /// is a small varint or a length-delimited field (tags 0x08 ir_version, 0x12…0x3a strings and
    /// the graph). A `.onnx` name decides when the content is neither.
    static func looksLikeONNX(path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return path.lowercased().hasSuffix(".onnx") }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 16))
        if head.count > 8, head[8] == UInt8(ascii: "{") { return false }
        if let first = head.first, [0x08, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x40].contains(first) { return true }
        return path.lowercased().hasSuffix(".onnx")
    }

    /// The error for a model name we do not know.
    public static func unknownModel(_ name: String) -> InputError {
        let plain = Architecture.depths.keys.sorted().map { "seresnet\($0)" }
        let variants = Architecture.catalog.filter { $0 != Architecture(family: $0.family, depth: $0.depth) }
        let examples = plain + ["legacy_seresnetNN", "senetNN (same depths)"] + variants.map(\.modelName)
        return .unknownModel(name: name, examples: examples)
    }

    /// Family from the key names; blocks per stage, stem, groups, widths, shortcut kind and
    /// classes from the shapes.
    static func detect(shapes: [String: [Int]], source: String) throws -> Architecture {
        let fail = { (reason: String) in InputError.unsupportedModel(path: source, reason: reason) }
        let family: ModelFamily
        let branch: (Int) -> String  // key of branch conv i (0-based) of layer1.0
        if shapes["layer0.conv1.weight"] != nil {
            (family, branch) = (.legacy, { "layer1.0.conv\($0 + 1).weight" })
        } else if shapes["layer1.0.basicblock.0.weight"] != nil || shapes["layer1.0.bottleneck.0.weight"] != nil {
            let container = shapes["layer1.0.bottleneck.0.weight"] != nil ? "bottleneck" : "basicblock"
            (family, branch) = (.classic, { "layer1.0.\(container).\(3 * $0).weight" })
        } else if shapes["conv1.weight"] != nil || shapes["conv1.0.weight"] != nil, shapes["layer1.0.se.fc1.weight"] != nil {
            (family, branch) = (.timm, { "layer1.0.conv\($0 + 1).weight" })
        } else {
            let sample = shapes.keys.sorted().prefix(3).joined(separator: ", ")
            throw fail(
                "no known key layout (timm seresnet/seresnext, legacy/Cadene, classic SENet); first keys: \(sample.isEmpty ? "none" : sample)"
            )
        }
        let kind: BlockKind = shapes[branch(2)] != nil ? .bottleneck : .basic
        let blocks = (1...4).map { stage in
            Set(
                shapes.keys.compactMap { key -> Int? in
                    let parts = key.split(separator: ".")
                    return parts.count > 2 && parts[0] == "layer\(stage)" ? Int(parts[1]) : nil
                }
            ).count
        }
        guard blocks.allSatisfy({ $0 > 0 }) else { throw fail("a stage has no blocks (blocks per stage \(blocks))") }
        var architecture = Architecture(family: family, blockKind: kind, blocksPerStage: blocks)
        if family != .classic { try detectVariant(&architecture, shapes: shapes, branch: branch, fail: fail) }
        if family == .classic, Architecture.depths[architecture.depth].map({ $0 == (kind, blocks) }) != true {
            throw fail("\(kind.rawValue) blocks per stage \(blocks) match no SE-ResNet depth (18, 34, 50, 101, 152)")
        }
        let head = family == .legacy ? "last_linear.weight" : "fc.weight"
        guard let classes = shapes[head]?.first, classes > 0 else { throw fail("classifier \(head) missing") }
        architecture.numClasses = classes
        let layout = WeightLayout(architecture)
        var firstOfStage = 0
        for stage in 0..<4 {
            let key = layout.blocks[firstOfStage].squeezeExcite.reduceWeightKey
            guard let width = shapes[key]?.first, width > 0 else { throw fail("SE tensor \(key) missing") }
            architecture.seWidths[stage] = width
            firstOfStage += architecture.blocksPerStage[stage]
        }
        return architecture
    }

    /// Stem widths, groups, base width, first-1×1 reduction and shortcut kind of the timm and
    /// Cadene layouts, read from the first blocks' shapes.
    private static func detectVariant(
        _ a: inout Architecture, shapes: [String: [Int]], branch: (Int) -> String, fail: (String) -> InputError
    ) throws {
        func shape(_ key: String, rank: Int = 4) throws -> [Int] {
            guard let s = shapes[key], s.count == rank, s.allSatisfy({ $0 > 0 }) else {
                throw fail("tensor \(key) is missing or not a \(rank)-D weight")
            }
            return s
        }
        let legacy = a.family == .legacy
        let deepKeys =
            legacy
            ? ["layer0.conv1.weight", "layer0.conv2.weight", "layer0.conv3.weight"]
            : ["conv1.0.weight", "conv1.3.weight", "conv1.6.weight"]
        if shapes[deepKeys[1]] != nil {
            a.stemWidths = try deepKeys.map { try shape($0)[0] }
        } else {
            a.stemWidths = [try shape(legacy ? "layer0.conv1.weight" : "conv1.weight")[0]]
        }
        if a.blockKind == .bottleneck {
            let (first, grouped) = (try shape(branch(0)), try shape(branch(1)))
            let width = grouped[0]
            guard grouped[1] > 0, first[0] % grouped[1] == 0, width % first[0] == 0 else {
                throw fail("\(branch(1)) has shape \(grouped), which fits no grouping of \(first[0]) input channels")
            }
            a.cardinality = first[0] / grouped[1]
            a.reduceFirst = width / first[0]
            a.baseWidth = width / a.cardinality  // stage 1 has 64 planes: width = baseWidth · cardinality
        }
        a.averagePoolShortcut = shapes["layer2.0.downsample.2.weight"] != nil
        if !a.averagePoolShortcut {
            a.shortcutKernel = try shape("layer2.0.downsample.0.weight")[2]
        }
    }
}
