import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// Winograd F(2,3) and F(4,3) in plain Swift against the direct convolution: the transforms
/// are right (any wrong matrix entry moves outputs by whole units) and their rounding error is
/// measured on channel counts of the network's 3×3 layers.
final class WinogradTransformTests: XCTestCase {
    /// max |winograd − direct| / max |direct| for one layer of random weights.
    private func relativeError(
        _ transform: WinogradTransform, batch: Int, channels: Int, outChannels: Int, height: Int, width: Int, seed: UInt64
    ) -> Float {
        let input = Tensor.random(shape: [batch, channels, height, width], seed: seed)
        // He-like scale, as trained 3×3 weights have, so sums neither vanish nor explode.
        let scale = (2 / Float(9 * channels)).squareRoot()
        var weight = Tensor.random(shape: [outChannels, channels, 3, 3], seed: seed + 1)
        for index in weight.data.indices { weight.data[index] *= scale }
        let bias = Tensor.random(shape: [outChannels], seed: seed + 2)
        let direct = Reference.conv2d(input, weight: weight, bias: bias, padding: 1)
        let winograd = transform.convolve(input, transformed: transform.transformedWeights(weight), bias: bias)
        XCTAssertEqual(winograd.shape, direct.shape)
        let largest = direct.data.map(abs).max()!
        return zip(winograd.data, direct.data).map { abs($0 - $1) }.max()! / largest
    }

    func testOnlyF2AndF4Exist() {
        XCTAssertEqual(WinogradTransform(m: 2)?.alpha, 4)
        XCTAssertEqual(WinogradTransform(m: 4)?.alpha, 6)
        XCTAssertNil(WinogradTransform(m: 3))
        XCTAssertEqual(WinogradTransform(m: 4)!.transformedWeights(Tensor(shape: [2, 3, 3, 3])).shape, [36, 2, 3])
    }

    /// The flat weight transform gives `sandwich`'s G g Gᵀ bit for bit, at every point of every
    /// (output, input) channel pair.
    func testWeightTransformEqualsTheMatrixForm() {
        for m in [2, 4] {
            let transform = WinogradTransform(m: m)!
            let weight = Tensor.random(shape: [3, 5, 3, 3], seed: UInt64(m))
            let u = transform.transformedWeights(weight)
            let a = transform.alpha
            for oc in 0..<3 {
                for ic in 0..<5 {
                    let base = (oc * 5 + ic) * 9
                    let kernel = (0..<3).map { r in (0..<3).map { c in weight.data[base + r * 3 + c] } }
                    let expected = WinogradTransform.sandwich(transform.g, kernel, transform.g)
                    for p in 0..<(a * a) {
                        XCTAssertEqual(u.data[(p * 3 + oc) * 5 + ic], expected[p / a][p % a], "F(\(m),3) \(oc),\(ic) point \(p)")
                    }
                }
            }
        }
    }

    /// Partial tiles at the right and bottom edges, odd sizes, a batch of two.
    func testMatchesTheDirectConvolutionOnAwkwardShapes() {
        for m in [2, 4] {
            let transform = WinogradTransform(m: m)!
            for (h, w) in [(7, 7), (13, 9), (4, 6), (5, 3)] {
                let error = relativeError(transform, batch: 2, channels: 5, outChannels: 3, height: h, width: w, seed: 40)
                // Measured: at most 2.3e-6; one wrong matrix entry gives errors near 1.
                XCTAssertLessThan(error, 1e-5, "F(\(m),3) at \(h)×\(w)")
            }
        }
    }

    /// The network's 3×3 stride-1 layers have 64–512 input channels on 56²–7² maps. Measured
    /// (printed) on this host: F(2,3) 1.1–3.3e-6, F(4,3) 3.1–7.8e-6 of the largest output,
    /// against the direct fp32 sum; the bounds leave 3–4× room. Sixteen such layers in a row
    /// must still keep the logits within 1e-4: the device algorithm's tests check that.
    func testRoundingErrorOnTheNetworksChannelCounts() {
        for m in [2, 4] {
            let transform = WinogradTransform(m: m)!
            for (channels, side) in [(64, 16), (256, 14), (512, 7)] {
                let error = relativeError(
                    transform, batch: 1, channels: channels, outChannels: 8, height: side, width: side, seed: 7)
                print("Winograd F(\(m),3), \(channels) channels at \(side)×\(side): relative error \(error)")
                XCTAssertLessThan(error, m == 2 ? 1e-5 : 3e-5, "F(\(m),3) with \(channels) channels")
            }
        }
    }
}
