import Foundation
import SENetCore

extension ExecutionPlan {
    /// A table of the plan for people: each op, where it runs and why, its output and buffer,
    /// the transfers, and the memory it needs.
    public var textDescription: String {
        var lines = ["plan for input \(inputShape) on \(deviceName ?? "the CPU reference"), \(precisionDescription)"]
        lines.append(pad("#", 4) + pad("op", 26) + pad("kind", 16) + pad("where", 8) + pad("output", 20) + "arena offset")
        var choices = Dictionary(uniqueKeysWithValues: convolutionChoices.map { ($0.name, $0.summary) })
        for choice in int8Convolutions { choices[choice.name] = choice.algorithm }
        var number = 0
        for step in steps {
            switch step {
            case .device(let op), .host(let op):
                let p = placements[op]
                number += 1
                let buffer = p.arenaOffset.map { String(format: "%.2f MiB", Double($0) / 1_048_576) } ?? "-"
                // A device convolution's algorithm and tiling; an op on the CPU gives its reason.
                let conv = choices[p.name].map { "  \($0)" }
                let why = p.reason.map { "  (\($0))" } ?? (p.onDevice ? conv ?? "" : "")
                lines.append(
                    pad("\(number)", 4) + pad(p.name, 26) + pad(p.kind.rawValue, 16) + pad(p.onDevice ? "device" : "cpu", 8)
                        + pad("\(p.outputShape)", 20) + buffer + why)
            case .upload(let value):
                lines.append(pad("", 4) + "upload \(graph.values[value].name) \(graph.values[value]) to the device")
            case .download(let value):
                lines.append(pad("", 4) + "download \(graph.values[value].name) \(graph.values[value]) to the host")
            case .perturb(let value):
                lines.append(pad("", 4) + "perturb \(graph.values[value].name) on purpose (debug)")
            }
        }
        let onDevice = placements.filter(\.onDevice).count
        lines.append(
            "\(onDevice) ops on the device, \(placements.count - onDevice) on the CPU; one arena holds every activation and "
                + "scratch (largest scratch \(Self.megabytes(scratchBytes))): activations \(Self.megabytes(activationBytes)) for this plan, "
                + "weights \(Self.megabytes(weightBytes)) (\(weightBytes) bytes; uploaded once, shared by every plan of the engine); "
                + String(format: "%.2f GMAC", Double(graph.macs) / 1e9))
        if deviceName != nil {
            lines.append(
                "convolution tiles: \(tunedConvolutions) of \(convolutions) layers tuned for this device"
                    + (tunedConvolutions == 0 ? " (defaults)" : ""))
        }
        if !fp32Layers.isEmpty {
            let how = precision == .int8 ? "they read fp32 feature maps" : "casts inserted where they meet fp16 layers"
            lines.append("kept in fp32 (\(fp32Layers.count), \(how)):")
            lines += fp32Layers.map { "  \($0.name): \($0.reason)" }
        }
        // Never silent: every substitution the plan made, with its reason.
        let substitutions = self.substitutions
        if !substitutions.isEmpty {
            lines.append("substitutions (\(substitutions.count)):")
            lines += substitutions.map { "  \($0.layer.map { "\($0): " } ?? "")\($0.reason)" }
        }
        return lines.joined(separator: "\n")
    }

    /// `textDescription`, then for each device convolution the algorithms passed over and why
    /// (`plan -v`).
    public var verboseDescription: String {
        var lines = [
            textDescription,
            "convolution algorithms (registered: \(ConvAlgorithms.registered.map(\.name).joined(separator: ", "))):",
        ]
        for choice in convolutionChoices {
            let passed = choice.passedOver.isEmpty ? "" : "; passed over \(choice.passedOver.joined(separator: "; "))"
            lines.append("  \(choice.name): \(choice.summary)\(passed)")
        }
        if !int8Convolutions.isEmpty {
            lines.append(
                "int8 convolution algorithms (registered: \(Int8ConvAlgorithms.registered.map(\.name).joined(separator: ", "))):")
            for choice in int8Convolutions {
                let passed = choice.passedOver.isEmpty ? "" : "; passed over \(choice.passedOver.joined(separator: "; "))"
                lines.append("  \(choice.name): \(choice.algorithm)\(passed)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Every substitution: per convolution (layer named) and kernel sources (no layer).
    public var substitutions: [(layer: String?, reason: String)] {
        convolutionChoices.flatMap { choice in choice.substitutions.map { (Optional(choice.name), $0) } }
            + kernelSourceSubstitutions.map { (nil, $0) }
    }

    /// `fp32`, or fp16 or int8 with what is reduced and what is not.
    public var precisionDescription: String {
        if precision == .int8 {
            let kept = fp32Layers.isEmpty ? "" : ", \(fp32Layers.count) kept in fp32"
            return "int8 in \(graph.nodes.filter { $0.op is Int8Convolution }.count) convolutions and classifiers "
                + "(int8 weights per output channel and int8 input codes, int32 sums)\(kept); "
                + "SE, pools, residual adds, softmax and the feature maps between ops fp32"
        }
        guard precision == .fp16 else { return "fp32" }
        let kept = fp32Layers.isEmpty ? "" : ", \(fp32Layers.count) layers kept in fp32"
        return "fp16 storage (feature maps and weight matrices; biases, per-channel values and sums fp32), "
            + "half arithmetic in \(halfArithmeticConvolutions) of \(convolutions) convolutions\(kept)"
    }

    /// Ops that run on the CPU although a device was chosen, with the reason: the log of fallbacks.
    public var fallbacks: [Placement] { deviceName == nil ? [] : placements.filter { !$0.onDevice } }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
