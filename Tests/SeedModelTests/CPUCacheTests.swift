import XCTest
@testable import SeedModel

final class CPUCacheTests: XCTestCase {
    func testSysfsSizesParse() {
        XCTAssertEqual(CPUCache.parseSize("32768K"), 32 << 20)
        XCTAssertEqual(CPUCache.parseSize("32M"), 32 << 20)
        XCTAssertEqual(CPUCache.parseSize("1048576"), 1 << 20)
        XCTAssertNil(CPUCache.parseSize("large"))
        XCTAssertGreaterThan(CPUCache.lastLevelBytes, 1 << 20)
    }
}
