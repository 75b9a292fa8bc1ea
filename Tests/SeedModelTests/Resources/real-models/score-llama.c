// llama.cpp's reference numbers for the SmolLM2 end-to-end tests, from libllama directly:
//   score-llama MODEL logprobs TEXT   -> line 1: the tokens of TEXT; line 2: log p(token i | tokens < i)
//                                        for i >= 1 (log-softmax of the raw logits, no sampling)
//   score-llama MODEL logprobs1 TEXT  -> the same, the tokens fed one at a time (llama.cpp's decode path,
//                                        whose Q4_1 products quantize the activations to 8 bits)
//   score-llama MODEL greedy N TEXT   -> line 1: the prompt's tokens; line 2: N greedy (argmax) tokens;
//                                        line 3: the top-2 logit margin at each greedy step
// TEXT is tokenized with the model's BOS setting and special tokens parsed (so a rendered chat prompt
// keeps its control tokens). One thread-count-independent CPU evaluation, batch = whole prompt.
// Build: cc -O1 -o /tmp/score-llama score-llama.c -I$L/include -I$L/ggml/include -L$B/bin -lllama -lm -Wl,-rpath,$B/bin
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static void silent(enum ggml_log_level level, const char * text, void * data) { (void) level; (void) text; (void) data; }

static double log_prob(const float * row, int n_vocab, int token) {
    double maxv = row[0], sum = 0;
    for (int k = 1; k < n_vocab; k++) if (row[k] > maxv) maxv = row[k];
    for (int k = 0; k < n_vocab; k++) sum += exp(row[k] - maxv);
    return row[token] - maxv - log(sum);
}

static int argmax(const float * row, int n, float * margin) {
    int best = 0, second = -1;
    for (int i = 1; i < n; i++) {
        if (row[i] > row[best]) { second = best; best = i; }
        else if (second < 0 || row[i] > row[second]) { second = i; }
    }
    if (margin) *margin = row[best] - row[second];
    return best;
}

int main(int argc, char ** argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL (logprobs TEXT | greedy N TEXT)\n", argv[0]); return 2; }
    int greedy = strcmp(argv[2], "greedy") == 0;
    int sequential = strcmp(argv[2], "logprobs1") == 0;
    int steps = greedy ? atoi(argv[3]) : 0;
    const char * text = argv[greedy ? 4 : 3];
    llama_log_set(silent, NULL);
    llama_backend_init();
    struct llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);

    llama_token tokens[4096];
    int n = llama_tokenize(vocab, text, (int32_t) strlen(text), tokens, 4096 - 64, true, true);
    if (n <= 0) { fprintf(stderr, "tokenize failed\n"); return 1; }

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2048;
    cp.n_batch = 2048;
    cp.n_ubatch = 2048;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "no context\n"); return 1; }

    if (sequential) {
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", tokens[i]);
        printf("\n");
        for (int i = 0; i + 1 < n; i++) {
            struct llama_batch one = llama_batch_get_one(&tokens[i], 1);
            if (llama_decode(ctx, one)) { fprintf(stderr, "decode failed\n"); return 1; }
            printf(i ? " %.6f" : "%.6f", log_prob(llama_get_logits_ith(ctx, -1), n_vocab, tokens[i + 1]));
        }
        printf("\n");
        return 0;
    }
    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = !greedy || i == n - 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch)) { fprintf(stderr, "decode failed\n"); return 1; }

    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", tokens[i]);
    printf("\n");
    if (!greedy) {
        for (int i = 1; i < n; i++) {
            printf(i > 1 ? " %.6f" : "%.6f", log_prob(llama_get_logits_ith(ctx, i - 1), n_vocab, tokens[i]));
        }
        printf("\n");
        return 0;
    }
    float margins[1024];
    int out[1024];
    const float * row = llama_get_logits_ith(ctx, n - 1);
    for (int s = 0; s < steps; s++) {
        out[s] = argmax(row, n_vocab, &margins[s]);
        struct llama_batch one = llama_batch_get_one(&out[s], 1);
        if (llama_decode(ctx, one)) { fprintf(stderr, "decode failed\n"); return 1; }
        row = llama_get_logits_ith(ctx, -1);
    }
    for (int s = 0; s < steps; s++) printf(s ? " %d" : "%d", out[s]);
    printf("\n");
    for (int s = 0; s < steps; s++) printf(s ? " %.5f" : "%.5f", margins[s]);
    printf("\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
