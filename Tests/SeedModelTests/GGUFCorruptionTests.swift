import Foundation
import XCTest
@testable import SeedModel

/// A damaged model file must be refused with a `GGUFError` that names it: never a crash, never an
/// allocation sized by a corrupt count. The demo target is the specimen; its layout is located
/// by searching for known keys rather than hard-coded, so retraining the demo keeps these valid.
final class GGUFCorruptionTests: XCTestCase {
    private var dir: URL!
    private var original: [UInt8] = []
    private var layout: Layout!

    /// Byte positions in the demo target that the tests corrupt.
    private struct Layout {
        var tableStart: Int     // first byte of the tensor table
        var tableEnd: Int       // one past the last tensor-table entry
        var dataStart: Int      // first byte of tensor data
        var firstTensorName: String
        /// Offset of the nDims field of the first tensor-table entry.
        var firstTensorDims: Int
    }

    override func setUpWithError() throws {
        dir = try TestPaths.temporaryDirectory()
        original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestPaths.target)))
        let file = try GGUFFile(path: TestPaths.target)
        let first = file.tensors[0]
        let tableStart = try XCTUnwrap(lengthPrefixed(first.name))
        let last = try XCTUnwrap(file.tensors.last)
        let lastStart = try XCTUnwrap(lengthPrefixed(last.name))
        // name length + name + nDims + dims + type + offset
        let tableEnd = lastStart + 8 + last.name.utf8.count + 4 + 8 * last.dimensions.count + 4 + 8
        layout = Layout(tableStart: tableStart, tableEnd: tableEnd,
                        dataStart: file.tensors.map(\.fileOffset).min()!,
                        firstTensorName: first.name,
                        firstTensorDims: tableStart + 8 + first.name.utf8.count)
        XCTAssertLessThan(tableEnd, layout.dataStart + 1)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: truncation

    func testTruncatedAnywhereIsRefused() throws {
        var offsets = Set(0..<64)  // every byte of the fixed header and the first key
        offsets.formUnion(stride(from: 64, to: layout.tableStart, by: max(1, layout.tableStart / 120)))
        offsets.formUnion(stride(from: layout.tableStart, to: layout.tableEnd,
                                 by: max(1, (layout.tableEnd - layout.tableStart) / 50)))
        offsets.formUnion(stride(from: layout.dataStart, to: original.count,
                                 by: (original.count - layout.dataStart) / 30))
        offsets.formUnion([layout.tableStart - 1, layout.tableEnd - 1, layout.tableEnd,
                           layout.dataStart, original.count - 1])
        XCTAssertGreaterThan(offsets.count, 200)

        // One copy, shrunk step by step: truncating the 13 MB file costs nothing, rewriting it would.
        let path = dir.appendingPathComponent("truncated.gguf").path
        try Data(original).write(to: URL(fileURLWithPath: path))
        for offset in offsets.sorted(by: >) {
            XCTAssertEqual(truncate(path, off_t(offset)), 0)
            guard let error = expectGGUFError(path, "truncated at \(offset)") else { continue }
            if offset >= layout.tableEnd {
                // The header is whole, so the error must be about the missing tensor bytes.
                XCTAssertEqual(error.caseName, "tensorOutsideFile", "truncated at \(offset): \(error)")
            } else {
                // A count checked against the bytes left can fail before the read itself does.
                XCTAssertTrue(["truncated", "absurdCount", "stringTooLong"].contains(error.caseName),
                              "truncated at \(offset): \(error)")
            }
        }
    }

    func testEmptyFileDirectoryAndMissingPath() throws {
        let empty = dir.appendingPathComponent("empty.gguf").path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertEqual(expectGGUFError(empty)?.caseName, "truncated")
        XCTAssertEqual(expectGGUFError(dir.path)?.caseName, "cannotOpen")
        XCTAssertEqual(expectGGUFError(dir.appendingPathComponent("absent.gguf").path)?.caseName, "cannotOpen")
    }

    // MARK: targeted corruption

    func testBadMagicAndVersion() throws {
        try expectCase("badMagic", patch: [0: Array("GGML".utf8)])
        try expectCase("unsupportedVersion", patch: [4: le(UInt32(1))])
        try expectCase("unsupportedVersion", patch: [4: le(UInt32(4))])
        try expectCase("unsupportedVersion", patch: [4: le(UInt32.max)])
        // Version 2 differs from 3 only in ways this reader does not depend on.
        try withPatch([4: le(UInt32(2))]) { path in
            let file = try GGUFFile(path: path)
            XCTAssertEqual(file.version, 2)
            XCTAssertEqual(file.tensors.count, try GGUFFile(path: TestPaths.target).tensors.count)
        }
    }

    func testAbsurdCounts() throws {
        try expectCase("absurdCount", patch: [8: le(UInt64.max)], mentioning: "tensor")
        try expectCase("absurdCount", patch: [8: le(UInt64(1) << 40)], mentioning: "tensor")
        try expectCase("absurdCount", patch: [16: le(UInt64.max)], mentioning: "metadata")
        try expectCase("absurdCount", patch: [16: le(UInt64(1) << 40)], mentioning: "metadata")
        // The first key's own length, then the first string value's length: said in words, not
        // as "string length of a metadata key count …".
        try expectCase("stringTooLong", patch: [24: le(UInt64(1) << 62)], mentioning: "a metadata key is 4611686018427387904 bytes long, over the limit of 65535 bytes")
        let archType = try XCTUnwrap(typeOffset(of: "general.architecture"))
        try expectCase("stringTooLong", patch: [archType + 4: le(UInt64(1) << 62)], mentioning: "the value of 'general.architecture' is")
        // Key and tensor-name lengths that fit in the file but not in the format's limit: taken
        // at face value they would pull megabytes of tensor data into the name an error quotes.
        for (field, length) in [(24, 70_000), (layout.tableStart, 1 << 20)] {
            try withPatch([field: le(UInt64(length))]) { path in
                guard let error = expectGGUFError(path, "name length \(length) at \(field)") else { return }
                XCTAssertEqual(error.caseName, "stringTooLong", "\(error)")
                XCTAssertLessThan(error.description.count, 1000, "error quotes a runaway name")
            }
        }
        // An array count that would need far more bytes than the file has.
        let tokens = try XCTUnwrap(typeOffset(of: "tokenizer.ggml.tokens"))
        try expectCase("absurdCount", patch: [tokens + 8: le(UInt64(1) << 62)],
                       mentioning: "the file claims 4611686018427387904 entries in the array 'tokenizer.ggml.tokens', more than it could hold")
        try expectCase("absurdCount", patch: [tokens + 8: le(UInt64.max)], mentioning: "tokenizer.ggml.tokens")
    }

    func testUnknownValueTypes() throws {
        let arch = try XCTUnwrap(typeOffset(of: "general.architecture"))
        try expectCase("badValueType", patch: [arch: le(UInt32(99))], mentioning: "general.architecture")
        let tokens = try XCTUnwrap(typeOffset(of: "tokenizer.ggml.tokens"))
        try expectCase("badValueType", patch: [tokens + 4: le(UInt32(99))], mentioning: "tokenizer.ggml.tokens")
    }

    func testBadTensorEntries() throws {
        let dims = layout.firstTensorDims
        let name = layout.firstTensorName
        let file = try GGUFFile(path: TestPaths.target)
        let rank = file.tensors[0].dimensions.count
        let typeField = dims + 4 + 8 * rank
        let offsetField = typeField + 4

        try expectCase("unknownTensorType", patch: [typeField: le(UInt32(99))], mentioning: name)
        try expectCase("badTensorShape", patch: [dims: le(UInt32(7))], mentioning: name)
        try expectCase("badTensorShape", patch: [dims: le(UInt32(0))], mentioning: name)
        try expectCase("badTensorShape", patch: [dims + 4: le(UInt64(0))], mentioning: name)
        try expectCase("badTensorShape", patch: [dims + 4: le(UInt64(1) << 40)], mentioning: name)
        try expectCase("badTensorShape", patch: [offsetField: le(UInt64(1))], mentioning: "aligned")

        let pastEnd = UInt64(original.count + 31) / 32 * 32
        try expectCase("tensorOutsideFile", patch: [offsetField: le(pastEnd)], mentioning: name)
        // Large enough that start + offset + size overflows 64 bits.
        try expectCase("tensorOutsideFile", patch: [offsetField: le(UInt64.max - 31)], mentioning: name)

        // Rename a tensor in place to the name of an earlier one of the same length (attn_q and
        // attn_k of one block), which needs no bytes shifted.
        let names = file.tensors.map(\.name)
        let pair = zip(names.indices, names.indices.dropFirst()).first { names[$0].utf8.count == names[$1].utf8.count }
        let (kept, renamed) = try XCTUnwrap(pair, "no two adjacent tensor names of equal length")
        let renamedAt = try XCTUnwrap(lengthPrefixed(names[renamed])) + 8
        try expectCase("duplicateTensor", patch: [renamedAt: Array(names[kept].utf8)], mentioning: names[kept])
    }

    /// Tensors whose bytes overlap are refused, as llama.cpp refuses tensors that do not follow
    /// one another: loaded, two weights would share bytes and the model would print garbage.
    func testOverlappingTensorsAreRefused() throws {
        let file = try GGUFFile(path: TestPaths.target)
        let ordered = file.tensors.sorted { $0.fileOffset < $1.fileOffset }
        // The largest tensor after the first, moved back by one alignment step so that it starts
        // inside the data of the tensor before it; then moved onto the first tensor's start.
        let victim = try XCTUnwrap(ordered.dropFirst().max { $0.byteCount < $1.byteCount })
        let before = try XCTUnwrap(ordered.last { $0.fileOffset < victim.fileOffset })
        XCTAssertGreaterThan(before.byteCount, file.alignment, "the tensor before must span more than one alignment step")
        let field = try XCTUnwrap(lengthPrefixed(victim.name)) + 8 + victim.name.utf8.count + 4 + 8 * victim.dimensions.count + 4
        let relative = UInt64(victim.fileOffset - layout.dataStart)
        XCTAssertEqual(Array(original[field..<field + 8]), le(relative), "offset field located")
        try expectCase("overlappingTensors", patch: [field: le(relative - UInt64(file.alignment))],
                       mentioning: "the data of tensor '\(before.name)'")
        try expectCase("overlappingTensors", patch: [field: le(UInt64(0))], mentioning: victim.name)
        // The same for a file written by the project's writer: two tensors given one offset.
        var writer = GGUFWriter()
        writer.set("general.architecture", "llama")
        writer.addTensor("a", dimensions: [64], values: [Float](repeating: 1, count: 64))
        writer.addTensor("b", dimensions: [64], values: [Float](repeating: 2, count: 64))
        let path = dir.appendingPathComponent("overlap.gguf").path
        try writer.write(to: path)
        XCTAssertNoThrow(try GGUFFile(path: path))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let parsed = try GGUFFile(path: path)
        let b = try XCTUnwrap(parsed.tensors.first { $0.name == "b" })
        let bField = try XCTUnwrap(find(le(UInt64(1)) + Array("b".utf8), in: bytes)) + 8 + 1 + 4 + 8 + 4
        XCTAssertEqual(Array(bytes[bField..<bField + 8]), le(UInt64(b.fileOffset - parsed.tensors.map(\.fileOffset).min()!)))
        bytes.replaceSubrange(bField..<bField + 8, with: le(UInt64(0)))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = expectGGUFError(path)
        XCTAssertEqual(error?.caseName, "overlappingTensors", "\(String(describing: error))")
        XCTAssertTrue(error?.description.contains("runs into tensor") ?? false, "\(String(describing: error))")
    }

    func testArraysNestedTooDeeplyAreRefused() throws {
        var value = GGUFValue.array(.uint8, [.uint8(1)])
        for _ in 0..<GGUFFile.maxNesting { value = .array(.array, [value]) }
        var writer = GGUFWriter()
        writer.set("deep", value)
        let path = dir.appendingPathComponent("deep.gguf").path
        try writer.write(to: path)
        XCTAssertEqual(expectGGUFError(path)?.caseName, "nestingTooDeep")
    }

    // MARK: fuzz

    func testRandomHeaderMutationsNeverCrash() throws {
        var rng = SeededGenerator(seed: 0x5EED_F10E)
        let path = dir.appendingPathComponent("fuzz.gguf").path
        try Data(original).write(to: URL(fileURLWithPath: path))
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        var opened = 0
        for round in 0..<300 {
            var patch: [Int: UInt8] = [:]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                patch[Int.random(in: 0..<layout.tableEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            for (offset, byte) in patch { try write([byte], at: offset, to: handle) }
            do {
                let file = try GGUFFile(path: path)
                opened += 1
                // Whatever was accepted must still describe tensors inside the mapping.
                for t in file.tensors {
                    XCTAssertLessThanOrEqual(t.fileOffset + t.byteCount, file.fileSize, "round \(round): \(t.name)")
                    XCTAssertEqual(t.fileOffset % file.alignment, 0, "round \(round): \(t.name)")
                }
            } catch let error as GGUFError {
                XCTAssertTrue(error.description.contains(path), "round \(round): \(error)")
            } catch {
                XCTFail("round \(round): threw \(type(of: error)): \(error)")
            }
            for offset in patch.keys { try write([original[offset]], at: offset, to: handle) }
        }
        // Most single-byte changes land in string contents and are harmless; if none opened the
        // restore step above would be broken.
        XCTAssertGreaterThan(opened, 0)
    }

    // MARK: helpers

    /// Little-endian bytes of an integer, as GGUF stores them.
    private func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    /// Offset of the first occurrence of `name` stored as a GGUF string (u64 length, then bytes).
    private func lengthPrefixed(_ name: String) -> Int? {
        find(le(UInt64(name.utf8.count)) + Array(name.utf8), in: original)
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        outer: for start in 0...(haystack.count - needle.count) {
            for (i, b) in needle.enumerated() where haystack[start + i] != b { continue outer }
            return start
        }
        return nil
    }

    /// Offset of the value-type field that follows the metadata key `key`.
    private func typeOffset(of key: String) -> Int? {
        lengthPrefixed(key).map { $0 + 8 + key.utf8.count }
    }

    private func write(_ bytes: [UInt8], at offset: Int, to handle: FileHandle) throws {
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: bytes)
    }

    /// Runs `body` on a copy of the demo target with `patch` (offset → bytes) applied.
    private func withPatch(_ patch: [Int: [UInt8]], _ body: (String) throws -> Void) throws {
        var bytes = original
        for (offset, replacement) in patch {
            bytes.replaceSubrange(offset..<offset + replacement.count, with: replacement)
        }
        let path = dir.appendingPathComponent("patched-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    private func expectCase(_ expected: String, patch: [Int: [UInt8]], mentioning detail: String? = nil,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        try withPatch(patch) { path in
            guard let error = expectGGUFError(path, "patch \(patch.keys.sorted())", file: file, line: line) else { return }
            XCTAssertEqual(error.caseName, expected, "\(error)", file: file, line: line)
            if let detail {
                XCTAssertTrue(error.description.contains(detail), "'\(detail)' not in: \(error)", file: file, line: line)
            }
        }
    }
}
