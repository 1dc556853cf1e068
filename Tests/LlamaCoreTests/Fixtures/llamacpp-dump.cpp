// Loads a GGUF with llama.cpp, tokenizes text (BOS added), prints ids, writes all logits (float32 raw).
#include "llama.h"
#include <cstdio>
#include <cstring>
#include <vector>
#include <string>
int main(int argc, char ** argv) {
    if (argc < 4) { fprintf(stderr, "usage: dump MODEL TEXT OUT\n"); return 2; }
    llama_backend_init();
    auto mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "load failed\n"); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::vector<llama_token> ids(4096);
    int n = llama_tokenize(vocab, argv[2], strlen(argv[2]), ids.data(), ids.size(), true, false);
    if (n < 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
    ids.resize(n);
    printf("ids:"); for (auto t : ids) printf(" %d", t); printf("\n");
    auto cp = llama_context_default_params();
    cp.n_ctx = 256; cp.n_batch = 256; cp.n_ubatch = 256; cp.n_threads = 2; cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32; cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "context failed\n"); return 1; }
    llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) { b.token[i] = ids[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
    b.n_tokens = n;
    if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    int nv = llama_vocab_n_tokens(vocab);
    FILE * f = fopen(argv[3], "wb");
    for (int i = 0; i < n; i++) fwrite(llama_get_logits_ith(ctx, i), sizeof(float), nv, f);
    fclose(f);
    // Greedy continuation, to show the trained model answers.
    std::string text;
    llama_token last = ids.back();
    int pos = n;
    float * lg = llama_get_logits_ith(ctx, n - 1);
    for (int k = 0; k < 12; k++) {
        int best = 0; for (int j = 1; j < nv; j++) if (lg[j] > lg[best]) best = j;
        if (llama_vocab_is_eog(vocab, best)) break;
        char buf[64]; int m = llama_token_to_piece(vocab, best, buf, sizeof buf, 0, false); text.append(buf, m > 0 ? m : 0);
        llama_batch one = llama_batch_get_one(&best, 1);
        if (llama_decode(ctx, one) != 0) break;
        lg = llama_get_logits_ith(ctx, -1); pos++;
    }
    printf("greedy: [%s]\nn_vocab: %d\n", text.c_str(), nv);
    llama_free(ctx); llama_model_free(model);
    return 0;
}
