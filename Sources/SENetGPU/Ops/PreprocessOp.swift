/// Preprocesses one decoded image on the device (`preprocess.cl`) into `output` at `offset`
/// floats: the same arithmetic as `Reference.preprocess`, bit for bit.
public enum DevicePreprocessing {
    /// Uploads `image` and its resampling tables and enqueues the kernel that writes
    /// [3, crop, crop] into `output` starting at float `offset`. The returned kernel holds the
    /// uploaded buffers: keep it until the queue has run it.
    @discardableResult
    public static func enqueue(
        _ image: RGBImage, _ p: Preprocessing, runtime: DeviceRuntime, output: CLBuffer, offset: Int
    ) throws -> CLKernel {
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
        let kernel = try runtime.kernel("preprocess_image", file: "preprocess.cl")
        precondition(offset + 3 * p.crop * p.crop <= output.count, "preprocessed image does not fit the input buffer")
        try kernel.set(
            from: 0, buffers: buffers + [output],
            ints: [offset, image.width, columns.kernelSize, rows.kernelSize, x0, y0, p.crop])
        for (index, value) in (p.mean + p.std).enumerated() { try kernel.set(15 + index, value) }
        try kernel.enqueue(on: runtime.queue, global: [p.crop, p.crop, 3])
        return kernel
    }
}
