// Writes a large synthetic llama GGUF that llama.cpp loads and runs, for the memory benchmark on big models
// (bench/bigmodel_rss.sh): the tokenizer.* keys of a vocabulary file (e.g. llama.cpp's
// models/ggml-vocab-llama-spm.gguf), llama hyperparameters, and as many blocks of Q8_0 matrices (F32 norms)
// as reach the requested size. The weights are seeded xorshift int8 quants under one f16 scale per tensor,
// chosen for a standard deviation of 0.02 (residual outputs scaled down by 1/sqrt(2 n_layer), as the
// forge does), so activations stay finite at any depth. Two files made with the same options and vocabulary
// share the vocabulary (and so a reference file); --seed changes every weight. --ctx sets
// llama.context_length, which is the context (and KV cache) pot gives the model. Streams the tensor data to
// disk: memory stays at one row.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "env/env.h"
#include "ggml.h"
#include "gguf.h"

namespace {

struct GgufFree { void operator()(gguf_context* c) const { gguf_free(c); } };
struct GgmlFree { void operator()(ggml_context* c) const { ggml_free(c); } };

class XorShift {
 public:
  explicit XorShift(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }

 private:
  uint64_t s_;
};

struct Spec {
  std::string name;
  int64_t ne0, ne1;  // ne1 == 0: an F32 norm vector (all ones); otherwise a Q8_0 matrix
  bool residual_out;
};

// One row of a tensor: Q8_0 blocks (f16 scale, 32 int8 quants) or ones as F32.
void FillRow(const ggml_tensor* t, ggml_fp16_t scale, XorShift* rng, std::string* row) {
  row->resize(ggml_row_size(t->type, t->ne[0]));
  if (t->type == GGML_TYPE_F32) {
    const float one = 1.0f;
    for (int64_t i = 0; i < t->ne[0]; ++i) std::memcpy(row->data() + 4 * i, &one, 4);
    return;
  }
  constexpr size_t kBlock = 2 + 32;
  for (size_t b = 0; b < row->size(); b += kBlock) {
    std::memcpy(row->data() + b, &scale, 2);
    for (size_t q = 0; q < 32; q += 8) {
      const uint64_t r = rng->Next();
      std::memcpy(row->data() + b + 2 + q, &r, 8);
    }
  }
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "synth_llama: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: synth_llama OUT.gguf MIB VOCAB.gguf [--embd N] [--ff N] [--heads N] [--ctx N] [--seed S]\n");
    return 2;
  }
  const std::string out = argv[1], vocab_path = argv[3];
  const uint64_t target = std::stoull(argv[2]) << 20;
  uint64_t n_embd = 4096, n_ff = 11008, n_head = 32, n_ctx = 4096, seed = 1;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const uint64_t v = std::stoull(argv[i + 1]);
    if (flag == "--embd") n_embd = v;
    else if (flag == "--ff") n_ff = v;
    else if (flag == "--heads") n_head = v;
    else if (flag == "--ctx") n_ctx = v;
    else if (flag == "--seed") seed = v;
    else return Fail("unknown option " + flag);
  }
  if (n_embd % 32 != 0 || n_ff % 32 != 0 || n_head == 0 || n_embd % n_head != 0) {
    return Fail("--embd and --ff must be multiples of 32, --embd a multiple of --heads");
  }

  std::unique_ptr<gguf_context, GgufFree> vocab(gguf_init_from_file(vocab_path.c_str(), {true, nullptr}));
  if (!vocab) return Fail(vocab_path + ": not a readable GGUF file");
  std::unique_ptr<gguf_context, GgufFree> meta(gguf_init_empty());
  gguf_set_kv(meta.get(), vocab.get());
  std::vector<std::string> drop;
  for (int64_t i = 0; i < gguf_get_n_kv(meta.get()); ++i) {
    const std::string key = gguf_get_key(meta.get(), i);
    if (key.rfind("tokenizer.", 0) != 0) drop.push_back(key);
  }
  for (const auto& key : drop) gguf_remove_key(meta.get(), key.c_str());
  const int64_t tokens = gguf_find_key(meta.get(), "tokenizer.ggml.tokens");
  if (tokens < 0) return Fail(vocab_path + ": no tokenizer.ggml.tokens");
  const int64_t n_vocab = static_cast<int64_t>(gguf_get_arr_n(meta.get(), tokens));

  // Layers: as many as reach the target size (at least one).
  const uint64_t matrix_bytes = ggml_row_size(GGML_TYPE_Q8_0, n_embd) * n_embd;
  const uint64_t layer_bytes = 4 * matrix_bytes + 2 * ggml_row_size(GGML_TYPE_Q8_0, n_embd) * n_ff +
                               ggml_row_size(GGML_TYPE_Q8_0, n_ff) * n_embd + 2 * 4 * n_embd;
  const uint64_t fixed_bytes = 2 * ggml_row_size(GGML_TYPE_Q8_0, n_embd) * n_vocab + 4 * n_embd;
  uint64_t n_layer = 1;
  while (fixed_bytes + n_layer * layer_bytes < target) ++n_layer;

  gguf_set_val_str(meta.get(), "general.architecture", "llama");
  gguf_set_val_str(meta.get(), "general.name", ("synthetic-llama seed " + std::to_string(seed)).c_str());
  gguf_set_val_u32(meta.get(), "general.file_type", 7);  // LLAMA_FTYPE_MOSTLY_Q8_0
  gguf_set_val_u32(meta.get(), "llama.vocab_size", static_cast<uint32_t>(n_vocab));
  gguf_set_val_u32(meta.get(), "llama.context_length", static_cast<uint32_t>(n_ctx));
  gguf_set_val_u32(meta.get(), "llama.embedding_length", static_cast<uint32_t>(n_embd));
  gguf_set_val_u32(meta.get(), "llama.block_count", static_cast<uint32_t>(n_layer));
  gguf_set_val_u32(meta.get(), "llama.feed_forward_length", static_cast<uint32_t>(n_ff));
  gguf_set_val_u32(meta.get(), "llama.attention.head_count", static_cast<uint32_t>(n_head));
  gguf_set_val_u32(meta.get(), "llama.attention.head_count_kv", static_cast<uint32_t>(n_head));
  gguf_set_val_u32(meta.get(), "llama.rope.dimension_count", static_cast<uint32_t>(n_embd / n_head));
  gguf_set_val_f32(meta.get(), "llama.rope.freq_base", 10000.0f);
  gguf_set_val_f32(meta.get(), "llama.attention.layer_norm_rms_epsilon", 1e-5f);

  std::vector<Spec> specs{{"token_embd.weight", static_cast<int64_t>(n_embd), n_vocab, false}};
  for (uint64_t l = 0; l < n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const auto e = static_cast<int64_t>(n_embd), f = static_cast<int64_t>(n_ff);
    specs.push_back({p + "attn_norm.weight", e, 0, false});
    specs.push_back({p + "attn_q.weight", e, e, false});
    specs.push_back({p + "attn_k.weight", e, e, false});
    specs.push_back({p + "attn_v.weight", e, e, false});
    specs.push_back({p + "attn_output.weight", e, e, true});
    specs.push_back({p + "ffn_norm.weight", e, 0, false});
    specs.push_back({p + "ffn_gate.weight", e, f, false});
    specs.push_back({p + "ffn_up.weight", e, f, false});
    specs.push_back({p + "ffn_down.weight", f, e, true});
  }
  specs.push_back({"output_norm.weight", static_cast<int64_t>(n_embd), 0, false});
  specs.push_back({"output.weight", static_cast<int64_t>(n_embd), n_vocab, false});

  // Tensor descriptions only (no data): the data is streamed below at the offsets gguf assigns.
  std::unique_ptr<ggml_context, GgmlFree> ctx(ggml_init({specs.size() * ggml_tensor_overhead(), nullptr, true}));
  if (!ctx) return Fail("ggml_init failed");
  std::vector<ggml_tensor*> tensors;
  for (const auto& s : specs) {
    ggml_tensor* t = s.ne1 == 0 ? ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, s.ne0)
                                : ggml_new_tensor_2d(ctx.get(), GGML_TYPE_Q8_0, s.ne0, s.ne1);
    ggml_set_name(t, s.name.c_str());
    gguf_add_tensor(meta.get(), t);
    tensors.push_back(t);
  }

  std::string header(gguf_get_meta_size(meta.get()), '\0');
  gguf_get_meta_data(meta.get(), header.data());
  pot::Env* env = pot::Env::Default();
  std::unique_ptr<pot::WritableFile> file;
  pot::Status st = env->NewWritableFile(out, &file);
  if (st.ok()) st = file->Append(header);
  uint64_t written = 0;  // bytes of tensor data so far
  const double uniform_int8_sd = std::sqrt((256.0 * 256.0 - 1.0) / 12.0);
  const double residual = 1.0 / std::sqrt(2.0 * static_cast<double>(n_layer));
  std::string row;
  for (size_t k = 0; k < tensors.size() && st.ok(); ++k) {
    const uint64_t offset = gguf_get_tensor_offset(meta.get(), static_cast<int64_t>(k));
    if (offset > written) st = file->Append(std::string(offset - written, '\0'));
    written = offset;
    const ggml_fp16_t scale =
        ggml_fp32_to_fp16(static_cast<float>(0.02 * (specs[k].residual_out ? residual : 1.0) / uniform_int8_sd));
    XorShift rng(seed * 1000003 + k);
    for (int64_t r = 0; r < ggml_nrows(tensors[k]) && st.ok(); ++r) {
      FillRow(tensors[k], scale, &rng, &row);
      st = file->Append(row);
      written += row.size();
    }
  }
  if (st.ok()) st = file->Close();
  if (!st.ok()) return Fail(st.message());
  std::printf("%s: llama, %llu layers, n_embd %llu, n_ff %llu, n_vocab %lld, context %llu, %zu tensors, %llu bytes\n",
              out.c_str(),
              static_cast<unsigned long long>(n_layer), static_cast<unsigned long long>(n_embd),
              static_cast<unsigned long long>(n_ff), static_cast<long long>(n_vocab), static_cast<unsigned long long>(n_ctx), tensors.size(),
              static_cast<unsigned long long>(header.size() + written));
  return 0;
}
