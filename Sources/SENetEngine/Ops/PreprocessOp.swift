import OpenCLKit
import SENetCore
import SENetImages

/// Preprocesses one decoded image on the device (`preprocess.cl`) into `output` at `offset`
/// floats: the same arithmetic as `Reference.preprocess`, bit for bit.
public enum DevicePreprocessing {
    /// Uploads `image` and its resampling tables and enqueues the kernel that writes
    /// [3, crop, crop] into `output` starting at value `offset`, stored as `element`. The returned launch holds the
    /// uploaded buffers: keep it until the queue has run it.
    @discardableResult
    public static func enqueue(
        _ image: RGBImage, _ p: Preprocessing, runtime: DeviceRuntime, output: CLBuffer, offset: Int,
        element: ElementType = .float32
    ) throws -> KernelLaunch {
        try p.validate(width: image.width, height: image.height)
        let (w, h) = p.resizedSize(width: image.width, height: image.height)
        let (x0, y0) = p.cropOrigin(width: w, height: h)
        let columns = ResampleWeights(inSize: image.width, outSize: w)
        let rows = ResampleWeights(inSize: image.height, outSize: h)
        let floats = { (values: [Int]) in try runtime.upload(Tensor(shape: [values.count], data: values.map(Float.init))) }
        let buffers = [
            try runtime.upload(Tensor(shape: [image.pixels.count], data: image.pixels.map(Float.init))),
            try floats(columns.first), try floats(columns.count), try floats(columns.weights.map(Int.init)),
            try floats(rows.first), try floats(rows.count), try floats(rows.weights.map(Int.init)),
        ]
        let kernel = try runtime.kernel("preprocess_image", file: "preprocess.cl", types: KernelTypes(activations: element))
        precondition(
            (offset + 3 * p.crop * p.crop) * element.byteSize <= output.byteCount,
            "preprocessed image does not fit the input buffer")
        let ints = [offset, image.width, columns.kernelSize, rows.kernelSize, x0, y0, p.crop]
        let launch = try KernelLaunch(
            kernel, buffers.map { .buffer($0) } + [.buffer(output)] + ints.map { .int($0) } + (p.mean + p.std).map { .float($0) },
            global: [p.crop, p.crop, 3])
        _ = try launch.enqueue(on: runtime.queue, profile: false)
        return launch
    }
}
