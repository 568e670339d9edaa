import Foundation
import SENetCore

/// Class names for printing: ImageNet's for 1000-class models, a user's file, or indices.
public struct ClassLabels: Sendable {
    /// nil: print class indices.
    public let names: [String]?

    /// A labels file (one name per line) when given, else ImageNet's names for 1000 classes.
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
                throw InputError.labelCountMismatch(path: file, names: lines.count, classes: classes)
            }
            names = lines
        } else {
            names = classes == 1000 ? ImageNetClasses.names : nil
        }
    }

    /// The name of class `index`, or `class N`.
    public func name(_ index: Int) -> String { names?[index] ?? "class \(index)" }
}

/// Turns input paths (files and folders) into the image files to classify.
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
