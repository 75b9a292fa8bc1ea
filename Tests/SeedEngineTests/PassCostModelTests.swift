import XCTest
import SeedModel
@testable import SeedEngine

/// `auto` prices rounds with these estimates; what they must do is set by how passes behave:
/// exact token counts keep their own cost, unseen ones follow the calibration curve scaled by
/// how real passes compare with it.
final class PassCostModelTests: XCTestCase {
    func testRealPassesOnlyInterpolateLinearlyAndScaleBeyond() {
        var model = PassCostModel()
        XCTAssertEqual(model.cost(tokens: 5), 0, "nothing measured: no estimate")
        model.record(tokens: 4, seconds: 1.0)
        model.record(tokens: 8, seconds: 2.0)
        XCTAssertEqual(model.cost(tokens: 4), 1.0)
        XCTAssertEqual(model.cost(tokens: 6), 1.5, accuracy: 1e-12, "between two counts: linear")
        XCTAssertEqual(model.cost(tokens: 16), 4.0, accuracy: 1e-12, "past the largest: in proportion")
        XCTAssertEqual(model.cost(tokens: 2), 1.0, "below the smallest: the smallest's")
        XCTAssertEqual(model.cost(tokens: 0), 0)
        // Recent passes weigh more, and one pass does not replace the estimate.
        model.record(tokens: 4, seconds: 2.0)
        XCTAssertEqual(model.cost(tokens: 4), 0.7 * 1.0 + 0.3 * 2.0, accuracy: 1e-12)
        // Passes beyond the exact range are priced per token from the longest exact count.
        model.record(tokens: 1024, seconds: 8.0)
        XCTAssertEqual(model.cost(tokens: PassCostModel.exactLimit), 4.0, accuracy: 1e-12)
        XCTAssertEqual(model.cost(tokens: 2048), 16.0, accuracy: 1e-9)
    }

    func testUnseenCountsFollowTheCalibrationScaledByRealPasses() throws {
        let models = try EngineModels.shared()
        let target = models.target
        let pool = KVPool(config: target.config, memoryBytes: 64 << 20, blockTokens: 16)
        var model = PassCostModel()
        try model.calibrate(model: target, pool: pool, maxTokens: 64)
        XCTAssertEqual(pool.freeBlocks, pool.blockCount, "calibration releases its sequences")
        for t in PassCostModel.calibrationSizes where t <= 64 {
            XCTAssertGreaterThan(model.cost(tokens: t), 0, "calibrated at \(t) tokens")
        }
        let before = model.cost(tokens: 40)
        let curve = [10, 20, 30].map { ($0, model.cost(tokens: $0)) }
        // Real passes three times as slow as calibrated ones (long contexts, a busy machine) at
        // other counts raise the estimate for 40 tokens to three times the curve.
        for _ in 0..<60 {
            for (t, c) in curve { model.record(tokens: t, seconds: 3 * c) }
        }
        XCTAssertEqual(model.cost(tokens: 40) / before, 3, accuracy: 0.01)
        XCTAssertEqual(model.cost(tokens: 20), 3 * curve[1].1, accuracy: 1e-9, "seen counts keep their own cost")
    }
}
