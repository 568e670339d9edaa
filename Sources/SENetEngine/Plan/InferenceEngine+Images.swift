import OpenCLKit
import SENetCore
import SENetImages

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
            var pending: [KernelLaunch] = []
            let output = try plan.run(fillingInputOnDevice: { buffer in
                for (index, image) in images.enumerated() {
                    pending.append(
                        try DevicePreprocessing.enqueue(
                            image, preprocessing, runtime: runtime, output: buffer, offset: index * 3 * crop * crop,
                            element: plan.graph.values[plan.graph.input].elementType))
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
