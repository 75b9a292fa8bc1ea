// Writes llama.cpp's tokenization of test strings, in the format of llama.cpp's vocabulary test
// vectors: the strings file holds texts separated by lines "__ggml_vocab_test__" (.inp), the output
// one line of space-separated token ids per text (.out), without BOS, special tokens not parsed.
// Build and run (see README.md):
//   cc -O1 -o /tmp/tokenize-llama tokenize-llama.c -I$LLAMA/include -I$LLAMA/ggml/include \
//      -L$BUILD/bin -lllama -Wl,-rpath,$BUILD/bin
//   /tmp/tokenize-llama MODEL.gguf strings.inp > NAME.out
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static void silent(enum ggml_log_level level, const char * text, void * data) { (void) level; (void) text; (void) data; }

int main(int argc, char ** argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MODEL.gguf STRINGS.inp\n", argv[0]); return 2; }
    llama_log_set(silent, NULL);
    llama_backend_init();
    struct llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    struct llama_model * model = llama_model_load_from_file(argv[1], params);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);

    FILE * f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * data = malloc(size + 1);
    if (fread(data, 1, size, f) != (size_t) size) { perror("read"); return 1; }
    data[size] = 0;
    fclose(f);

    const char * sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep);
    char * start = data;
    char * hit;
    int cap = 1 << 16;
    llama_token * tokens = malloc(sizeof(llama_token) * cap);
    while ((hit = strstr(start, sep)) != NULL) {
        int n = llama_tokenize(vocab, start, (int32_t) (hit - start), tokens, cap, false, false);
        if (n < 0) { fprintf(stderr, "text too long\n"); return 1; }
        for (int i = 0; i < n; i++) printf(" %d", tokens[i]);
        printf("\n");
        start = hit + seplen;
    }
    llama_model_free(model);
    return 0;
}
