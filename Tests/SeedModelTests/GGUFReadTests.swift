import XCTest
@testable import SeedModel

final class GGUFReadTests: XCTestCase {
    func testReadsDemoTarget() throws {
        let file = try GGUFFile(path: TestPaths.target)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try file.stringArray("tokenizer.ggml.tokens")?.count, 512)
        let embd = try XCTUnwrap(file.tensor(named: "token_embd.weight"))
        XCTAssertEqual(embd.dimensions, [256, 512])
        XCTAssertEqual(embd.type, .f16)
        XCTAssertEqual(file.tensors.count, 75)
    }
}
