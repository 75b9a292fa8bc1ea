import XCTest
@testable import SeedEngine

final class StopStringMatcherTests: XCTestCase {
    func testStopStringAcrossPiecesIsHeldThenCut() {
        var m = StopStringMatcher(stops: ["END"])
        XCTAssertEqual(m.feed("abE").0, "ab", "a possible start of the stop string is held back")
        XCTAssertEqual(m.feed("N").0, "")
        let (out, hit) = m.feed("Dxyz")
        XCTAssertEqual(out, "")
        XCTAssertTrue(hit)
        XCTAssertEqual(m.text, "ab")
    }

    func testHeldTailIsReleasedWhenItCannotBeAStop() {
        var m = StopStringMatcher(stops: ["END", "\n\n"])
        XCTAssertEqual(m.feed("xE").0, "x")
        XCTAssertEqual(m.feed("Nd\n").0, "ENd")
        XCTAssertEqual(m.feed("y").0, "\ny")
        XCTAssertEqual(m.flush(), "")
        XCTAssertEqual(m.text, "xENd\ny")
    }

    func testEarliestStopWinsAndFlushReturnsTheRest() {
        var m = StopStringMatcher(stops: ["zz", "b"])
        XCTAssertEqual(m.feed("a").0, "a")
        XCTAssertEqual(m.feed("z").0, "")
        XCTAssertEqual(m.flush(), "z")
        let (out, hit) = m.feed("qbzz")
        XCTAssertEqual(out, "q")
        XCTAssertTrue(hit)
        XCTAssertEqual(m.text, "azq")
    }
}
