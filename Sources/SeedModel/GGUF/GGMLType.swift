/// A ggml tensor element type as stored in GGUF. The table covers every type id the format
/// defines so that an unsupported one is refused by name; `isComputable` says which ones the
/// kernels handle.
public struct GGMLType: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt32
    public let name: String
    /// Elements per block and bytes per block.
    public let blockSize: Int
    public let blockBytes: Int

    public static let f32 = GGMLType(id: 0, name: "F32", blockSize: 1, blockBytes: 4)
    public static let f16 = GGMLType(id: 1, name: "F16", blockSize: 1, blockBytes: 2)
    public static let q4_0 = GGMLType(id: 2, name: "Q4_0", blockSize: 32, blockBytes: 18)
    public static let q4_1 = GGMLType(id: 3, name: "Q4_1", blockSize: 32, blockBytes: 20)
    public static let q5_0 = GGMLType(id: 6, name: "Q5_0", blockSize: 32, blockBytes: 22)
    public static let q5_1 = GGMLType(id: 7, name: "Q5_1", blockSize: 32, blockBytes: 24)
    public static let q8_0 = GGMLType(id: 8, name: "Q8_0", blockSize: 32, blockBytes: 34)
    public static let q8_1 = GGMLType(id: 9, name: "Q8_1", blockSize: 32, blockBytes: 36)
    public static let q2_K = GGMLType(id: 10, name: "Q2_K", blockSize: 256, blockBytes: 84)
    public static let q3_K = GGMLType(id: 11, name: "Q3_K", blockSize: 256, blockBytes: 110)
    public static let q4_K = GGMLType(id: 12, name: "Q4_K", blockSize: 256, blockBytes: 144)
    public static let q5_K = GGMLType(id: 13, name: "Q5_K", blockSize: 256, blockBytes: 176)
    public static let q6_K = GGMLType(id: 14, name: "Q6_K", blockSize: 256, blockBytes: 210)
    public static let q8_K = GGMLType(id: 15, name: "Q8_K", blockSize: 256, blockBytes: 292)
    public static let iq4_nl = GGMLType(id: 20, name: "IQ4_NL", blockSize: 32, blockBytes: 18)
    public static let iq4_xs = GGMLType(id: 23, name: "IQ4_XS", blockSize: 256, blockBytes: 136)
    public static let bf16 = GGMLType(id: 30, name: "BF16", blockSize: 1, blockBytes: 2)

    /// Every type id of the GGUF format, known by name and size.
    public static let all: [GGMLType] = [
        f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q2_K, q3_K, q4_K, q5_K, q6_K, q8_K,
        GGMLType(id: 16, name: "IQ2_XXS", blockSize: 256, blockBytes: 66),
        GGMLType(id: 17, name: "IQ2_XS", blockSize: 256, blockBytes: 74),
        GGMLType(id: 18, name: "IQ3_XXS", blockSize: 256, blockBytes: 98),
        GGMLType(id: 19, name: "IQ1_S", blockSize: 256, blockBytes: 50),
        iq4_nl,
        GGMLType(id: 21, name: "IQ3_S", blockSize: 256, blockBytes: 110),
        GGMLType(id: 22, name: "IQ2_S", blockSize: 256, blockBytes: 82),
        iq4_xs,
        GGMLType(id: 24, name: "I8", blockSize: 1, blockBytes: 1),
        GGMLType(id: 25, name: "I16", blockSize: 1, blockBytes: 2),
        GGMLType(id: 26, name: "I32", blockSize: 1, blockBytes: 4),
        GGMLType(id: 27, name: "I64", blockSize: 1, blockBytes: 8),
        GGMLType(id: 28, name: "F64", blockSize: 1, blockBytes: 8),
        GGMLType(id: 29, name: "IQ1_M", blockSize: 256, blockBytes: 56),
        bf16,
    ]

    /// The block-quantized types the kernels decode (the contents of common Q4_0, Q4_1, Q5_0,
    /// Q5_1, Q8_0, Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K, IQ4_NL and IQ4_XS files).
    public static let quantized: Set<GGMLType> = [q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K,
                                                  iq4_nl, iq4_xs]

    /// Types whose rows the kernels can read.
    public static let computable: Set<GGMLType> = quantized.union([f32, f16, bf16])

    public var isComputable: Bool { GGMLType.computable.contains(self) }
    public var isQuantized: Bool { GGMLType.quantized.contains(self) }

    public static func lookup(_ id: UInt32) -> GGMLType? {
        all.first { $0.id == id }
    }

    /// Bytes taken by `elements` elements (which must be a whole number of blocks).
    public func byteCount(elements: Int) -> Int { elements / blockSize * blockBytes }

    public var description: String { name }
}
