// llama.cpp's answers for a model file, to check LlamaCL against: token ids, logits and greedy
// continuations. Built against the llama.cpp library by scripts/llamacpp/build.sh; not part of
// LlamaCL itself.
//
//   llamacpp-reference MODEL IN.jsonl OUT_DIR [THREADS]
//
// IN.jsonl: one request per line, {"id": "...", "text": "...", "generate": N, "logits": "all"|"last"|"none"}.
// The text is tokenized as llama.cpp's own tools do (the model's BOS rule, special tokens parsed).
// For each request it writes one line to OUT_DIR/answers.jsonl,
//   {"id", "prompt_tokens": [...], "greedy_tokens": [...]},
// and, unless "logits" is "none", OUT_DIR/ID.logits.f32: little-endian float32 rows of n_vocab,
// one per prompt position ("all") or for the last position only ("last").
// Greedy is the argmax of the logits (lowest id on ties); the KV cache is F32 and flash attention
// off, as in the shared fixtures' references.
#include "llama.h"
#include "nlohmann/json.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using json = nlohmann::json;

static std::vector<llama_token> tokenize(const llama_vocab *vocab, const std::string &text) {
    int n = -llama_tokenize(vocab, text.data(), (int32_t)text.size(), nullptr, 0, true, true);
    std::vector<llama_token> ids(n);
    if (llama_tokenize(vocab, text.data(), (int32_t)text.size(), ids.data(), n, true, true) != n) {
        throw std::runtime_error("tokenization failed");
    }
    return ids;
}

static llama_token argmax(const float *row, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (row[i] > row[best]) best = i;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL IN.jsonl OUT_DIR [THREADS]\n", argv[0]);
        return 2;
    }
    const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    std::ifstream in(argv[2]);
    std::ofstream answers(std::string(argv[3]) + "/answers.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        json request = json::parse(line);
        const std::string id = request.at("id");
        const std::string text = request.at("text");
        const int generate = request.value("generate", 0);
        const std::string logits = request.value("logits", "none");
        std::vector<llama_token> prompt = tokenize(vocab, text);

        // A fresh context per request: nothing carries over between prompts.
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = (uint32_t)(prompt.size() + generate + 16);
        cp.n_batch = (uint32_t)prompt.size();
        // LLAMACPP_UBATCH=1 feeds the prompt one token at a time (llama.cpp's decode kernels
        // instead of its prompt kernels): how far llama.cpp's own answers move with the batch.
        const char *ubatch = std::getenv("LLAMACPP_UBATCH");
        cp.n_ubatch = ubatch ? (uint32_t)std::atoi(ubatch) : cp.n_batch;
        cp.n_threads = cp.n_threads_batch = threads;
        cp.type_k = cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        llama_context *ctx = llama_init_from_model(model, cp);
        if (!ctx) throw std::runtime_error("cannot create a context");

        llama_batch batch = llama_batch_init((int32_t)prompt.size(), 0, 1);
        for (size_t i = 0; i < prompt.size(); i++) {
            batch.token[i] = prompt[i];
            batch.pos[i] = (llama_pos)i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = logits == "all" || i + 1 == prompt.size();
        }
        batch.n_tokens = (int32_t)prompt.size();
        if (llama_decode(ctx, batch) != 0) throw std::runtime_error("decode failed on " + id);

        if (logits != "none") {
            std::ofstream out(std::string(argv[3]) + "/" + id + ".logits.f32", std::ios::binary);
            const size_t first = logits == "all" ? 0 : prompt.size() - 1;
            for (size_t i = first; i < prompt.size(); i++) {
                out.write(reinterpret_cast<const char *>(llama_get_logits_ith(ctx, (int32_t)i)), sizeof(float) * n_vocab);
            }
        }

        std::vector<llama_token> greedy;
        llama_token next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        for (int step = 0; step < generate; step++) {
            greedy.push_back(next);
            if (step + 1 == generate) break;
            llama_batch one = llama_batch_get_one(&next, 1);
            if (llama_decode(ctx, one) != 0) throw std::runtime_error("decode failed on " + id);
            next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        }
        answers << json{{"id", id}, {"prompt_tokens", prompt}, {"greedy_tokens", greedy}}.dump() << "\n";
        answers.flush();
        llama_batch_free(batch);
        llama_free(ctx);
    }
    llama_model_free(model);
    return 0;
}
