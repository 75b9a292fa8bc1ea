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

    /// "\r\n" is one Character but two scalars, and models often emit "\r" and "\n" as
    /// separate tokens: the "\r" must be held back, and the stop found when the "\n" comes.
    func testStopsAreMatchedAsScalarsAcrossPieces() {
        var m = StopStringMatcher(stops: ["\r\n"])
        XCTAssertEqual(m.feed("a\r").0, "a")
        let (out, hit) = m.feed("\nb")
        XCTAssertEqual(out, "")
        XCTAssertTrue(hit)
        XCTAssertEqual(m.text, "a")

        // A decomposed é split across pieces, and a stop that is a base letter later combined.
        var accent = StopStringMatcher(stops: ["e\u{301}"])
        XCTAssertEqual(accent.feed("cafe").0, "caf")
        XCTAssertTrue(accent.feed("\u{301}!").1)
        var letter = StopStringMatcher(stops: ["e"])
        XCTAssertTrue(letter.feed("cafe").1, "the scalar e is there, whatever follows")
        XCTAssertEqual(letter.text, "caf")

        // Exact scalars: the Kelvin sign is not the letter K.
        var kelvin = StopStringMatcher(stops: ["K"])
        XCTAssertEqual(kelvin.feed("300\u{212A}").1, false)
        XCTAssertEqual(kelvin.flush(), "")
        XCTAssertEqual(kelvin.text, "300\u{212A}")
    }
}
