import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

extension InferCommand {
    /// One image's line of output.
    struct ImageResult: Encodable {
        struct Label: Encodable {
            let index: Int
            let label: String
            let probability: Float
        }
        let path: String
        let top: [Label]?
        let error: String?
    }

    /// One batch's lines (in file order), logits and failures.
    struct ChunkResult {
        var lines: [ImageResult] = []
        var logits: Tensor?
        var failures = 0
    }

    /// What every batch shares: the files, preprocessing and labels.
    struct ImageJob {
        let files: [String]
        let settings: Preprocessing
        let labels: ClassLabels
        let batchSize: Int
        var chunks: Int { (files.count + batchSize - 1) / batchSize }
        func paths(ofChunk index: Int) -> [String] {
            Array(files[(index * batchSize)..<min((index + 1) * batchSize, files.count)])
        }
    }

    /// Classifies image files and folders in batches of `--batch`: one line per image (or an
    /// error line for an image that cannot be decoded, the others carry on), a progress bar on
    /// a terminal, a summary line; exit status 1 when any image failed. Several devices
    /// (`--device all` or `0,1`) each take the next batch when done with theirs.
    func classifyImages(engines: [(name: String, engine: InferenceEngine)], model: SEResNet, synthetic: Bool) throws {
        let files = try ImageInputs.collect(modelOptions.input)
        guard !files.isEmpty else {
            throw CLIError.invalidOption("no JPEG or PNG files found in \(modelOptions.input.joined(separator: ", "))")
        }
        guard modelOptions.batch >= 1 else { throw CLIError.invalidOption("--batch \(modelOptions.batch) must be at least 1") }
        let job = ImageJob(
            files: files, settings: try modelOptions.preprocessing(),
            labels: try ClassLabels(classes: model.architecture.numClasses, file: labelsFile), batchSize: modelOptions.batch)
        if synthetic { printErr("senet-gpu: note: SYNTHETIC seeded weights (not trained); pass --weights for real predictions") }
        let progress = ProgressBar(total: files.count, enabled: files.count > job.batchSize && isatty(STDERR_FILENO) != 0)
        var failures = 0
        var allLogits: [Tensor] = []
        let start = Date()
        let runner = ChunkRunner<ChunkResult>(chunks: job.chunks, devices: engines.count)
        // One slot per device, each touched only by its device's thread: a --fallback cpu
        // engine replaces the device's for the chunks after.
        let slots = engines.map { EngineSlot(engine: $0.engine) }
        runner.start { device, index in
            try classify(job.paths(ofChunk: index), job: job, engine: &slots[device].engine, first: index == 0)
        }
        for index in 0..<job.chunks {
            let chunk = try runner.result(index)
            progress.clear()
            for line in chunk.lines { emit(line) }
            failures += chunk.failures
            if let logits = chunk.logits { allLogits.append(logits) }
            progress.update(done: min((index + 1) * job.batchSize, files.count))
        }
        progress.clear()
        let seconds = Date().timeIntervalSince(start)
        if let saveLogits, !allLogits.isEmpty {
            let classes = allLogits[0].shape[1]
            let rows = allLogits.reduce(0) { $0 + $1.shape[0] }
            try NumpyFile.write(Tensor(shape: [rows, classes], data: allLogits.flatMap(\.data)), path: saveLogits)
        }
        let rate = Double(files.count - failures) / max(seconds, 1e-9)
        let device = engines.map { $0.engine.runtime?.device.description ?? "the CPU reference" }.joined(separator: " + ")
        if json {
            try printJSON(Summary(images: files.count, failed: failures, seconds: seconds, imagesPerSecond: rate, device: device))
        } else {
            print(
                String(
                    format: "%d images (%d failed) in %.2f s, %.1f images/s on %@", files.count, failures, seconds, rate, device))
        }
        if failures > 0 { throw ExitCode.failure }
    }

    /// Decodes one batch's files and runs the ones that decode.
    private func classify(_ paths: [String], job: ImageJob, engine: inout InferenceEngine, first: Bool) throws -> ChunkResult {
        var chunk = ChunkResult()
        var images: [(String, RGBImage)] = []
        var results: [String: ImageResult] = [:]
        for path in paths {
            do {
                let image = try ImageDecoder.decode(path: path)
                try job.settings.validate(width: image.width, height: image.height)
                images.append((path, image))
            } catch {
                chunk.failures += 1
                results[path] = ImageResult(path: path, top: nil, error: Self.reason(error))
            }
        }
        if !images.isEmpty {
            let plan = try engineOptions.plan(&engine, shape: [images.count, 3, job.settings.crop, job.settings.crop])
            if verbose && first { printPlan(plan, engine: engine) }
            let output = try engine.classify(images.map(\.1), preprocessing: job.settings)
            Self.warnIfNotFinite(output.logits, precision: plan.precision)
            chunk.logits = output.logits
            for (row, prediction) in topPredictions(output.probabilities, k: topK).enumerated() {
                let top = prediction.map {
                    ImageResult.Label(index: $0.index, label: job.labels.name($0.index), probability: $0.probability)
                }
                results[images[row].0] = ImageResult(path: images[row].0, top: top, error: nil)
            }
        }
        chunk.lines = paths.map { results[$0]! }
        return chunk
    }

    /// The JSON summary line.
    struct Summary: Encodable {
        let images, failed: Int
        let seconds, imagesPerSecond: Double
        let device: String
    }

    /// An image error without the path the line already starts with.
    static func reason(_ error: Error) -> String {
        if case InputError.invalidImage(_, let reason) = error { return reason.escapingLineBreaks }
        if case InputError.unreadable(_, let reason) = error { return reason.escapingLineBreaks }
        return SENetGPUCommand.message(error)
    }

    private func emit(_ result: ImageResult) {
        if json {
            try? printJSON(result)
        } else if let error = result.error {
            print("\(result.path): error: \(error)")
        } else if let top = result.top {
            print(
                "\(result.path): " + top.map { "\($0.label) \(String(format: "%.4f", $0.probability))" }.joined(separator: ", "))
        }
    }
}

/// A one-line progress bar on stderr, redrawn in place; silent when not on a terminal.
final class ProgressBar {
    private let total: Int
    private let enabled: Bool
    private var shown = false

    init(total: Int, enabled: Bool) {
        (self.total, self.enabled) = (total, enabled)
    }

    func update(done: Int) {
        guard enabled else { return }
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) images".utf8))
        shown = true
    }

    func clear() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        shown = false
    }
}
