// Prints llama.cpp's logits for a token sequence, one forward pass over all of it, as JSON:
// {"tokens": [...], "logits": [[...] per position]} with four decimals. Used to make the
// quantized-type fixtures (Tests/SeedModelTests/Resources/FIXTURES.md); built against the
// vendored llama.cpp:
//   g++ -O2 -std=c++17 scripts/llama-logits.cpp -I$LLAMA/include -I$LLAMA/ggml/include \
//       -L$BUILD/bin -lllama -lggml -lggml-base -Wl,-rpath,$BUILD/bin -o /tmp/llama-logits
// Usage: llama-logits MODEL.gguf TOKEN[,TOKEN...]
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TOKEN[,TOKEN...]\n", argv[0]);
        return 2;
    }
    std::vector<llama_token> tokens;
    std::stringstream list(argv[2]);
    for (std::string item; std::getline(list, item, ',');) tokens.push_back((llama_token)std::atoi(item.c_str()));

    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_ubatch = 256;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    llama_batch batch = llama_batch_init((int32_t)tokens.size(), 0, 1);
    for (size_t i = 0; i < tokens.size(); i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = (llama_pos)i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = (int32_t)tokens.size();
    if (llama_decode(ctx, batch) != 0) {
        fprintf(stderr, "decode failed\n");
        return 1;
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    printf("{\"tokens\": [");
    for (size_t i = 0; i < tokens.size(); i++) printf("%s%d", i ? ", " : "", tokens[i]);
    printf("], \"logits\": [");
    for (size_t i = 0; i < tokens.size(); i++) {
        const float *l = llama_get_logits_ith(ctx, (int32_t)i);
        printf("%s[", i ? ", " : "");
        for (int v = 0; v < n_vocab; v++) printf("%s%.4f", v ? ", " : "", l[v]);
        printf("]");
    }
    printf("]}\n");
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
