import SeedEngine
import SeedModel
import Foundation
// Temporary driver until the command line lands.
let target = try TransformerModel(path: "models/seedflow-demo-target.gguf")
let ds = try TransformerModel(path: "models/seedflow-demo-draft-s.gguf")
let dm = try TransformerModel(path: "models/seedflow-demo-draft-m.gguf")
let puzzles = try String(contentsOfFile: "data/game24-heldout.txt", encoding: .utf8).split(separator: "\n")
var requests: [GenerationRequest] = []
for (i, p) in puzzles.prefix(20).enumerated() {
    requests.append(GenerationRequest(tag: "p\(i)", promptTokens: target.tokenizer.encode("Propose steps for: \(p)\n"), sampling: .init(temperature: Float(CommandLine.arguments[1])!, seed: 1), maxTokens: 160))
}
var reference: [Completion] = []
for strategy in DecodingStrategy.allCases {
    let engine = try Engine(target: target, drafts: [DraftModel(model: ds, instances: 4), DraftModel(model: dm, instances: 4)], configuration: .init(strategy: strategy, draftTokens: 4))
    let t0 = Date()
    let out = try engine.generate(requests)
    let dt = Date().timeIntervalSince(t0)
    let st = engine.statistics
    if reference.isEmpty { reference = out }
    let same = zip(out, reference).filter { $0.tokenIDs == $1.tokenIDs }.count
    print(strategy, String(format: "%.3fs tok=%d tok/s=%.0f acc=%.2f passes=%d tpp=%.2f k=%.2f same=%d", dt, st.generatedTokens, Double(st.generatedTokens)/dt, st.acceptanceRate, st.targetPasses, st.tokensPerTargetPass, st.meanDraftTokens, same))
}
print(reference[0].text)
