import Foundation
import XCTest
@testable import SeedModel

/// Helpers shared by the GGUF tests: opening a file that must be refused, naming an error's
/// case, and a seeded generator so that fuzz failures reproduce.

/// Opens `path`, which must fail with a `GGUFError` whose message names the file. Returns the
/// error (nil after recording a failure) so the caller can check its case.
@discardableResult
func expectGGUFError(_ path: String, _ context: @autoclosure () -> String = "",
                     file: StaticString = #filePath, line: UInt = #line) -> GGUFError? {
    do {
        _ = try GGUFFile(path: path)
        XCTFail("\(context()): opened, expected a GGUFError", file: file, line: line)
    } catch let error as GGUFError {
        XCTAssertTrue(error.description.contains(path),
                      "\(context()): message does not name the file: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("\(context()): threw \(type(of: error)), not GGUFError: \(error)", file: file, line: line)
    }
    return nil
}

extension GGUFError {
    /// The case name ("truncated", "absurdCount", ...), so tests can assert on the case while
    /// leaving the payload (offsets, sizes) free to change with the demo model.
    var caseName: String {
        Mirror(reflecting: self).children.first?.label ?? "\(self)"
    }
}

/// SplitMix64: tiny, seedable and good enough to spread mutations over a file.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
