import Foundation

/// What REST and gRPC share once a request is decoded: readiness, rows, the batch, the
/// outputs asked for, and the statistics.
extension InferenceServer {
    /// One request's outputs, and the durations the statistics extension reports.
    struct Answer {
        let outputs: [ResponseOutput]
        let inputNanoseconds: UInt64
        let queueNanoseconds: UInt64
        let inferNanoseconds: UInt64
        /// When the batch's rows came back: encoding is timed from here.
        let answered: DispatchTime
    }

    /// 503 until the warm-up has run.
    func checkReady() throws {
        guard state.isReady else {
            throw ServeError(
                status: 503, message: "the model is warming up; retry when /v2/health/ready says ready", retryAfter: 1)
        }
    }

    /// `decoded`'s rows (image files decoded on the decode lanes), run in a batch on the least
    /// loaded device, and the outputs it asked for. A bad request throws a 400 `ServeError`.
    func answer(_ decoded: InferRequest, decodeStarted: DispatchTime, smallBody: Bool) async throws -> Answer {
        let rows: RequestRows
        do {
            if let images = model.declaredImages(of: decoded) {
                rows = try await decodeLanes.decodeImages(pixels: images.pixels, count: images.count, smallBody: smallBody) {
                    [model] in try model.rows(of: decoded)
                }
            } else {
                rows = try model.rows(of: decoded)  // An FP32 tensor arrives as floats: checks only.
            }
        } catch let error as RequestError {
            throw ServeError.badRequest(error.message)
        }
        let inputNanoseconds = decodeStarted.nanosecondsUntilNow
        let output = try await dispatcher.submit(images: rows.images, side: rows.side, input: rows.data).get()
        let answered = DispatchTime.now()
        do {
            return Answer(
                outputs: try model.outputs(for: decoded, rows: output), inputNanoseconds: inputNanoseconds,
                queueNanoseconds: output.queueNanoseconds, inferNanoseconds: output.inferNanoseconds, answered: answered)
        } catch let error as RequestError {
            throw ServeError.badRequest(error.message)
        }
    }

    /// A request answered with outputs, its response encoded: counted as a success.
    func record(_ answer: Answer, received: DispatchTime) {
        metrics.statistics.succeeded(
            .init(
                total: received.nanosecondsUntilNow, input: answer.inputNanoseconds, queue: answer.queueNanoseconds,
                infer: answer.inferNanoseconds, output: answer.answered.nanosecondsUntilNow))
    }
}
