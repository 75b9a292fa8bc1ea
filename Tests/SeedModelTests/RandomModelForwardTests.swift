import Foundation
import XCTest
@testable import SeedModel
import CKernels

/// Random-weight models of every supported architecture and tensor type, run by the fast path
/// and by a slow reference forward written here (plain loops in Double over weights decoded by
/// the reference decoders of `QuantizedFormatTests`). Two comparisons per model:
/// - fast path vs the reference on the same (quantized) weights: the implementation, tight;
/// - fast path vs the reference on the F32 model drawn from the same seed: the quantization
///   error, logged per type (max error, top-1 agreement).
final class RandomModelForwardTests: XCTestCase {
    /// Small, but every row a whole number of K-quant super-blocks; two KV heads share four heads.
    private func model(_ arch: String, _ type: GGMLType) -> RandomModel {
        var m = RandomModel(architecture: arch, embeddingLength: 256, blockCount: 2, headCount: 4, headCountKV: 2,
                            feedForwardLength: 512, weightType: type)
        m.contextLength = 64
        m.seed = 7
        return m
    }

    private static let prompt = [1, 270, 5, 281, 260, 77, 290, 3, 297, 259, 120, 265]

    /// Rows that are not whole K-quant super-blocks (the 0.5B shape's 896) are stored as
    /// llama.cpp's quantizer stores them, and the note says so; whole ones keep their type.
    func testKQuantRowsThatAreNotWholeBlocksFallBackAsLlamaCppDoes() {
        let expected: [(GGMLType, GGMLType)] = [(.q4_K, .q5_0), (.q5_K, .q5_1), (.q6_K, .q8_0), (.q8_0, .q8_0), (.q4_0, .q4_0),
                                                (.q2_K, .q4_0), (.q3_K, .q4_0), (.iq4_xs, .iq4_nl), (.iq4_nl, .iq4_nl),
                                                (.q4_1, .q4_1)]
        for (type, fallback) in expected {
            let m = RandomModel(embeddingLength: 896, blockCount: 1, headCount: 14, headCountKV: 2,
                                feedForwardLength: 4864, weightType: type)
            XCTAssertEqual(m.storedType(cols: 896), fallback, type.name)
            XCTAssertEqual(m.storedType(cols: 1024), type, type.name)
            XCTAssertEqual(m.fallbackNote().isEmpty, fallback == type, type.name)
        }
        XCTAssertEqual(RandomModel(embeddingLength: 100, blockCount: 1, headCount: 4, headCountKV: 2,
                                   feedForwardLength: 100, weightType: .q4_K).storedType(cols: 100), .f16,
                       "no block type fits 100: f16")
    }

    // MARK: reference forward

    private final class Reference {
        let config: ModelConfig
        let file: GGUFFile
        private var decoded: [String: [Double]] = [:]

        init(config: ModelConfig, file: GGUFFile) {
            self.config = config
            self.file = file
        }

        func tensor(_ name: String) -> [Double]? {
            if let t = decoded[name] { return t }
            guard let t = file.tensor(named: name) else { return nil }
            let bytes = Array(file.data(of: t))
            let values = t.type.isQuantized
                ? QuantizedFormatTests.referenceDecode(t.type, bytes).map { $0.0 - $0.1 }
                : bytes.withUnsafeBytes { TensorEncoding.decode($0, type: t.type, count: t.elementCount) }.map(Double.init)
            decoded[name] = values
            return values
        }

        /// y = W x for W stored rows × cols.
        func apply(_ w: [Double], _ x: [Double]) -> [Double] {
            let cols = x.count
            return (0..<w.count / cols).map { r in (0..<cols).reduce(0.0) { $0 + w[r * cols + $1] * x[$1] } }
        }

        func rmsNorm(_ x: [Double], _ g: [Double]) -> [Double] {
            let s = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + Double(config.rmsEpsilon)).squareRoot()
            return zip(x, g).map { $0 * s * $1 }
        }

        /// `magnitude`: LongRoPE's factor of the rotated values (1 elsewhere).
        func rope(_ v: inout [Double], heads: Int, position: Int, factors: [Double]?, base: Double, magnitude: Double) {
            let hd = config.headDim, d = config.ropeDimensions
            for h in 0..<heads {
                for i in 0..<d / 2 {
                    var theta = Double(position) * pow(base, -Double(2 * i) / Double(d))
                    if let factors { theta /= factors[i] }
                    let (a, b) = config.ropeStyle == .adjacentPairs ? (h * hd + 2 * i, h * hd + 2 * i + 1)
                                                                    : (h * hd + i, h * hd + i + d / 2)
                    let x = v[a], y = v[b]
                    v[a] = magnitude * (x * cos(theta) - y * sin(theta))
                    v[b] = magnitude * (x * sin(theta) + y * cos(theta))
                }
            }
        }

        /// RMS norm of each head of `v` with the shared per-head weight `g`.
        func headNorm(_ v: [Double], _ g: [Double]?) -> [Double] {
            guard let g else { return v }
            let hd = g.count
            return (0..<v.count / hd).flatMap { h in rmsNorm(Array(v[h * hd..<(h + 1) * hd]), g) }
        }

        func softcap(_ x: Double, _ cap: Float?) -> Double {
            guard let cap else { return x }
            return Double(cap) * tanh(x / Double(cap))
        }

        /// Logits after every token of `tokens`, as the architectures' definitions say (the
        /// layer recipe read from the architecture name, written out here independently).
        func logits(_ tokens: [Int]) -> [[Double]] {
            let c = config, dim = c.embeddingLength, hd = c.headDim
            let gemma = c.architecture.hasPrefix("gemma")
            let embedding = tensor("token_embd.weight")!
            // LongRoPE (phi3): the long table when the file's context exceeds the original one,
            // read from the file's keys here, not from the config.
            let arch = c.architecture
            let original = (try? file.int("\(arch).rope.scaling.original_context_length")).flatMap { $0 }
            let trained = (try? file.int("\(arch).context_length")).flatMap { $0 } ?? 0
            let longShort = trained > (original ?? trained) ? "rope_factors_long.weight" : "rope_factors_short.weight"
            let factors = tensor("rope_freqs.weight") ?? tensor(longShort)
            let magnitude = (try? file.double("\(arch).rope.scaling.attn_factor")).flatMap { $0 } ?? 1
            var xs = tokens.map { Array(embedding[$0 * dim..<($0 + 1) * dim]) }
            if gemma { xs = xs.map { $0.map { $0 * Double(dim).squareRoot() } } }
            for layer in 0..<c.blockCount {
                func w(_ name: String) -> [Double]? { tensor("blk.\(layer).\(name)") }
                let window = c.slides(layer: layer) ? c.slidingWindow! : Int.max
                let base = Double(c.slides(layer: layer) ? c.ropeBaseSliding : c.ropeBase)
                var keys: [[Double]] = [], values: [[Double]] = []
                var attended: [[Double]] = []
                for (position, x) in xs.enumerated() {
                    let xn = rmsNorm(x, w("attn_norm.weight")!)
                    var q: [Double], k: [Double], v: [Double]
                    if let fused = w("attn_qkv.weight") {
                        // phi3: Q's rows, then K's, then V's, in one matrix.
                        let qkv = apply(fused, xn)
                        q = Array(qkv[0..<c.queryDim])
                        k = Array(qkv[c.queryDim..<c.queryDim + c.kvDim])
                        v = Array(qkv[(c.queryDim + c.kvDim)...])
                    } else {
                        q = apply(w("attn_q.weight")!, xn)
                        k = apply(w("attn_k.weight")!, xn)
                        v = apply(w("attn_v.weight")!, xn)
                    }
                    if let b = w("attn_q.bias") { q = zip(q, b).map(+) }
                    if let b = w("attn_k.bias") { k = zip(k, b).map(+) }
                    if let b = w("attn_v.bias") { v = zip(v, b).map(+) }
                    q = headNorm(q, w("attn_q_norm.weight"))
                    k = headNorm(k, w("attn_k_norm.weight"))
                    rope(&q, heads: c.headCount, position: position, factors: factors, base: base, magnitude: magnitude)
                    rope(&k, heads: c.headCountKV, position: position, factors: factors, base: base, magnitude: magnitude)
                    keys.append(k)
                    values.append(v)
                    var out = [Double](repeating: 0, count: c.queryDim)
                    for h in 0..<c.headCount {
                        let kv = h / (c.headCount / c.headCountKV)
                        let scores = keys.enumerated().map { j, key in
                            position - j >= window ? -Double.infinity
                                : softcap((0..<hd).reduce(0.0) { $0 + q[h * hd + $1] * key[kv * hd + $1] } * Double(c.attentionScale),
                                          c.attentionSoftcap)
                        }
                        let top = scores.max()!
                        let e = scores.map { exp($0 - top) }
                        let sum = e.reduce(0, +)
                        for (j, p) in e.enumerated() {
                            for i in 0..<hd { out[h * hd + i] += p / sum * values[j][kv * hd + i] }
                        }
                    }
                    attended.append(out)
                }
                for i in xs.indices {
                    var attentionOut = apply(w("attn_output.weight")!, attended[i])
                    if let g = w("post_attention_norm.weight") { attentionOut = rmsNorm(attentionOut, g) }
                    xs[i] = zip(xs[i], attentionOut).map(+)
                    let xn = rmsNorm(xs[i], w("ffn_norm.weight")!)
                    var g: [Double], u: [Double]
                    if let gate = w("ffn_gate.weight") {
                        g = apply(gate, xn)
                        u = apply(w("ffn_up.weight")!, xn)
                    } else {
                        // phi3: ffn_up holds the gate's rows, then the up projection's.
                        let both = apply(w("ffn_up.weight")!, xn)
                        g = Array(both[0..<both.count / 2])
                        u = Array(both[(both.count / 2)...])
                    }
                    let hidden = gemma
                        ? zip(g, u).map { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) * $1 }
                        : zip(g, u).map { $0 / (1 + exp(-$0)) * $1 }
                    var ffnOut = apply(w("ffn_down.weight")!, hidden)
                    if let g = w("post_ffw_norm.weight") { ffnOut = rmsNorm(ffnOut, g) }
                    xs[i] = zip(xs[i], ffnOut).map(+)
                }
            }
            let output = tensor("output.weight") ?? embedding
            return xs.map { apply(output, rmsNorm($0, tensor("output_norm.weight")!)).map { softcap($0, c.finalLogitSoftcap) } }
        }
    }

    // MARK: fast path

    /// Logits of the prompt in one batch (the many-row path) and again one token at a time
    /// (the one-row path).
    private func fastLogits(_ model: TransformerModel) throws -> (batch: [[Float]], stepwise: [[Float]]) {
        let n = Self.prompt.count
        let cache = ContiguousKVCache(config: model.config)
        let batch = try withExtendedLifetime(cache) {
            let all = try model.forward([ForwardInput(tokens: Self.prompt, startPosition: 0, cache: cache.blockTable, logits: .all)])
            return (0..<n).map { Array(all[$0]) }
        }
        let stepCache = ContiguousKVCache(config: model.config)
        var stepwise: [[Float]] = []
        for (position, token) in Self.prompt.enumerated() {
            let logits = try model.forward([ForwardInput(tokens: [token], startPosition: position,
                                                         cache: stepCache.blockTable, logits: .last)])
            stepwise.append(Array(logits[0]))
        }
        withExtendedLifetime(stepCache) {}
        return (batch, stepwise)
    }

    private func argmax<T: Comparable>(_ v: [T]) -> Int { v.indices.max { v[$0] < v[$1] }! }

    private func compare(_ got: [[Float]], _ want: [[Double]]) -> (maxError: Double, scale: Double, top1: Int) {
        var maxError = 0.0, scale = 0.0, top1 = 0
        for (g, w) in zip(got, want) {
            for (a, b) in zip(g, w) { maxError = max(maxError, abs(Double(a) - b)) }
            scale = max(scale, w.map(abs).max()!)
            if argmax(g) == argmax(w) { top1 += 1 }
        }
        return (maxError, scale, top1)
    }

    private func check(_ spec: RandomModel, against f32Reference: [[Double]]?, label: String) throws -> [[Double]] {
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try TransformerModel(path: path, threads: 2)
        let reference = Reference(config: model.config, file: model.file).logits(Self.prompt)
        let (batch, stepwise) = try fastLogits(model)
        // Products of quantized weights round the input to 8 bits (as llama.cpp does) in every
        // vector body, for one row and for many: a few percent of the logits' range, and
        // near-ties of a random model may flip. The portable body is exact.
        let roundsInput = spec.weightType.isQuantized && String(cString: sf_kernel_isa()) != "portable"
        if roundsInput {
            // The same arithmetic for the batch as for one row at a time: only the order of
            // single-precision sums (attention, norms) may differ.
            let d = compare(batch, stepwise.map { $0.map(Double.init) })
            XCTAssertLessThan(d.maxError, 1e-4 * d.scale, "\(label): batch and one-row logits differ by \(d.maxError)")
        }
        for (name, got) in [("batch", batch), ("one-row", stepwise)] {
            let r = compare(got, reference)
            let loose = roundsInput
            XCTAssertLessThan(r.maxError, (loose ? 0.04 : 1e-3) * r.scale, "\(label) \(name): max error \(r.maxError) of logits up to \(r.scale)")
            XCTAssertGreaterThanOrEqual(r.top1, Self.prompt.count - (loose ? 2 : 0), "\(label) \(name): top-1 differs from the reference")
            if loose {
                print("input rounding \(label): \(name) vs reference on the same weights, max |Δlogit| \(String(format: "%.4f", r.maxError)), top-1 \(r.top1)/\(Self.prompt.count)")
            }
        }
        if roundsInput {
            // The loose bound above would hide an error of a few percent in the quantized
            // formats' decoding or products. The portable body does not round the input, so the
            // same model run on it must meet the tight bound. The kernels are chosen at run time:
            // force the portable body, reload (weights are prepared for the body at load), and
            // restore the detected body whatever happens.
            XCTAssertEqual(sf_kernel_force_isa("portable"), 1)
            defer { sf_kernel_force_isa(nil) }
            let portableModel = try TransformerModel(path: path, threads: 2)
            let (portableBatch, portableStepwise) = try fastLogits(portableModel)
            for (name, got) in [("batch", portableBatch), ("one-row", portableStepwise)] {
                let r = compare(got, reference)
                XCTAssertLessThan(r.maxError, 1e-3 * r.scale,
                                  "\(label) \(name), portable kernels: max error \(r.maxError) of logits up to \(r.scale)")
                XCTAssertEqual(r.top1, Self.prompt.count, "\(label) \(name), portable kernels: top-1 differs from the reference")
            }
        }
        if let f32Reference {
            let b = compare(batch, f32Reference), s = compare(stepwise, f32Reference)
            print("quantization \(label): vs F32 reference, max |Δlogit| \(String(format: "%.4f", max(b.maxError, s.maxError))) "
                  + "(logits up to \(String(format: "%.2f", b.scale))), top-1 agreement batch \(b.top1)/\(Self.prompt.count), "
                  + "one-row \(s.top1)/\(Self.prompt.count)")
        }
        return reference
    }

    func testEveryTypeMatchesTheReference() throws {
        let f32 = try check(model("llama", .f32), against: nil, label: "llama F32")
        for type in [GGMLType.f16, .bf16] + QuantizedFormatTests.types {
            _ = try check(model("llama", type), against: f32, label: "llama \(type)")
        }
    }

    func testQwen3QueryKeyNorms() throws {
        let f32 = try check(model("qwen3", .f32), against: nil, label: "qwen3 F32")
        _ = try check(model("qwen3", .q8_0), against: f32, label: "qwen3 Q8_0")
    }

    /// Gemma 3's recipe with a window of 4 over the 12-token prompt: five sliding layers to one
    /// global one, the sliding ones with their own RoPE base, tied output.
    func testGemma3SlidingWindowsAndNorms() throws {
        func gemma(_ type: GGMLType) -> RandomModel {
            var m = model("gemma3", type)
            m.blockCount = 7
            m.tiedOutput = true
            m.ropeBase = 1_000_000
            m.slidingWindow = 4
            return m
        }
        let f32 = try check(gemma(.f32), against: nil, label: "gemma3 F32")
        _ = try check(gemma(.q4_K), against: f32, label: "gemma3 Q4_K")
        _ = try check(gemma(.f16), against: f32, label: "gemma3 F16")
    }

    /// Gemma 2: alternating windows (of 5 here), soft-capped scores and logits.
    func testGemma2SoftcapsAndAlternatingWindows() throws {
        var m = model("gemma2", .f32)
        m.blockCount = 3
        m.tiedOutput = true
        m.slidingWindow = 5
        _ = try check(m, against: nil, label: "gemma2 F32")
        m.weightType = .q8_0
        _ = try check(m, against: nil, label: "gemma2 Q8_0")
    }

    /// A model whose every layer slides (window 4), run one token at a time over a paged table
    /// of 2-token blocks: the blocks wholly before the window are poisoned with NaN after each
    /// step, and the logits still equal those of the contiguous cache — attention never reads
    /// them, so a pool may free them.
    func testSlidingLayersNeverReadBlocksBeforeTheirWindow() throws {
        var spec = model("gemma3", .f32)
        spec.tiedOutput = true
        spec.slidingWindow = 4
        spec.slidingWindowPeriod = 0
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try TransformerModel(path: path, threads: 2)
        XCTAssertEqual(model.config.slidingLayers, [true, true])
        let (_, contiguous) = try fastLogits(model)

        let blockTokens = 2, blocks = (Self.prompt.count + 1) / blockTokens
        let layout = KVLayout(config: model.config, blockTokens: blockTokens)
        let memory = UnsafeMutablePointer<Float>.allocate(capacity: blocks * layout.blockFloats)
        let table = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: blocks * layout.layers)
        defer { memory.deallocate(); table.deallocate() }
        for p in 0..<blocks * layout.layers { table[p] = memory + p * layout.pageFloats }
        let owner = NSObject()
        let cache = KVBlockTable(pages: table, layout: layout, blockCount: blocks, owner: owner)
        for (position, token) in Self.prompt.enumerated() {
            let logits = try model.forward([ForwardInput(tokens: [token], startPosition: position, cache: cache, logits: .last)])
            let got = Array(logits[0])
            XCTAssertEqual(got, contiguous[position], "position \(position)")
            // The next position sees keys from position + 2 − 4 on.
            let dead = max(0, position + 2 - 4) / blockTokens
            for b in 0..<dead { table[b * layout.layers].update(repeating: .nan, count: layout.blockFloats) }
        }
    }

    func testQwen2BiasesAndRopeHalves() throws {
        let f32 = try check(model("qwen2", .f32), against: nil, label: "qwen2 F32")
        _ = try check(model("qwen2", .q4_K), against: f32, label: "qwen2 Q4_K")
    }

    /// A tied f16 output: products read its panels while the embedding is looked up from the
    /// mapping, whose pages the packing released.
    func testTiedF16OutputMatchesTheReference() throws {
        var spec = model("llama", .f16)
        spec.tiedOutput = true
        _ = try check(spec, against: nil, label: "llama F16 tied")
    }

    /// phi3: fused Q/K/V and gate/up tensors, LongRoPE. The file's context (64) exceeds an
    /// original context of 32, so the long factors apply; with an original context of 64 the
    /// short ones do. Both with LongRoPE's magnitude factor.
    func testPhi3FusedTensorsAndLongRopeFactors() throws {
        var spec = model("phi3", .f32)
        spec.ropeLongShortFactors = (long: (0..<32).map { 1 + Float($0 % 7) * 0.75 }, short: (0..<32).map { 1 + Float($0 % 3) * 0.1 })
        spec.ropeAttentionFactor = 1.19
        spec.ropeOriginalContext = 32
        let long = try check(spec, against: nil, label: "phi3 long F32")
        _ = try check({ var m = spec; m.weightType = .q4_K; return m }(), against: long, label: "phi3 long Q4_K")
        spec.ropeOriginalContext = 64
        let short = try check(spec, against: nil, label: "phi3 short F32")
        _ = try check({ var m = spec; m.weightType = .f16; return m }(), against: short, label: "phi3 short F16")
        // The two tables give different logits: the choice is seen, not only made.
        XCTAssertGreaterThan(compare(long.map { $0.map(Float.init) }, short).maxError, 1e-2)

        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ModelConfig(file: GGUFFile(path: path))
        XCTAssertFalse(config.usesLongRopeFactors)
        XCTAssertEqual(config.ropeAttentionFactor, 1.19)
        XCTAssertEqual(config.ropeOriginalContext, 64)
    }

    /// Phi-3's `sliding_window` key is ignored, as llama.cpp ignores it: full attention.
    func testPhi3SlidingWindowKeyIsIgnored() throws {
        var writer = model("phi3", .f32).writer()
        writer.set("phi3.attention.sliding_window", uint32: 4)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("phi3-sliding-\(UUID()).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try TransformerModel(path: path, threads: 1)
        XCTAssertNil(model.config.slidingWindow)
        let reference = Reference(config: model.config, file: model.file).logits(Self.prompt)
        let r = compare(try fastLogits(model).batch, reference)
        XCTAssertLessThan(r.maxError, 1e-3 * r.scale)
    }

    /// A phi3 file whose fused tensors do not have the rows its metadata implies, or that has a
    /// fused Q/K/V bias, is refused with the tensor's name.
    func testPhi3FusedTensorsOfTheWrongShapeAreRefused() throws {
        let writer = model("phi3", .f32).writer()
        func refused(_ change: ([GGUFWriter.Tensor]) -> [GGUFWriter.Tensor], _ expected: String) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("phi3-bad-\(UUID()).gguf").path
            try rebuilt(writer, change(writer.tensors)).write(to: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            XCTAssertThrowsError(try TransformerModel(path: path, threads: 1)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        // ffn_up with only the up rows (a gate/up split file under the phi3 name).
        try refused({ tensors in
            tensors.map { t in
                guard t.name == "blk.0.ffn_up.weight" else { return t }
                return GGUFWriter.Tensor(name: t.name, dimensions: [256, 512], type: t.type, bytes: Array(t.bytes.prefix(256 * 512 * 4)))
            }
        }, "tensor 'blk.0.ffn_up.weight' has shape [256, 512], expected [256, 1024]")
        try refused({ tensors in
            tensors + [GGUFWriter.Tensor(name: "blk.1.attn_qkv.bias", dimensions: [512], type: .f32,
                                         bytes: [UInt8](repeating: 0, count: 512 * 4))]
        }, "'blk.1.attn_qkv.bias' (a fused Q/K/V bias) is not supported")
    }

    func testLlama3RopeFactorsAndTiedOutput() throws {
        var spec = model("llama", .q8_0)
        spec.tiedOutput = true
        spec.ropeBase = 500_000
        spec.ropeFrequencyFactors = (0..<32).map { 1 + Float($0 % 5) }
        _ = try check(spec, against: nil, label: "llama3-style Q8_0")
    }

    func testUnsupportedArchitectureAndTypeAreRefusedWithTheSupportedList() throws {
        var spec = model("gpt2", .f16)
        spec.seed = 3
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try TransformerModel(path: path)) { error in
            XCTAssertTrue("\(error)".contains("llama, qwen2, qwen3, gemma2, gemma3, phi3"), "\(error)")
        }
        var writer = model("llama", .f16).writer()
        let i = writer.tensors.firstIndex { $0.name == "blk.0.attn_q.weight" }!
        let q = writer.tensors[i]
        var tensors = writer.tensors
        let unsupported = try XCTUnwrap(GGMLType.lookup(16))  // IQ2_XXS
        tensors[i] = GGUFWriter.Tensor(name: q.name, dimensions: q.dimensions, type: unsupported,
                                       bytes: [UInt8](repeating: 0, count: unsupported.byteCount(elements: 256 * 256)))
        writer = rebuilt(writer, tensors)
        let path2 = path + ".iq2xxs"
        try writer.write(to: path2)
        defer { try? FileManager.default.removeItem(atPath: path2) }
        XCTAssertThrowsError(try TransformerModel(path: path2)) { error in
            XCTAssertTrue("\(error)".contains("IQ2_XXS") && "\(error)".contains("Q4_K") && "\(error)".contains("IQ4_XS"), "\(error)")
        }
    }

    /// A llama file with a `sliding_window` key (Mistral) keeps its whole context and attends
    /// over all of it, as llama.cpp runs such files.
    func testLlamaSlidingWindowKeyKeepsTheFullContext() throws {
        var writer = model("llama", .f16).writer()
        writer.set("llama.attention.sliding_window", uint32: 8)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sliding-\(UUID()).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try TransformerModel(path: path, threads: 1)
        XCTAssertEqual(model.config.contextLength, 64)
        XCTAssertNil(model.config.slidingWindow)
        let reference = Reference(config: model.config, file: model.file).logits(Self.prompt)
        let (batch, _) = try fastLogits(model)
        let r = compare(batch, reference)
        XCTAssertLessThan(r.maxError, 1e-3 * r.scale)
    }

    /// Unknown architectures name the nearest supported one.
    func testUnknownArchitectureNamesTheNearest() throws {
        let spec = model("gemma4", .f16)
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try TransformerModel(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("architecture 'gemma4' is not supported") && text.contains("nearest supported name is 'gemma"), text)
        }
    }

    private func rebuilt(_ writer: GGUFWriter, _ tensors: [GGUFWriter.Tensor]) -> GGUFWriter {
        var out = GGUFWriter()
        for (key, value) in writer.metadata { out.set(key, value) }
        for t in tensors { out.addTensor(t.name, dimensions: t.dimensions, type: t.type, bytes: t.bytes) }
        return out
    }

    /// A quantized product gives each input row the same result whatever the number of rows in
    /// the product: one row, a few, more than the integer kernel's 8 a sweep, and more than the
    /// rows rounded at a time (`LinearKernels.preparedRowLimit`, so the product runs in slices).
    func testQuantizedProductsDoNotDependOnTheirRowCount() throws {
        for type in [GGMLType.q8_0, .q4_K, .q4_1, .q2_K, .q3_K, .iq4_nl, .iq4_xs] {
            let path = try model("llama", type).writeTemporary()
            defer { try? FileManager.default.removeItem(atPath: path) }
            let file = try GGUFFile(path: path)
            let config = try ModelConfig(file: file)
            let weights = try ModelWeights(file: file, config: config, pool: ThreadPool(threads: 2))
            defer { weights.deallocate() }
            // More rows than one rounding slice: rows on both sides of the slice boundary.
            let t = LinearKernels.preparedRowLimit + 45
            assertRowCountIndependence(weights.layers[0].gate, rows: t, alone: [0, 7, 200, 255, 256, 290, t - 1],
                                       label: "\(type)")
        }
    }

    /// Multiplies `t` random rows at once, 11 of them (rows 280..<291) at once and the rows of
    /// `alone` one at a time, and checks that each row's outputs are the same bits every way.
    private func assertRowCountIndependence(_ w: WeightMatrix, rows t: Int, alone: [Int], label: String,
                                            file: StaticString = #filePath, line: UInt = #line) {
        let kernels = LinearKernels(pool: ThreadPool(threads: 2), weightBytes: 0)
        var rng = SystemRandomNumberGenerator()
        let x = (0..<t * w.cols).map { _ in Float.random(in: -1...1, using: &rng) }
        var all = [Float](repeating: .nan, count: t * w.rows)
        var few = [Float](repeating: .nan, count: 11 * w.rows)
        var one = [Float](repeating: .nan, count: w.rows)
        kernels.multiply(w, x, rows: t, into: &all)
        // The outputs start as NaN, whose bits compare equal: a product that left rows unwritten
        // in both runs would pass the bit comparisons below. Every output must have been written.
        XCTAssertFalse(all.contains { $0.isNaN }, "\(label): \(t)-row product left outputs unwritten (NaN)", file: file, line: line)
        func bits(_ rows: Range<Int>) -> [UInt32] { all[(rows.lowerBound * w.rows)..<(rows.upperBound * w.rows)].map(\.bitPattern) }
        x.withUnsafeBufferPointer { xp in
            kernels.multiply(w, xp.baseAddress! + 280 * w.cols, rows: 11, into: &few)
            for row in alone {
                one = [Float](repeating: .nan, count: w.rows)  // fresh for each row: no leftover from the previous one
                kernels.multiply(w, xp.baseAddress! + row * w.cols, rows: 1, into: &one)
                XCTAssertFalse(one.contains { $0.isNaN }, "\(label): row \(row) alone left outputs unwritten (NaN)", file: file, line: line)
                XCTAssertEqual(bits(row..<(row + 1)), one.map(\.bitPattern),
                               "\(label) \(w.rows)×\(w.cols): row \(row) of \(t) vs alone", file: file, line: line)
            }
        }
        XCTAssertFalse(few.contains { $0.isNaN }, "\(label): 11-row product left outputs unwritten (NaN)", file: file, line: line)
        XCTAssertEqual(bits(280..<291), few.map(\.bitPattern),
                       "\(label) \(w.rows)×\(w.cols): rows 280..<291 of \(t) vs 11 at once", file: file, line: line)
    }

    /// f16 matrices that are multiplied get panels where the processor runs them (the embedding,
    /// only looked up, never does; a tied output matrix gets its own), and a row's product is
    /// bit-identical alone, in a verification-sized batch and in a prefill-sized one.
    func testF16ProductsTakePanelsAndDoNotDependOnTheirRowCount() throws {
        var spec = model("llama", .f16)
        spec.tiedOutput = true
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        let weights = try ModelWeights(file: file, config: try ModelConfig(file: file), pool: ThreadPool(threads: 2))
        defer { weights.deallocate() }
        let panels = sf_f16_panels_preferred() != 0
        XCTAssertNil(weights.tokenEmbedding.panels)
        XCTAssertEqual(weights.output.panels != nil, panels)
        for w in [weights.layers[0].query, weights.layers[0].key, weights.layers[0].gate, weights.layers[0].down] {
            XCTAssertEqual(w.panels != nil, panels)
        }
        let packed = weights.layers.reduce(weights.output.panelBytes) { sum, l in
            sum + [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down].reduce(0) { $0 + $1.panelBytes }
        }
        XCTAssertEqual(packed, file.f16PanelBytes, "what inspect reports")
        XCTAssertEqual(packed > 0, panels)
        for w in [weights.layers[0].gate, weights.layers[0].down, weights.output] {
            XCTAssertEqual(LinearKernels.smallBatchLimit(w), panels ? 1024 : 128)
            assertRowCountIndependence(w, rows: 300, alone: [0, 7, 200, 285, 299], label: "f16")
        }
        // Beyond the limit the rows are widened for sgemm, from the panels (the mapped pages
        // were released): other arithmetic, so close to the panel product, not the same bits.
        let w = weights.layers[0].down
        let kernels = LinearKernels(pool: ThreadPool(threads: 2), weightBytes: 0)
        let t = LinearKernels.smallBatchLimit(w) + 20
        var rng = SystemRandomNumberGenerator()
        let x = (0..<t * w.cols).map { _ in Float.random(in: -1...1, using: &rng) }
        var all = [Float](repeating: .nan, count: t * w.rows)
        var few = [Float](repeating: .nan, count: 11 * w.rows)
        kernels.multiply(w, x, rows: t, into: &all)
        x.withUnsafeBufferPointer { kernels.multiply(w, $0.baseAddress! + (t - 11) * w.cols, rows: 11, into: &few) }
        let widened = all[((t - 11) * w.rows)...]
        // `max()` skips NaN (every comparison with it is false), so a NaN difference, from an
        // output either product left unwritten (they start as NaN) or computed as NaN, must
        // fail on its own.
        XCTAssertEqual(widened.count, few.count)
        XCTAssertFalse(all.contains { $0.isNaN } || few.contains { $0.isNaN }, "outputs left unwritten (NaN) or computed as NaN")
        let differences = zip(widened, few).map { abs($0 - $1) }
        XCTAssertFalse(differences.contains { $0.isNaN }, "a difference is NaN")
        let worst = differences.max() ?? .nan
        let scale = few.map(abs).max() ?? 0
        XCTAssertLessThan(worst, 1e-4 * max(scale, 1), "\(t) rows widened against 11 rows from the panels: max difference \(worst)")
    }
}
