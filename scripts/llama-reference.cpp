// llama.cpp's outputs for seedflow's reference fixtures (Tests/SeedModelTests/Resources/FIXTURES.md).
// Not part of seedflow: a small program linked to the libllama of the vendored llama.cpp
// (llama-cpp-python 0.3.36), built with
//   g++ -O2 -std=c++17 scripts/llama-reference.cpp -I$LLAMA/include -I$LLAMA/ggml/include \
//       -L$BUILD/bin -lllama -lggml -lggml-base -Wl,-rpath,$BUILD/bin -o /tmp/llama-reference
//
// Usage: llama-reference [--kv f32|f16] MODEL.gguf MODE ARGS
//   logits ID,ID,...   JSON rows of logits after every token, all tokens decoded in one batch
//   score TEXT         JSON {ids, logprobs}: TEXT tokenized by llama.cpp with BOS, log p(id_i | ids_<i)
//   greedy N TEXT      JSON {prompt_ids, greedy_ids, top2_margins}: N greedy steps (fewer at an end token)
// The context holds the tokens plus 16 (llama.cpp pads it to 256), one batch of that size,
// 2 threads; the KV cache is f32 unless `--kv f16` (llama.cpp's default, used for the
// quantized-type fixtures).
#include "llama.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static int usage(const char *program) {
    fprintf(stderr,
            "usage: %s [--kv f32|f16] MODEL.gguf logits ID,ID,...\n"
            "       %s [--kv f32|f16] MODEL.gguf score TEXT\n"
            "       %s [--kv f32|f16] MODEL.gguf greedy N TEXT\n",
            program, program, program);
    return 2;
}

static bool parse_ids(const char *text, std::vector<llama_token> &ids) {
    while (*text) {
        char *end = nullptr;
        long id = strtol(text, &end, 10);
        if (end == text) return false;
        ids.push_back((llama_token)id);
        text = end;
        if (*text == ',') text++;
        else if (*text) return false;
    }
    return !ids.empty();
}

static void print_ids(const std::vector<llama_token> &ids) {
    printf("[");
    for (size_t i = 0; i < ids.size(); i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("]");
}

int main(int argc, char **argv) {
    const char *program = argv[0];
    ggml_type kv_type = GGML_TYPE_F32;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--kv") == 0) {
        if (strcmp(argv[2], "f16") == 0) kv_type = GGML_TYPE_F16;
        else if (strcmp(argv[2], "f32") != 0) return usage(program);
        first = 3;
    }
    if (argc - first < 3) return usage(program);
    const char *path = argv[first];
    const std::string mode = argv[first + 1];
    int steps = 0;
    const char *text = nullptr;
    std::vector<llama_token> ids;
    if (mode == "logits" && argc - first == 3) {
        if (!parse_ids(argv[first + 2], ids)) {
            fprintf(stderr, "bad token list '%s': expected ids separated by commas\n", argv[first + 2]);
            return 2;
        }
    } else if (mode == "score" && argc - first == 3) {
        text = argv[first + 2];
    } else if (mode == "greedy" && argc - first == 4) {
        steps = atoi(argv[first + 2]);
        text = argv[first + 3];
        if (steps <= 0) return usage(program);
    } else {
        return usage(program);
    }

    llama_backend_init();
    llama_model *model = llama_model_load_from_file(path, llama_model_default_params());
    if (!model) {
        fprintf(stderr, "cannot load %s\n", path);
        return 1;
    }
    const llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    if (text) {
        ids.resize(strlen(text) + 8);
        int n = llama_tokenize(vocab, text, (int)strlen(text), ids.data(), (int)ids.size(), true, false);
        if (n <= 0) {
            fprintf(stderr, "cannot tokenize the text\n");
            return 1;
        }
        ids.resize(n);
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(ids.size() + steps + 16);
    cp.n_batch = cp.n_ubatch = cp.n_ctx;
    cp.type_k = cp.type_v = kv_type;
    cp.n_threads = cp.n_threads_batch = 2;
    llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    llama_batch batch = llama_batch_init((int)ids.size(), 0, 1);
    batch.n_tokens = (int)ids.size();
    for (size_t i = 0; i < ids.size(); i++) {
        batch.token[i] = ids[i];
        batch.pos[i] = (llama_pos)i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    if (llama_decode(ctx, batch) != 0) {
        fprintf(stderr, "decode failed\n");
        return 1;
    }

    if (mode == "logits") {
        printf("[");
        for (size_t i = 0; i < ids.size(); i++) {
            const float *row = llama_get_logits_ith(ctx, (int)i);
            printf("%s[", i ? ",\n" : "");
            for (int v = 0; v < n_vocab; v++) printf("%s%.5f", v ? "," : "", row[v]);
            printf("]");
        }
        printf("]\n");
    } else if (mode == "score") {
        printf("{\"ids\":");
        print_ids(ids);
        printf(",\"logprobs\":[");
        for (size_t i = 0; i + 1 < ids.size(); i++) {
            const float *row = llama_get_logits_ith(ctx, (int)i);
            const double top = *std::max_element(row, row + n_vocab);
            double sum = 0;
            for (int v = 0; v < n_vocab; v++) sum += std::exp(row[v] - top);
            printf("%s%.5f", i ? "," : "", row[ids[i + 1]] - top - std::log(sum));
        }
        printf("]}\n");
    } else {
        std::vector<llama_token> out;
        std::vector<float> margins;
        const float *row = llama_get_logits_ith(ctx, (int)ids.size() - 1);
        for (int s = 0; s < steps; s++) {
            int best = 0, second = -1;
            for (int v = 1; v < n_vocab; v++) {
                if (row[v] > row[best]) { second = best; best = v; }
                else if (second < 0 || row[v] > row[second]) second = v;
            }
            out.push_back(best);
            margins.push_back(row[best] - row[second]);
            if (llama_vocab_is_eog(vocab, best)) break;
            llama_batch one = llama_batch_get_one(&out.back(), 1);
            if (llama_decode(ctx, one) != 0) {
                fprintf(stderr, "decode failed at step %d\n", s);
                return 1;
            }
            row = llama_get_logits_ith(ctx, -1);
        }
        printf("{\"prompt_ids\":");
        print_ids(ids);
        printf(",\"greedy_ids\":");
        print_ids(out);
        printf(",\"top2_margins\":[");
        for (size_t i = 0; i < margins.size(); i++) printf("%s%.4f", i ? "," : "", margins[i]);
        printf("]}\n");
    }
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
