import Foundation
import SENetCore

extension ExecutionPlan {
    /// The plan as data (`plan --json`): each op with where it runs and why, each device
    /// convolution's algorithm, tiling, split-K, precision and substitutions, and the memory.
    public struct Report: Encodable, Sendable {
        public struct Op: Encodable, Sendable {
            public let name: String
            public let kind: String
            public let onDevice: Bool
            /// Why it runs on the CPU.
            public let reason: String?
            public let outputShape: [Int]
            public let arenaOffset: Int?
            public let convolution: Convolution?
        }

        public struct Convolution: Encodable, Sendable {
            public let algorithm: String
            /// The tiling as `plan` prints it, and its fields.
            public let tiling: String
            public let parameters: ConvolutionTiling
            public let tuned: Bool
            public let tunedAtBatch: Int?
            public let splitK: Int
            public let precision: String
            public let halfArithmetic: Bool
            public let substitutions: [String]
            public let passedOver: [String]
        }

        public let device: String?
        public let inputShape: [Int]
        public let precision: String
        public let kernelFamily: String?
        /// The layers an fp16 plan keeps in fp32, with why.
        public let fp32Layers: [FP32Layer]
        public let ops: [Op]
        public let convolutions: Int
        public let tunedConvolutions: Int
        public let activationBytes: Int
        public let weightBytes: Int
        public let scratchBytes: Int
        /// Plan-wide substitutions (kernel sources), beside each convolution's own.
        public let kernelSourceSubstitutions: [String]
    }

    public var report: Report {
        let choices = Dictionary(uniqueKeysWithValues: convolutionChoices.map { ($0.name, $0) })
        let ops = placements.map { p in
            Report.Op(
                name: p.name, kind: p.kind.rawValue, onDevice: p.onDevice, reason: p.reason, outputShape: p.outputShape,
                arenaOffset: p.arenaOffset,
                convolution: choices[p.name].map {
                    Report.Convolution(
                        algorithm: $0.algorithm, tiling: "\($0.tiling)", parameters: $0.tiling, tuned: $0.tuned,
                        tunedAtBatch: $0.tunedAtBatch,
                        splitK: $0.splitK,
                        precision: $0.precision.rawValue, halfArithmetic: $0.halfArithmetic, substitutions: $0.substitutions,
                        passedOver: $0.passedOver)
                })
        }
        return Report(
            device: deviceName, inputShape: inputShape, precision: precision.rawValue, kernelFamily: kernelFamily?.rawValue,
            fp32Layers: fp32Layers, ops: ops, convolutions: convolutions, tunedConvolutions: tunedConvolutions,
            activationBytes: activationBytes,
            weightBytes: weightBytes, scratchBytes: scratchBytes, kernelSourceSubstitutions: kernelSourceSubstitutions)
    }
}
