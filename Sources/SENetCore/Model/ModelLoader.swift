import Foundation

/// Loads an SE-ResNet from a safetensors file of any supported family, detecting the family,
/// depth, SE widths and class count from the tensor names and shapes.
public enum ModelLoader {
    /// Loads `path`. When `modelName` is given (`seresnet50`, `legacy_seresnet101`, `senet18`),
    /// the file must be that model.
    public static func load(path: String, modelName: String? = nil) throws -> SEResNet {
        let file = try SafeTensorsFile(path: path)
        let shapes = Dictionary(uniqueKeysWithValues: file.entries.filter(\.dtype.isFloat).map { ($0.name, $0.shape) })
        let architecture = try detect(shapes: shapes, source: path)
        if let modelName {
            guard let requested = Architecture(modelName: modelName) else { throw unknownModel(modelName) }
            guard requested.family == architecture.family, requested.depth == architecture.depth else {
                throw InputError.modelMismatch(path: path, requested: modelName, found: architecture.modelName)
            }
        }
        return try ModelBuilder.build(layout: WeightLayout(architecture), available: shapes, source: path, tensor: file.tensor)
    }

    /// The error for a model name we do not know.
    public static func unknownModel(_ name: String) -> InputError {
        let depths = Architecture.depths.keys.sorted()
        let examples = depths.map { "seresnet\($0)" } + ["legacy_seresnetNN", "senetNN (same depths)"]
        return .unknownModel(name: name, examples: examples)
    }

    /// Family from the key names; depth from the blocks per stage; widths and classes from shapes.
    static func detect(shapes: [String: [Int]], source: String) throws -> Architecture {
        let fail = { (reason: String) in InputError.unsupportedModel(path: source, reason: reason) }
        let family: ModelFamily
        let kind: BlockKind
        if shapes["layer0.conv1.weight"] != nil {
            family = .legacy
            kind = shapes["layer1.0.conv3.weight"] != nil ? .bottleneck : .basic
        } else if shapes["layer1.0.basicblock.0.weight"] != nil || shapes["layer1.0.bottleneck.0.weight"] != nil {
            family = .classic
            kind = shapes["layer1.0.bottleneck.0.weight"] != nil ? .bottleneck : .basic
        } else if shapes["conv1.weight"] != nil, shapes["layer1.0.se.fc1.weight"] != nil {
            family = .timm
            kind = shapes["layer1.0.conv3.weight"] != nil ? .bottleneck : .basic
        } else {
            let sample = shapes.keys.sorted().prefix(3).joined(separator: ", ")
            throw fail(
                "no known key layout (timm seresnet, legacy/Cadene, classic SENet); first keys: \(sample.isEmpty ? "none" : sample)"
            )
        }
        let blocks = (1...4).map { stage in
            Set(
                shapes.keys.compactMap { key -> Int? in
                    let parts = key.split(separator: ".")
                    return parts.count > 2 && parts[0] == "layer\(stage)" ? Int(parts[1]) : nil
                }
            ).count
        }
        guard
            var architecture = Architecture.depths.first(where: { $0.value == (kind, blocks) }).flatMap({
                Architecture(family: family, depth: $0.key)
            })
        else {
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
}
