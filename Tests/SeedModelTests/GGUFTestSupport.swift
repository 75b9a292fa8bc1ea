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

/// Spreads mutations over a file reproducibly: the library's SplitMix64.
typealias SeededGenerator = SplitMix64
