import Foundation
import SeedEngine
import SeedModel
import XCTest

/// Not a unit test: `ModelBenchmark` on random-weight models of real shapes, run only when asked,
/// one model per process so that the peak resident memory is that model's:
///
///     SEEDFLOW_BENCH=0.5B-Q8_0 swift test -c release -Xswiftc -enable-testing --filter RandomModelBenchmarkTests
///
/// Shapes: 0.5B, 1.1B; types: any computable one (F16, Q8_0, Q4_K, …).
final class RandomModelBenchmarkTests: XCTestCase {
    func testBenchmarkRandomModel() throws {
        guard let choice = ProcessInfo.processInfo.environment["SEEDFLOW_BENCH"] else {
            throw XCTSkip("set SEEDFLOW_BENCH=<shape>-<type> to run")
        }
        let parts = choice.split(separator: "-", maxSplits: 1).map(String.init)
        let type = try XCTUnwrap(GGMLType.all.first { $0.name == parts.last }, "unknown type in \(choice)")
        let spec = parts.first == "1.1B" ? RandomModel.shape1_1B(type) : RandomModel.shape0_5B(type)
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fileBytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        // Forget the writer's transient peak: what counts is running the model.
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let model = try TransformerModel(path: path, threads: 2)
        let result = try ModelBenchmark.run(model: model, repetitions: 5)
        let peak = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("VmHWM") } ?? "VmHWM ?"
        print(String(format: "bench %@: file %.0f MiB, pp128 %.1f t/s (samples %@), tg128 %.2f t/s (samples %@), %@",
                     choice, Double(fileBytes) / 1_048_576, result.prefillTokensPerSecond,
                     result.prefillSamples.map { String(format: "%.1f", $0) }.joined(separator: " "),
                     result.decodeTokensPerSecond,
                     result.decodeSamples.map { String(format: "%.2f", $0) }.joined(separator: " "),
                     String(peak).replacingOccurrences(of: "\t", with: " ")))
    }
}
