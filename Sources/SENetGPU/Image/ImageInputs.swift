import Foundation

/// Class names for printing: ImageNet's for 1000-class models, a user's file, or indices.
public struct ClassLabels: Sendable {
    /// nil: print class indices.
    public let names: [String]?

    /// `--labels FILE` (one name per line) when given, else ImageNet's names for 1000 classes.
    public init(classes: Int, file: String?) throws {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw InputError.unreadable(path: file, reason: "cannot read the labels file")
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            while lines.last == "" { lines.removeLast() }
            guard lines.count == classes else {
                throw InputError.invalidOption(
                    "--labels \(file) has \(lines.count) names but the model has \(classes) classes; give one name per line")
            }
            names = lines
        } else {
            names = classes == 1000 ? ImageNetClasses.names : nil
        }
    }

    /// The name of class `index`, or `class N`.
    public func name(_ index: Int) -> String { names?[index] ?? "class \(index)" }
}

/// Turns `--input` paths into the image files to classify.
public enum ImageInputs {
    /// Files as given, folders searched recursively for JPEG/PNG files; sorted within each folder
    /// argument; a path that does not exist is an error.
    public static func collect(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw InputError.unreadable(path: path, reason: "no such file or folder")
            }
            if !isDirectory.boolValue {
                files.append(path)
                continue
            }
            guard let walker = FileManager.default.enumerator(atPath: path) else {
                throw InputError.unreadable(path: path, reason: "cannot list the folder")
            }
            let found = walker.compactMap { $0 as? String }.filter { ImageDecoder.isImageFile($0) }.sorted()
            files += found.map { (path as NSString).appendingPathComponent($0) }  // Keep the user's spelling.
        }
        return files
    }
}

extension InferenceEngine {
    /// Preprocesses `images` and runs them as one batch. Preprocessing runs on the device when
    /// the network's first layers do, else on the CPU (`Reference.preprocess`); both give the
    /// same bits.
    public func classify(_ images: [RGBImage], preprocessing: Preprocessing) throws -> ExecutionPlan.Output {
        precondition(!images.isEmpty, "classify needs at least one image")
        let crop = preprocessing.crop
        let plan = try plan(for: [images.count, 3, crop, crop])
        if let runtime, plan.deviceInputBuffer != nil {
            // The kernels hold the uploaded images; the run ends with blocking reads, after which
            // they have all executed.
            var pending: [CLKernel] = []
            let output = try plan.run(fillingInputOnDevice: { buffer in
                for (index, image) in images.enumerated() {
                    pending.append(
                        try DevicePreprocessing.enqueue(
                            image, preprocessing, runtime: runtime, output: buffer, offset: index * 3 * crop * crop))
                }
            })
            withExtendedLifetime(pending) {}
            return output
        }
        var batch = Tensor(shape: [images.count, 3, crop, crop])
        for (index, image) in images.enumerated() {
            let tensor = try Reference.preprocess(image, preprocessing)
            batch.data.replaceSubrange((index * tensor.count)..<((index + 1) * tensor.count), with: tensor.data)
        }
        return try run(batch)
    }
}
