#include "gguf/hparams.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

// The checks, each with the llama.cpp 3.22.1 source it guards (paths under src/ unless ggml/ is named).
// "asserts": GGML_ASSERT / GGML_ABORT, which abort the process; "throws": an exception llama.cpp turns into a
// failed load, checked here only for a message that names the key.
//
// Vocabulary (every load; llama-vocab.cpp, llama_vocab::impl::load and tokenize):
//  - tokenizer.ggml.model present (throws) and not "none" / "no_vocab": that leaves no tokenizer, and
//    tokenizing asserts "Tokenizer not initialized".
//  - tokenizer.ggml.tokens an array of 1 to 2^31-1 strings, pairwise distinct once an empty token reads as
//    "[EMPTY_<id>]" as llama.cpp renames it (asserts id_to_token.size() == token_to_id.size()).
//  - every tokenizer.ggml.*_token_id below the token count (llama.cpp would fall back to a default that may
//    be disabled), and the BOS, EOS and SEP tokens that tokenizing adds, by tokenizer.ggml.add_*_token or
//    the tokenizer's default, exist (asserts special_bos_id != LLAMA_TOKEN_NULL in tokenize, likewise EOS
//    and SEP, and in append_bos / append_eos).
// Hyperparameters (full loads; llama-model.cpp load_hparams, models/llama.cpp; ARCH = general.architecture):
//  - ARCH.block_count 1 to 512 (asserts n_layer_all > 0 && n_layer_all <= LLAMA_MAX_LAYERS);
//    ARCH.nextn_predict_layers at most block_count (asserts).
//  - ARCH.expert_count at most 1024 (asserts <= LLAMA_MAX_EXPERTS); ARCH.expert_used_count, one value or one
//    per layer, at most expert_count, positive with experts and zero without; ARCH.expert_group_count below
//    expert_count and dividing it, ARCH.expert_group_used_count 1 to groups-1; no groups without experts
//    (all asserts).
//  - ARCH.context_length 1 to 2^31-1: positions are int32 (llama_pos), 0 leaves an empty context (throws).
//  - ARCH.embedding_length positive; ARCH.feed_forward_length, ARCH.attention.head_count and head_count_kv one
//    value or one per layer (throws otherwise); head_count divisible by head_count_kv where both are positive
//    (ggml_mul_mat asserts the broadcast in the attention). For llama: all three positive (a zero makes a
//    zero-sized weight, and llama-model-loader.cpp create_tensor asserts ne >= 1) and equal in every layer
//    (llama.cpp shapes every layer's weights from layer 0's values: LLAMA_LOAD_LOCALS).
//  - ARCH.attention.key_length, value_length and rope.dimension_count positive when given; the head size
//    embedding_length / head_count positive; for llama all three equal (models/llama.cpp asserts
//    n_embd_head_v == n_embd_head_k == n_rot) and even (ggml-cpu ops.cpp rope asserts n_dims % 2 == 0).
//  - ARCH.attention.layer_norm_rms_epsilon (llama requires it) and layer_norm_epsilon finite and > 0
//    (ggml-cpu ops.cpp norm and rms_norm assert eps >= 0.0f, which NaN fails too; 0 divides by zero).
//  - ARCH.rope.scaling.type none, linear, yarn or longrope (asserts != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED).
//  - ARCH.rope.freq_base finite and > 0, ARCH.rope.scaling.factor and rope.scale_linear finite and >= 0
//    (0 means no scaling), ARCH.rope.scaling.attn_factor finite: not asserted on, but each would make every
//    logit NaN.
// Tensors (full loads):
//  - no zero dimension (create_tensor asserts ne >= 1).
//  - token_embd.weight, when present, is [embedding_length, token count]: llama.cpp takes the vocabulary
//    size from the token list and the embedding width from the key.
//  - llama: token_embd, output_norm and every layer's norms and attention/feed-forward weights have the
//    shapes the keys imply (llama.cpp throws on a mismatch; here the message names the keys), and
//    rope_freqs.weight is f32 (ggml_rope asserts).

namespace pot::gguf {
namespace {

constexpr uint64_t kMaxInt32 = std::numeric_limits<int32_t>::max();

bool IsInteger(ValueType t) {
  switch (t) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kU16: case ValueType::kI16: case ValueType::kU32:
    case ValueType::kI32: case ValueType::kU64: case ValueType::kI64: case ValueType::kBool: return true;
    default: return false;
  }
}

bool IsSigned(ValueType t) {
  return t == ValueType::kI8 || t == ValueType::kI16 || t == ValueType::kI32 || t == ValueType::kI64;
}

// Element k of a non-empty array of integers, sign-extended: the raw bytes are little-endian as stored.
int64_t ArrayInteger(const Value& v, uint64_t k) {
  const size_t size = v.raw.size() / v.count;
  uint64_t bits = 0;
  std::memcpy(&bits, v.raw.data() + k * size, size);  // little-endian host, as the reader assumes
  if (IsSigned(v.elem_type) && size < 8 && (bits >> (8 * size - 1)) != 0) bits |= ~uint64_t{0} << (8 * size);
  return static_cast<int64_t>(bits);
}

std::string Number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

std::string Shape(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t k = 0; k < ne.size(); ++k) s += (k ? ", " : "") + std::to_string(ne[k]);
  return s + "]";
}

class Checker {
 public:
  explicit Checker(const File& f) : f_(f) {
    for (const auto& t : f.tensors) tensors_[t.name] = &t;
  }

  Status Vocabulary();
  Status Hyperparameters();
  Status Tensors();

 private:
  Status Bad(const std::string& key, const std::string& value, const std::string& why) const {
    return Status::Corruption(f_.path + ": " + key + " is " + value + "; " + why);
  }
  Status Missing(const std::string& key, const std::string& why) const {
    return Status::Corruption(f_.path + ": no " + key + "; " + why);
  }

  // An integer key that fits llama.cpp's uint32 fields; nullopt when absent.
  Status Uint(const std::string& key, std::optional<uint64_t>* out) const {
    out->reset();
    const Value* v = f_.Find(key);
    if (v == nullptr) return Status::OK();
    if (!IsInteger(v->type)) return Bad(key, "not an integer", "llama.cpp reads it as one");
    if (IsSigned(v->type) && v->i < 0) return Bad(key, std::to_string(v->i), "it must not be negative");
    const uint64_t x = IsSigned(v->type) ? static_cast<uint64_t>(v->i) : v->u;
    if (x > std::numeric_limits<uint32_t>::max()) return Bad(key, std::to_string(x), "llama.cpp reads 32 bits");
    *out = x;
    return Status::OK();
  }
  Status RequiredUint(const std::string& key, uint64_t* out) const {
    std::optional<uint64_t> v;
    POT_RETURN_IF_ERROR(Uint(key, &v));
    if (!v) return Missing(key, "llama.cpp requires it");
    *out = *v;
    return Status::OK();
  }

  // A key that is one integer for all layers or an array of one per layer; empty when absent.
  Status PerLayer(const std::string& key, uint64_t n_layer, std::vector<uint64_t>* out) const {
    out->clear();
    const Value* v = f_.Find(key);
    if (v == nullptr) return Status::OK();
    if (v->type != ValueType::kArray) {
      std::optional<uint64_t> x;
      POT_RETURN_IF_ERROR(Uint(key, &x));
      out->assign(n_layer, *x);
      return Status::OK();
    }
    if (!IsInteger(v->elem_type)) return Bad(key, "an array of non-integers", "llama.cpp reads integers");
    if (v->count != n_layer) {
      return Bad(key, "an array of " + std::to_string(v->count),
                 "llama.cpp needs one value or one per layer (" + std::to_string(n_layer) + ")");
    }
    for (uint64_t k = 0; k < v->count; ++k) {
      const int64_t x = ArrayInteger(*v, k);
      if (x < 0 || static_cast<uint64_t>(x) > std::numeric_limits<uint32_t>::max()) {
        return Bad(key + "[" + std::to_string(k) + "]", std::to_string(x), "llama.cpp reads an unsigned 32-bit value");
      }
      out->push_back(static_cast<uint64_t>(x));
    }
    return Status::OK();
  }

  Status Float(const std::string& key, std::optional<double>* out) const {
    out->reset();
    const Value* v = f_.Find(key);
    if (v == nullptr) return Status::OK();
    if (v->type != ValueType::kF32 && v->type != ValueType::kF64) return Bad(key, "not a float", "llama.cpp reads an f32");
    *out = v->f;
    return Status::OK();
  }
  // A float that must be finite and > 0 (or >= 0 when zero_ok).
  Status PositiveFloat(const std::string& key, bool required, bool zero_ok) const {
    std::optional<double> x;
    POT_RETURN_IF_ERROR(Float(key, &x));
    if (!x) return required ? Missing(key, "llama.cpp requires it") : Status::OK();
    if (!std::isfinite(*x) || *x < 0 || (*x == 0 && !zero_ok)) {
      return Bad(key, Number(*x), zero_ok ? "it must be finite and >= 0" : "it must be finite and > 0");
    }
    return Status::OK();
  }

  Status SpecialToken(const char* name, int64_t fallback, bool add_by_default);
  // The tensor called name, when present (or when required), must have the shape want that keys imply.
  Status ExpectShape(const std::string& name, const std::vector<int64_t>& want, bool required,
                     const std::string& keys) const;

  const File& f_;
  std::map<std::string, const TensorInfo*> tensors_;
  std::string arch_, tokenizer_;
  // What Vocabulary and Hyperparameters found, in llama.cpp's names (layer 0's values).
  int64_t n_vocab_ = 0, n_layer_ = 0, n_embd_ = 0, n_ff_ = 0, n_head_ = 0, n_head_kv_ = 0, n_expert_ = 0;
  int64_t head_k_ = 0, head_v_ = 0, n_rot_ = 0;
};

// What llama-vocab.cpp assumes of each tokenizer when the file is silent: its BOS/EOS/SEP ids (-1: none) and
// which of them tokenizing adds. gpt2 adds BOS for some pre-tokenizers only; taken as adding it, to be safe.
struct TokenizerDefaults {
  int64_t bos = -1, eos = -1, sep = -1;
  bool add_bos = false, add_eos = false, add_sep = false;
};

TokenizerDefaults DefaultsFor(const std::string& model) {
  if (model == "llama") return {1, 2, -1, true, false, false};
  if (model == "bert") return {101, -1, 102, true, false, true};
  if (model == "gpt2" || model == "hybriddna" || model == "whitespace") return {11, 11, -1, true, false, false};
  if (model == "t5") return {-1, 1, -1, false, true, false};
  return {};
}

Status Checker::SpecialToken(const char* name, int64_t fallback, bool add_by_default) {
  const std::string id_key = std::string("tokenizer.ggml.") + (std::strcmp(name, "sep") == 0 ? "seperator" : name) + "_token_id";
  const std::string add_key = std::string("tokenizer.ggml.add_") + name + "_token";
  std::optional<uint64_t> id, add;
  POT_RETURN_IF_ERROR(Uint(id_key, &id));
  POT_RETURN_IF_ERROR(Uint(add_key, &add));
  const bool added = add ? *add != 0 : add_by_default;
  const int64_t effective = id ? static_cast<int64_t>(*id) : fallback;
  if (added && (effective < 0 || effective >= n_vocab_)) {
    return Bad(id_key, id ? std::to_string(*id) : "absent",
               std::string("tokenizing adds a ") + name + " token and the " + std::to_string(n_vocab_) +
                   "-token vocabulary has none");
  }
  return Status::OK();
}

Status Checker::Vocabulary() {
  const Value* model = f_.Find("tokenizer.ggml.model");
  if (model == nullptr) return Missing("tokenizer.ggml.model", "pot needs the model's tokenizer");
  if (model->type != ValueType::kString) return Bad("tokenizer.ggml.model", "not a string", "llama.cpp reads a name");
  tokenizer_ = model->s;
  if (tokenizer_ == "none" || tokenizer_ == "no_vocab") {
    return Bad("tokenizer.ggml.model", "'" + tokenizer_ + "'", "pot needs a tokenizer to tokenize prompts");
  }
  const Value* tokens = f_.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr) return Missing("tokenizer.ggml.tokens", "llama.cpp requires the token list");
  if (tokens->type != ValueType::kArray || tokens->elem_type != ValueType::kString) {
    return Bad("tokenizer.ggml.tokens", "not an array of strings", "llama.cpp reads the token list from it");
  }
  const uint64_t n_tokens = tokens->strings.size();
  if (n_tokens == 0 || n_tokens > kMaxInt32) {
    return Bad("tokenizer.ggml.tokens", "an array of " + std::to_string(n_tokens), "a vocabulary holds 1 to 2^31-1 tokens");
  }
  n_vocab_ = static_cast<int64_t>(n_tokens);
  std::deque<std::string> renamed;  // llama.cpp's names for empty tokens; a deque keeps the views valid
  std::unordered_map<std::string_view, uint64_t> first_id;
  first_id.reserve(n_tokens);
  for (uint64_t id = 0; id < n_tokens; ++id) {
    std::string_view text = tokens->strings[id];
    if (text.empty()) text = renamed.emplace_back("[EMPTY_" + std::to_string(id) + "]");
    auto [it, fresh] = first_id.emplace(text, id);
    if (!fresh) {
      return Bad("tokenizer.ggml.tokens", "ambiguous", "tokens " + std::to_string(it->second) + " and " +
                                                           std::to_string(id) + " are the same string");
    }
  }
  for (const char* name : {"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "cls", "mask", "fim_pre",
                           "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep", "prefix", "suffix", "middle"}) {
    const std::string key = std::string("tokenizer.ggml.") + name + "_token_id";
    std::optional<uint64_t> id;
    POT_RETURN_IF_ERROR(Uint(key, &id));
    if (id && *id >= static_cast<uint64_t>(n_vocab_)) {
      return Bad(key, std::to_string(*id), "the vocabulary has " + std::to_string(n_vocab_) + " tokens");
    }
  }
  const TokenizerDefaults d = DefaultsFor(tokenizer_);
  POT_RETURN_IF_ERROR(SpecialToken("bos", d.bos, d.add_bos));
  POT_RETURN_IF_ERROR(SpecialToken("eos", d.eos, d.add_eos));
  return SpecialToken("sep", d.sep, d.add_sep);
}

Status Checker::Hyperparameters() {
  const Value* arch = f_.Find("general.architecture");
  if (arch == nullptr || arch->type != ValueType::kString) return Missing("general.architecture string", "llama.cpp needs it");
  arch_ = arch->s;
  const std::string p = arch_ + ".";
  const bool llama = arch_ == "llama";

  uint64_t n_layer = 0;
  POT_RETURN_IF_ERROR(RequiredUint(p + "block_count", &n_layer));
  if (n_layer == 0 || n_layer > kMaxLayers) {
    return Bad(p + "block_count", std::to_string(n_layer), "llama.cpp needs 1 to " + std::to_string(kMaxLayers) + " layers");
  }
  std::optional<uint64_t> nextn;
  POT_RETURN_IF_ERROR(Uint(p + "nextn_predict_layers", &nextn));
  if (nextn && *nextn > n_layer) return Bad(p + "nextn_predict_layers", std::to_string(*nextn), "it exceeds block_count");

  std::optional<uint64_t> experts, groups, groups_used;
  POT_RETURN_IF_ERROR(Uint(p + "expert_count", &experts));
  POT_RETURN_IF_ERROR(Uint(p + "expert_group_count", &groups));
  POT_RETURN_IF_ERROR(Uint(p + "expert_group_used_count", &groups_used));
  std::vector<uint64_t> used;
  POT_RETURN_IF_ERROR(PerLayer(p + "expert_used_count", n_layer, &used));
  const uint64_t n_expert = experts.value_or(0), n_groups = groups.value_or(0), n_groups_used = groups_used.value_or(0);
  uint64_t used_max = 0;
  for (uint64_t u : used) used_max = std::max(used_max, u);
  if (n_expert > kMaxExperts) {
    return Bad(p + "expert_count", std::to_string(n_expert), "llama.cpp allows at most " + std::to_string(kMaxExperts));
  }
  if (used_max > n_expert || (n_expert > 0 && used_max == 0)) {
    return Bad(p + "expert_used_count", std::to_string(used_max),
               "it must be 1 to expert_count (" + std::to_string(n_expert) + ") with experts, 0 without");
  }
  if (n_expert == 0 ? n_groups != 0 : n_groups >= n_expert) {
    return Bad(p + "expert_group_count", std::to_string(n_groups), "it must be below expert_count, 0 without experts");
  }
  if (n_groups > 1 && n_expert % n_groups != 0) {
    return Bad(p + "expert_group_count", std::to_string(n_groups), "it must divide expert_count " + std::to_string(n_expert));
  }
  if (n_groups > 1 && (n_groups_used == 0 || n_groups_used >= n_groups)) {
    return Bad(p + "expert_group_used_count", std::to_string(n_groups_used), "it must be 1 to expert_group_count - 1");
  }

  uint64_t n_ctx = 0, n_embd = 0;
  POT_RETURN_IF_ERROR(RequiredUint(p + "context_length", &n_ctx));
  if (n_ctx == 0 || n_ctx > kMaxInt32) return Bad(p + "context_length", std::to_string(n_ctx), "it must be 1 to 2^31-1");
  POT_RETURN_IF_ERROR(RequiredUint(p + "embedding_length", &n_embd));
  if (n_embd == 0) return Bad(p + "embedding_length", "0", "it must be positive");

  std::vector<uint64_t> n_ff, n_head, n_head_kv;
  POT_RETURN_IF_ERROR(PerLayer(p + "feed_forward_length", n_layer, &n_ff));
  POT_RETURN_IF_ERROR(PerLayer(p + "attention.head_count", n_layer, &n_head));
  POT_RETURN_IF_ERROR(PerLayer(p + "attention.head_count_kv", n_layer, &n_head_kv));
  if (n_head.empty()) n_head.assign(n_layer, 0);
  if (n_head_kv.empty()) n_head_kv = n_head;  // llama.cpp's default
  if (n_ff.empty()) n_ff.assign(n_layer, 0);
  for (uint64_t il = 0; il < n_layer; ++il) {
    const std::string at = " (layer " + std::to_string(il) + ")";
    if (llama) {
      if (n_ff[il] == 0) return Bad(p + "feed_forward_length", "0" + at, "llama needs a feed-forward layer");
      if (n_head[il] == 0) return Bad(p + "attention.head_count", "0" + at, "llama needs attention heads");
      if (n_head_kv[il] == 0) return Bad(p + "attention.head_count_kv", "0" + at, "llama needs key/value heads");
      if (n_ff[il] != n_ff[0] || n_head[il] != n_head[0] || n_head_kv[il] != n_head_kv[0]) {
        return Bad(p + "feed_forward_length / attention.head_count / head_count_kv", "not the same in every layer" + at,
                   "llama.cpp shapes every llama layer from layer 0's values");
      }
    }
    if (n_head[il] > 0 && n_head_kv[il] > 0 && n_head[il] % n_head_kv[il] != 0) {
      return Bad(p + "attention.head_count_kv", std::to_string(n_head_kv[il]) + at,
                 "it must divide attention.head_count " + std::to_string(n_head[il]));
    }
  }

  std::optional<uint64_t> key_length, value_length, rot;
  POT_RETURN_IF_ERROR(Uint(p + "attention.key_length", &key_length));
  POT_RETURN_IF_ERROR(Uint(p + "attention.value_length", &value_length));
  POT_RETURN_IF_ERROR(Uint(p + "rope.dimension_count", &rot));
  for (const auto& [key, v] : {std::pair{"attention.key_length", key_length}, std::pair{"attention.value_length", value_length},
                               std::pair{"rope.dimension_count", rot}}) {
    if (v && *v == 0) return Bad(p + key, "0", "it must be positive");
  }
  if (n_head[0] > 0) {
    const uint64_t head = n_embd / n_head[0];
    if (head == 0 && (!key_length || !value_length)) {
      return Bad(p + "attention.head_count", std::to_string(n_head[0]),
                 "it exceeds embedding_length " + std::to_string(n_embd) + ", leaving heads of size 0");
    }
    const uint64_t head_k = key_length.value_or(head), head_v = value_length.value_or(head), n_rot = rot.value_or(head_k);
    if (llama && (head_v != head_k || n_rot != head_k)) {
      return Bad(p + "rope.dimension_count / attention.key_length / value_length",
                 std::to_string(n_rot) + " / " + std::to_string(head_k) + " / " + std::to_string(head_v),
                 "llama.cpp's llama graph needs them equal (the head size)");
    }
    if (llama && n_rot % 2 != 0) return Bad(p + "rope.dimension_count", std::to_string(n_rot), "rope needs an even count");
    head_k_ = static_cast<int64_t>(head_k);
    head_v_ = static_cast<int64_t>(head_v);
    n_rot_ = static_cast<int64_t>(n_rot);
  }

  POT_RETURN_IF_ERROR(PositiveFloat(p + "attention.layer_norm_rms_epsilon", llama, false));
  POT_RETURN_IF_ERROR(PositiveFloat(p + "attention.layer_norm_epsilon", false, false));
  POT_RETURN_IF_ERROR(PositiveFloat(p + "rope.freq_base", false, false));
  POT_RETURN_IF_ERROR(PositiveFloat(p + "rope.scaling.factor", false, true));
  POT_RETURN_IF_ERROR(PositiveFloat(p + "rope.scale_linear", false, true));
  std::optional<double> attn_factor;
  POT_RETURN_IF_ERROR(Float(p + "rope.scaling.attn_factor", &attn_factor));
  if (attn_factor && !std::isfinite(*attn_factor)) {
    return Bad(p + "rope.scaling.attn_factor", Number(*attn_factor), "it must be finite");
  }
  if (const Value* scaling = f_.Find(p + "rope.scaling.type")) {
    const std::string& s = scaling->s;
    if (scaling->type != ValueType::kString || (s != "none" && s != "linear" && s != "yarn" && s != "longrope")) {
      return Bad(p + "rope.scaling.type", scaling->type == ValueType::kString ? "'" + s + "'" : "not a string",
                 "llama.cpp knows none, linear, yarn and longrope");
    }
  }
  // Every value is at most 2^32-1 here, so products of two stay far inside int64.
  n_layer_ = static_cast<int64_t>(n_layer);
  n_embd_ = static_cast<int64_t>(n_embd);
  n_ff_ = static_cast<int64_t>(n_ff[0]);
  n_head_ = static_cast<int64_t>(n_head[0]);
  n_head_kv_ = static_cast<int64_t>(n_head_kv[0]);
  n_expert_ = static_cast<int64_t>(n_expert);
  return Status::OK();
}

Status Checker::ExpectShape(const std::string& name, const std::vector<int64_t>& want, bool required,
                            const std::string& keys) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return required ? Status::Corruption(f_.path + ": no tensor '" + name + "', which a " + arch_ + " model needs")
                    : Status::OK();
  }
  if (it->second->ne != want) {
    return Status::Corruption(f_.path + ": tensor '" + name + "' is " + Shape(it->second->ne) + ", not the " +
                              Shape(want) + " that " + keys + " imply");
  }
  return Status::OK();
}

Status Checker::Tensors() {
  for (const auto& t : f_.tensors) {
    for (int64_t d : t.ne) {
      if (d == 0) return Status::Corruption(f_.path + ": tensor '" + t.name + "' is " + Shape(t.ne) + ", an empty shape");
    }
  }
  const std::string p = arch_ + ".";
  const std::string embd = p + "embedding_length " + std::to_string(n_embd_);
  const std::string vocab = embd + " and the " + std::to_string(n_vocab_) + " tokens of tokenizer.ggml.tokens";
  if (arch_ != "llama") {
    auto it = tensors_.find("token_embd.weight");
    if (it != tensors_.end() && (it->second->ne.size() != 2 || it->second->ne[1] != n_vocab_)) {
      return Status::Corruption(f_.path + ": tensor 'token_embd.weight' is " + Shape(it->second->ne) + ", not " +
                                std::to_string(n_vocab_) + " rows, one per token of tokenizer.ggml.tokens");
    }
    return Status::OK();
  }
  POT_RETURN_IF_ERROR(ExpectShape("token_embd.weight", {n_embd_, n_vocab_}, true, vocab));
  POT_RETURN_IF_ERROR(ExpectShape("output.weight", {n_embd_, n_vocab_}, false, vocab));
  POT_RETURN_IF_ERROR(ExpectShape("output_norm.weight", {n_embd_}, true, embd));
  const std::string rot = p + "rope.dimension_count " + std::to_string(n_rot_);
  for (const std::string& name : {std::string("rope_freqs.weight"), std::string("blk.0.rope_freqs.weight")}) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) continue;
    if (it->second->type != 0) {  // GGML_TYPE_F32
      return Status::Corruption(f_.path + ": tensor '" + name + "' is " + TypeName(it->second->type) + "; ggml's rope needs f32");
    }
    POT_RETURN_IF_ERROR(ExpectShape(name, {n_rot_ / 2}, false, rot));
  }
  const int64_t q = head_k_ * n_head_, k = head_k_ * n_head_kv_, v = head_v_ * n_head_kv_;
  const std::string heads = embd + ", " + p + "attention.head_count " + std::to_string(n_head_) + " and head_count_kv " +
                            std::to_string(n_head_kv_);
  const std::string ffn = embd + " and " + p + "feed_forward_length " + std::to_string(n_ff_);
  const std::string moe = ffn + " and " + p + "expert_count " + std::to_string(n_expert_);
  for (int64_t il = 0; il < n_layer_; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    POT_RETURN_IF_ERROR(ExpectShape(blk + "attn_norm.weight", {n_embd_}, true, embd));
    if (tensors_.count(blk + "attn_qkv.weight")) {
      POT_RETURN_IF_ERROR(ExpectShape(blk + "attn_qkv.weight", {n_embd_, q + k + v}, true, heads));
    } else {
      POT_RETURN_IF_ERROR(ExpectShape(blk + "attn_q.weight", {n_embd_, q}, true, heads));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "attn_k.weight", {n_embd_, k}, true, heads));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "attn_v.weight", {n_embd_, v}, true, heads));
    }
    POT_RETURN_IF_ERROR(ExpectShape(blk + "attn_output.weight", {q, n_embd_}, true, heads));
    POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_norm.weight", {n_embd_}, true, embd));
    if (n_expert_ == 0) {
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_gate.weight", {n_embd_, n_ff_}, true, ffn));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_up.weight", {n_embd_, n_ff_}, true, ffn));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_down.weight", {n_ff_, n_embd_}, true, ffn));
    } else {
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_gate_inp.weight", {n_embd_, n_expert_}, true, moe));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_gate_exps.weight", {n_embd_, n_ff_, n_expert_}, false, moe));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_up_exps.weight", {n_embd_, n_ff_, n_expert_}, true, moe));
      POT_RETURN_IF_ERROR(ExpectShape(blk + "ffn_down_exps.weight", {n_ff_, n_embd_, n_expert_}, true, moe));
    }
  }
  return Status::OK();
}

}  // namespace

Status CheckLoadable(const File& file, LoadScope scope) {
  // ggml's own GGUF parser refuses a repeated key; File::Find would read only the first.
  std::unordered_map<std::string_view, int> seen;
  for (const auto& kv : file.kvs) {
    if (seen[kv.key]++ == 1) return Status::Corruption(file.path + ": metadata key " + kv.key + " appears twice");
  }
  Checker checker(file);
  POT_RETURN_IF_ERROR(checker.Vocabulary());
  if (scope == LoadScope::kVocabOnly) return Status::OK();
  POT_RETURN_IF_ERROR(checker.Hyperparameters());
  return checker.Tensors();
}

}  // namespace pot::gguf
