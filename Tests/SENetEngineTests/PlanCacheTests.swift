import Foundation
import SENetCore
import SENetEngine
import XCTest

/// `keepPlans(atMost:)`: what bounds a server's plans when `--dynamic-size` lets every request
/// bring its own H×W. On the CPU plan: the cache's bookkeeping is the same on a device.
final class PlanCacheTests: XCTestCase {
    private func engine() throws -> InferenceEngine {
        InferenceEngine(model: try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 3), runtime: nil)
    }

    private func shape(_ side: Int) -> [Int] { [1, 3, side, side] }

    func testThePlanUsedLeastRecentlyIsDroppedPastTheLimitAndRebuiltTheSame() throws {
        let engine = try engine()
        engine.keepPlans(atMost: 2)
        let first = try engine.plan(for: shape(32))
        let input = Tensor(shape: shape(40), data: (0..<(3 * 40 * 40)).map { Float($0 % 17) / 17 })
        let before = try engine.run(input).logits
        XCTAssertTrue(try engine.plan(for: shape(32)) === first, "a kept plan is reused")
        _ = try engine.plan(for: shape(48))  // 40 was used least recently: it goes.
        XCTAssertEqual(engine.cachedPlans.shapes, [shape(32), shape(48)])
        XCTAssertEqual(engine.cachedPlans.dropped, 1)
        let after = try engine.run(input).logits  // Rebuilt; 32 goes now.
        XCTAssertEqual(after.data, before.data, "a rebuilt plan computes what the dropped one did")
        XCTAssertEqual(engine.cachedPlans.shapes, [shape(48), shape(40)])
        XCTAssertFalse(try engine.plan(for: shape(32)) === first, "a dropped plan is built anew")
        XCTAssertEqual(engine.cachedPlans.dropped, 3)
    }

    func testLoweringTheLimitDropsAtOnceAndNoLimitKeepsEveryPlan() throws {
        let engine = try engine()
        for side in [32, 40, 48, 56] { _ = try engine.plan(for: shape(side)) }
        XCTAssertEqual(engine.cachedPlans.shapes.count, 4, "unbounded by default")
        XCTAssertEqual(engine.cachedPlans.dropped, 0)
        engine.keepPlans(atMost: 1)
        XCTAssertEqual(engine.cachedPlans.shapes, [shape(56)])
        XCTAssertEqual(engine.cachedPlans.dropped, 3)
    }
}
