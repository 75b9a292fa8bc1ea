import Foundation
import XCTest
@testable import SeedModel

/// Whatever the writer produces, the reader must give back unchanged: every metadata type,
/// every computable tensor type and rank, and a non-default alignment.
final class GGUFWriterTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestPaths.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func roundTrip(_ writer: GGUFWriter, _ name: String = "round-trip.gguf") throws -> GGUFFile {
        let path = dir.appendingPathComponent(name).path
        try writer.write(to: path)
        return try GGUFFile(path: path)
    }

    /// One value of every scalar type, extremes included.
    private static let scalars: [(String, GGUFValue)] = [
        ("u8", .uint8(.max)), ("i8", .int8(.min)), ("u16", .uint16(.max)), ("i16", .int16(.min)),
        ("u32", .uint32(.max)), ("i32", .int32(.min)), ("u64", .uint64(.max)), ("i64", .int64(.min)),
        ("f32", .float32(-0.0)), ("f32.tiny", .float32(.leastNonzeroMagnitude)), ("f32.inf", .float32(-.infinity)),
        ("f64", .float64(.pi)), ("f64.big", .float64(.greatestFiniteMagnitude)),
        ("bool.t", .bool(true)), ("bool.f", .bool(false)),
        ("str", .string("plain")), ("str.empty", .string("")),
        ("str.utf8", .string("Grüße, 世界 — 🎲🧮 Ġ\u{0}nul")),
    ]

    func testMetadataOfEveryTypeRoundTrips() throws {
        var writer = GGUFWriter()
        var expected: [(String, GGUFValue)] = Self.scalars
        for (key, value) in Self.scalars {
            expected.append(("arr.\(key)", .array(value.type, [value, value])))
        }
        expected += [
            ("arr.empty.u32", .array(.uint32, [])),
            ("arr.empty.str", .array(.string, [])),
            ("arr.empty.arr", .array(.array, [])),
            ("arr.nested", .array(.array, [.array(.int16, [.int16(-1), .int16(2)]),
                                           .array(.int16, []),
                                           .array(.int16, [.int16(.max)])])),
            ("arr.nested.str", .array(.array, [.array(.string, [.string("ä"), .string("")]),
                                               .array(.array, [.array(.bool, [.bool(true)])])])),
            ("ключ.ü", .string("non-ASCII key")),
        ]
        for (key, value) in expected { writer.set(key, value) }
        writer.set("str", "overwritten")  // set replaces in place, keeping the order
        expected[expected.firstIndex { $0.0 == "str" }!].1 = .string("overwritten")

        let file = try roundTrip(writer)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadataKeys, expected.map(\.0))
        for (key, value) in expected {
            XCTAssertEqual(file.value(key), value, key)
        }
        XCTAssertEqual(file.metadata.count, expected.count)
        XCTAssertTrue(file.tensors.isEmpty)
    }

    /// `stringArray` and `numberArray` decode arrays straight from the mapping: they must agree
    /// with `value`, and refuse an array of the other kind by naming the key.
    func testTypedArrayAccessorsAgreeWithValue() throws {
        var writer = GGUFWriter()
        let strings = ["a", "", "Grüße, 世界 — a string well past fifteen bytes", "Ġ\u{0}nul"]
        writer.set("strs", strings: strings)
        writer.set("i32s", .array(.int32, [.int32(.min), .int32(0), .int32(7)]))
        writer.set("f32s", .array(.float32, [.float32(-0.5), .float32(.infinity)]))
        writer.set("bools", .array(.bool, [.bool(true), .bool(false)]))
        writer.set("u64s", .array(.uint64, [.uint64(1 << 40)]))
        writer.set("empty.u8", .array(.uint8, []))
        writer.set("nested", .array(.array, [.array(.int16, [.int16(3)])]))
        writer.set("scalar", .uint32(5))
        let file = try roundTrip(writer)

        XCTAssertEqual(try file.stringArray("strs"), strings)
        XCTAssertEqual(file.value("strs"), .array(.string, strings.map(GGUFValue.string)))
        XCTAssertEqual(try file.numberArray("i32s"), [Double(Int32.min), 0, 7])
        XCTAssertEqual(try file.numberArray("f32s"), [-0.5, .infinity])
        XCTAssertEqual(try file.numberArray("bools"), [1, 0])
        XCTAssertEqual(try file.numberArray("u64s"), [Double(1 << 40)])
        XCTAssertEqual(try file.numberArray("empty.u8"), [])
        XCTAssertEqual(try file.stringArray("empty.u8"), [])
        XCTAssertNil(try file.stringArray("absent"))
        XCTAssertNil(try file.numberArray("absent"))
        for (key, call) in [("i32s", { _ = try file.stringArray("i32s") }), ("strs", { _ = try file.numberArray("strs") }),
                            ("nested", { _ = try file.numberArray("nested") }), ("scalar", { _ = try file.stringArray("scalar") })] {
            XCTAssertThrowsError(try call(), key) { error in
                XCTAssertTrue("\(error)".contains("'\(key)'"), "\(error)")
            }
        }
    }

    func testNaNMetadataKeepsItsBits() throws {
        let payload = Float(bitPattern: 0x7fc0_1234)
        var writer = GGUFWriter()
        writer.set("nan32", .float32(payload))
        writer.set("nan64", .float64(-.nan))
        let file = try roundTrip(writer)
        guard case let .float32(f)? = file.value("nan32"), case let .float64(d)? = file.value("nan64") else {
            return XCTFail("NaN values lost their type")
        }
        XCTAssertEqual(f.bitPattern, payload.bitPattern)
        XCTAssertEqual(d.bitPattern, (-Double.nan).bitPattern)
    }

    func testTensorsOfEveryTypeAndRankRoundTrip() throws {
        for alignment in [32, 64, 256] {
            try checkTensorRoundTrip(alignment: alignment)
        }
    }

    private func checkTensorRoundTrip(alignment: Int) throws {
        var rng = SeededGenerator(seed: UInt64(alignment))
        // Shapes chosen so that some byte counts are not multiples of the alignment (padding is
        // exercised) and each type appears at every rank.
        let shapes: [[Int]] = [[96], [32, 3], [64, 3, 2], [32, 1, 2, 3]]
        let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0]
        var writer = GGUFWriter()
        writer.alignment = alignment
        writer.set("general.architecture", "test")
        var inputs: [String: [Float]] = [:]
        for type in types {
            for shape in shapes {
                let name = "\(type.name).\(shape.count)d"
                let values = (0..<shape.reduce(1, *)).map { _ in Float.random(in: -4...4, using: &rng) }
                inputs[name] = values
                writer.addTensor(name, dimensions: shape, type: type, values: values)
            }
        }
        let file = try roundTrip(writer, "tensors-\(alignment).gguf")
        XCTAssertEqual(file.alignment, alignment)
        XCTAssertEqual(try file.int("general.alignment"), alignment == 32 ? nil : alignment)
        XCTAssertEqual(file.tensors.map(\.name), writer.tensors.map(\.name))

        for (written, read) in zip(writer.tensors, file.tensors) {
            let context = "\(read.name) @\(alignment)"
            XCTAssertEqual(read.dimensions, written.dimensions, context)
            XCTAssertEqual(read.type, written.type, context)
            XCTAssertEqual(read.fileOffset % alignment, 0, context)
            XCTAssertEqual(read.byteCount, written.bytes.count, context)
            let stored = file.data(of: read)
            XCTAssertEqual(Array(stored), written.bytes, context)

            let input = try XCTUnwrap(inputs[read.name])
            let decoded = TensorEncoding.decode(stored, type: read.type, count: read.elementCount)
            XCTAssertEqual(decoded.count, input.count, context)
            for (i, (got, want)) in zip(decoded, input).enumerated() {
                let tolerance: Float
                switch read.type {
                case .f32: tolerance = 0
                case .f16: tolerance = max(abs(want) * 0x1p-11, 0x1p-25)  // half an ulp, subnormals included
                case .bf16: tolerance = abs(want) * 0x1p-8
                default:
                    // Q8_0: within half a quantization step of the block's stored scale.
                    let block = stored.baseAddress! + i / 32 * 34
                    let scale = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                    tolerance = scale / 2 * (1 + 0x1p-20)
                }
                XCTAssertLessThanOrEqual(abs(got - want), tolerance, "\(context)[\(i)]: \(got) vs \(want)")
            }
        }
        // Tensors sit back to back, each padded to the alignment, so none overlaps the next.
        for (a, b) in zip(file.tensors, file.tensors.dropFirst()) {
            XCTAssertLessThanOrEqual(a.fileOffset + a.byteCount, b.fileOffset)
        }
    }

    /// Metadata copied from a file carries its `general.alignment`; the writer pads by its own
    /// `alignment`, so the two must agree in what is written or the result cannot be read.
    func testAlignmentKeyInMetadataAgreesWithPadding() throws {
        for (property, inMetadata) in [(32, 64), (64, 32), (128, 128)] {
            var writer = GGUFWriter()
            writer.set("general.alignment", uint32: inMetadata)
            writer.alignment = property
            writer.addTensor("a", dimensions: [3], values: [1, 2, 3])
            writer.addTensor("b", dimensions: [5], type: .f16, values: [1, 2, 3, 4, 5])
            let file = try roundTrip(writer, "align-\(property)-\(inMetadata).gguf")
            XCTAssertEqual(file.alignment, property)
            XCTAssertEqual(file.metadataKeys.filter { $0 == "general.alignment" }.count, 1)
            for t in file.tensors { XCTAssertEqual(t.fileOffset % property, 0) }
            XCTAssertEqual(TensorEncoding.decode(file.data(of: file.tensors[1]), type: .f16, count: 5), [1, 2, 3, 4, 5])
        }
    }

    // MARK: typed access

    func testRequiredKeysNameTheKey() throws {
        var writer = GGUFWriter()
        writer.set("an.int", uint32: 7)
        writer.set("a.string", "text")
        writer.set("a.float", float: 1.5)
        writer.set("big", .uint64(.max))
        let file = try roundTrip(writer)

        XCTAssertEqual(try file.requiredInt("an.int"), 7)
        XCTAssertEqual(try file.requiredString("a.string"), "text")
        XCTAssertEqual(try file.double("a.float"), 1.5)

        let cases: [(String, () throws -> Any, String)] = [
            ("missingKey", { try file.requiredInt("no.such.int") }, "no.such.int"),
            ("missingKey", { try file.requiredString("no.such.string") }, "no.such.string"),
            ("wrongKeyType", { try file.requiredInt("a.string") }, "a.string"),
            ("wrongKeyType", { try file.requiredInt("a.float") }, "a.float"),
            ("wrongKeyType", { try file.requiredInt("big") }, "big"),  // does not fit in Int
            ("wrongKeyType", { try file.requiredString("an.int") }, "an.int"),
            ("wrongKeyType", { try file.stringArray("a.string") as Any }, "a.string"),
        ]
        for (expected, call, key) in cases {
            do {
                _ = try call()
                XCTFail("\(key): no error")
            } catch let error as GGUFError {
                XCTAssertEqual(error.caseName, expected, "\(error)")
                switch error {
                case let .missingKey(path, named), let .wrongKeyType(path, named, _):
                    XCTAssertEqual(named, key)
                    XCTAssertEqual(path, file.path)
                default:
                    break  // already reported by the case-name check
                }
                XCTAssertTrue(error.description.contains("'\(key)'"), "\(error)")
                XCTAssertTrue(error.description.contains(file.path), "\(error)")
            }
        }
    }
}
