import SeedEngine
import SeedModel
import Foundation
// Temporary driver until the command line lands.
let path = CommandLine.arguments[1]
let model = try TransformerModel(path: path)
if CommandLine.arguments.count > 2 {
    let r = try BatchBenchmark.run(model: model)
    for row in r.rows { print(row.sequences, Int(row.tokensPerSecond), row.samples.map { Int($0) }) }
    print("prefix", r.prefixTokensTotal, r.prefixTokensReused, r.prefixTokensFromCache, r.prefixTokensFromForks)
} else {
    let r = try ModelBenchmark.run(model: model)
    print(String(format: "pp%d %.0f t/s   tg%d %.0f t/s", r.promptTokens, r.prefillTokensPerSecond, r.decodeTokens, r.decodeTokensPerSecond), r.prefillSamples.map { Int($0) }, r.decodeSamples.map { Int($0) })
}
