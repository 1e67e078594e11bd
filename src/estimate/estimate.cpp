// The roofline model: a model's shape, the rates a profile gives it, and each method's terms.
#include "estimate/estimate.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "engine/engine.h"
#include "estimate/format.h"
#include "gguf/gguf.h"
#include "gguf/hparams.h"

namespace pot::estimate {
namespace {

// The largest figures a shape may hold: far beyond any model, small enough that products stay finite.
constexpr double kMaxBytes = 1e16;   // 10 PB
constexpr double kMaxParams = 1e15;  // a thousand trillion
constexpr uint64_t kMaxDim = 1u << 24;

// llama.cpp's default micro-batch (n_ubatch): the compute buffer holds one micro-batch of logits.
constexpr double kUbatch = 512;
// Anonymous memory besides the KV cache and logits, measured constant at ~35 MiB for pot verify on
// models of 4 to 12 GB (docs/verify.md, "Memory on big models").
constexpr double kFixedBuffers = 35.0 * 1024 * 1024;
// llama-perplexity's chunk: the KL text is evaluated in chunks of this many tokens, the second half scored.
constexpr uint64_t kPerplexityContext = 512;
// What a stored reference generation keeps per token: the id and the top-8 ids and log-probabilities
// (4 + 8 x (4 + 8) bytes), as pot selfcheck --method stored keeps them.
constexpr double kStoredBytesPerToken = 4 + 8 * 12;
// pot diff's working set: two raw and two f32 chunks of 2^20 elements (src/diff, Options::chunk_elements).
constexpr double kDiffBuffers = 4.0 * (1 << 20) * 4;
// pot hash's working set: one 8 MiB read buffer per thread (src/manifest); 16 threads assumed.
constexpr double kHashBuffers = 16.0 * (8 << 20);

// Both models of a two-model method have the given shape: the candidate claims to be the reference.
class Model {
 public:
  Model(const ModelShape& m, const Profile& p) : m_(m), p_(p), r_(RatesFor(p, m)) {}

  double Load() const { return p_.startup_s.value + m_.bytes / p_.read_bytes_per_s.value; }
  std::string LoadText(const std::string& who) const {
    return "load " + who + ": " + HumanBytes(m_.bytes) + " at " + HumanBytes(p_.read_bytes_per_s.value) + "/s + " +
           HumanSeconds(p_.startup_s.value) + " start";
  }
  // pot hash reads the file once and hashes each tensor; verify, reference build and endpoint runs also
  // hash the whole file (evidence::DescribeModel: file_digest), two SHA-256 streams over the same bytes.
  double Hash(double bytes, int streams = 1) const {
    return std::max(bytes / p_.read_bytes_per_s.value, streams * bytes / p_.sha256_bytes_per_s.value);
  }
  std::string HashText(const std::string& who, double bytes, int streams = 1) const {
    return "SHA-256 of " + who + ": " + HumanBytes(bytes) + (streams > 1 ? " (tensors and whole file)" : "") +
           ", read at " + HumanBytes(p_.read_bytes_per_s.value) + "/s, hashed at " +
           HumanBytes(p_.sha256_bytes_per_s.value) + "/s";
  }
  // Prompt processing of tokens, logits at outputs of them.
  double Pp(double tokens, double outputs) const { return PromptSeconds(p_, m_, tokens, outputs); }
  double Tg(double tokens) const { return GenerateSeconds(p_, m_, tokens); }
  std::string PpText(double tokens, double outputs) const {
    return Fmt("%.0f", tokens) + " tokens of prompt processing (" +
           (outputs >= tokens ? std::string("logits at every position") : Fmt("%.0f", outputs) + " with logits") + ")";
  }
  std::string TgText(double tokens) const {
    return Fmt("%.0f", tokens) + " generated tokens at " + Fmt("%.3g", r_.tg_tokens_per_s) + " tokens/s";
  }
  // The per-vocabulary-entry work at positions with logits, in units of the profile's vocab rate: 1 for
  // two distributions and their distance, 0.5 for one distribution scored against stored numbers.
  double Score(double positions, double units) const {
    return positions * units * static_cast<double>(m_.n_vocab) / p_.vocab_entries_per_s.value;
  }
  std::string ScoreText(double positions, const std::string& what) const {
    return "score " + Fmt("%.0f", positions) + " positions x " + std::to_string(m_.n_vocab) + " vocabulary entries (" +
           what + ", one core)";
  }
  double Kv(uint64_t n_ctx) const { return KvCacheBytes(m_, n_ctx); }
  double Buffers() const { return kFixedBuffers + kUbatch * static_cast<double>(m_.n_vocab) * 4; }
  double Limit() const { return p_.memory_bytes.value; }

 private:
  const ModelShape& m_;
  const Profile& p_;
  Rates r_;
};

void Add(MethodEstimate* e, const std::string& what, double seconds) {
  e->terms.push_back({what, seconds});
  e->wall_s += seconds;
}

// A term that is 0 when the vocabulary is unknown is left out rather than printed as 0.
void AddIf(MethodEstimate* e, const std::string& what, double seconds) {
  if (seconds > 0) Add(e, what, seconds);
}

void SetMemory(MethodEstimate* e, double peak, double limit) {
  e->peak_memory_bytes = peak;
  e->memory_limit_bytes = limit;
  e->fits = peak <= limit;
}

std::string Count(uint64_t n) { return std::to_string(n); }

}  // namespace

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string HumanBytes(double b) {
  if (b >= 1e12) return Fmt("%.2f TB", b / 1e12);
  if (b >= 1e9) return Fmt("%.1f GB", b / 1e9);
  if (b >= 1e6) return Fmt("%.1f MB", b / 1e6);
  if (b >= 1e3) return Fmt("%.1f kB", b / 1e3);
  return Fmt("%.0f B", b);
}

std::string HumanSeconds(double s) {
  if (s >= 2 * 86400) return Fmt("%.1f days", s / 86400);
  if (s >= 2 * 3600) return Fmt("%.1f h", s / 3600);
  if (s >= 2 * 60) return Fmt("%.1f min", s / 60);
  if (s >= 1) return Fmt("%.1f s", s);
  return Fmt("%.3f s", s);
}

const std::vector<std::string>& MethodNames() {
  static const std::vector<std::string> names = {"fixed-n", "selfcheck", "kl",     "verify",    "verify-reference",
                                                 "hash",    "diff",      "activations", "gradients", "endpoint"};
  return names;
}

Status ShapeFromGguf(Env* env, const std::string& path, ModelShape* out) {
  gguf::File f;
  POT_RETURN_IF_ERROR(gguf::Read(env, path, &f));
  if (f.GetUint("split.count").value_or(1) > 1) {
    return Status::Unsupported(path + ": a split model (split.count > 1): give its total --size-bytes and --params");
  }
  ModelShape m;
  m.path = path;
  m.bytes = static_cast<double>(f.file_size);
  bool has_output = false;
  const gguf::TensorInfo* token_embd = nullptr;
  for (const gguf::TensorInfo& t : f.tensors) {
    m.params += static_cast<double>(t.n_elements);
    m.largest_tensor_elements = std::max(m.largest_tensor_elements, static_cast<double>(t.n_elements));
    if (t.name == "output.weight") has_output = true;
    if (t.name == "token_embd.weight") token_embd = &t;
  }
  // Without a separate output layer the input embedding is the output layer (tied): it is multiplied.
  if (has_output && token_embd != nullptr) {
    m.input_embd_params = static_cast<double>(token_embd->n_elements);
    m.input_embd_bytes = static_cast<double>(token_embd->nbytes);
  }
  const std::string arch = f.GetString("general.architecture").value_or("");
  const auto key = [&arch](const char* k) { return arch + "." + k; };
  m.n_layer = f.GetUint(key("block_count")).value_or(0);
  m.n_embd = f.GetUint(key("embedding_length")).value_or(0);
  m.n_ctx_train = f.GetUint(key("context_length")).value_or(0);
  const uint64_t heads = f.GetUint(key("attention.head_count")).value_or(0);
  const uint64_t heads_kv = f.GetUint(key("attention.head_count_kv")).value_or(heads);
  if (heads > 0 && heads_kv <= heads) m.n_embd_kv = m.n_embd / heads * heads_kv;
  if (const gguf::Value* tokens = f.Find("tokenizer.ggml.tokens")) m.n_vocab = tokens->count;
  // What hparams.cpp would refuse is refused here as a bad value, not estimated.
  if (m.n_layer > gguf::kMaxLayers) return Status::Corruption(path + ": block_count " + std::to_string(m.n_layer) + " out of range");
  Status s = CheckShape(&m);
  return s.ok() ? (*out = m, Status::OK()) : Status::Corruption(path + ": " + s.message());
}

Status CheckShape(ModelShape* m) {
  if (!std::isfinite(m->bytes) || m->bytes < 1 || m->bytes > kMaxBytes) {
    return Status::InvalidArgument("size " + Fmt("%g", m->bytes) + " bytes is not in [1, 1e16]");
  }
  if (!std::isfinite(m->params) || m->params < 1 || m->params > kMaxParams) {
    return Status::InvalidArgument("parameter count " + Fmt("%g", m->params) + " is not in [1, 1e15]");
  }
  for (const auto& [name, v] : {std::pair{"n_layer", m->n_layer}, {"n_embd", m->n_embd},
                                {"n_embd_kv", m->n_embd_kv}, {"n_vocab", m->n_vocab}, {"n_ctx_train", m->n_ctx_train}}) {
    if (v > kMaxDim) return Status::InvalidArgument(std::string(name) + " " + std::to_string(v) + " is larger than 2^24");
  }
  if (m->n_embd_kv == 0 || m->n_embd_kv > m->n_embd) m->n_embd_kv = m->n_embd;
  const double vocab_by_embd = static_cast<double>(m->n_vocab) * static_cast<double>(m->n_embd);
  if (m->largest_tensor_elements <= 0) m->largest_tensor_elements = vocab_by_embd;
  m->output_params = vocab_by_embd;
  if (m->path.empty() && m->input_embd_params <= 0) {  // by numbers: an untied input embedding, its share of the file
    m->input_embd_params = vocab_by_embd;
    m->input_embd_bytes = m->bytes * vocab_by_embd / m->params;
  }
  if (m->input_embd_params + m->output_params > m->params) {
    return Status::InvalidArgument("the embeddings (n_vocab x n_embd = " + Fmt("%.4g", vocab_by_embd) +
                                   ", input and output) exceed the parameter count " + Fmt("%.4g", m->params));
  }
  if (m->largest_tensor_elements > m->params) m->largest_tensor_elements = m->params;
  return Status::OK();
}

namespace {

// FLOPs of one token through the layers (the logits are charged per output position on top).
double BodyFlops(double params, double input_embd, double output) { return 2 * std::max(0.0, params - input_embd - output); }

// What the calibration row reached: FLOP/s in prompt processing (one output per batch), bytes/s in generation.
double CalibratedFlops(const Calibration& c) {
  return c.pp_tokens_per_s * BodyFlops(c.params, c.input_embd_params, c.output_params) +
         c.pp_tokens_per_s / c.pp_batch * 2 * c.output_params;
}
double CalibratedBytes(const Calibration& c) { return c.tg_tokens_per_s * std::max(1.0, c.bytes - c.input_embd_bytes); }

}  // namespace

Rates RatesFor(const Profile& p, const ModelShape& m) {
  Rates r;
  r.flops_per_s = CalibratedFlops(p.calibration);
  r.bytes_per_s = CalibratedBytes(p.calibration);
  r.pp_efficiency = r.flops_per_s / p.peak_flops.value;
  r.tg_efficiency = r.bytes_per_s / p.memory_bandwidth.value;
  r.pp_tokens_per_s = 1 / PromptSeconds(p, m, 1, 0);
  r.pp_all_logits_tokens_per_s = 1 / PromptSeconds(p, m, 1, 1);
  r.tg_tokens_per_s = 1 / GenerateSeconds(p, m, 1);
  return r;
}

double PromptSeconds(const Profile& p, const ModelShape& m, double tokens, double outputs) {
  // A shape with no layer parameters left (numbers that do not add up) is charged its whole count.
  const double body = BodyFlops(m.params, m.input_embd_params, m.output_params);
  return (tokens * (body > 0 ? body : 2 * m.params) + outputs * 2 * m.output_params) / CalibratedFlops(p.calibration);
}

double GenerateSeconds(const Profile& p, const ModelShape& m, double tokens) {
  return tokens * std::max(1.0, m.bytes - m.input_embd_bytes) / CalibratedBytes(p.calibration);
}

uint64_t PotContext(const ModelShape& m) {
  return m.n_ctx_train == 0 ? engine::kDefaultContext : std::min<uint64_t>(m.n_ctx_train, engine::kDefaultContext);
}

double KvCacheBytes(const ModelShape& m, uint64_t n_ctx) {
  return static_cast<double>(n_ctx) * static_cast<double>(m.n_layer) * 2 * static_cast<double>(m.n_embd_kv) * 2;
}

double KlLogitsFileBytes(uint64_t n_vocab, uint64_t n_tokens, uint64_t n_ctx) {
  const double chunks = std::floor(static_cast<double>(n_tokens) / static_cast<double>(n_ctx));
  const double scored_per_chunk = static_cast<double>(n_ctx - 1 - n_ctx / 2);
  const double nv = 2 * static_cast<double>((n_vocab + 1) / 2) + 4;  // uint16 per scored token
  return 8 + 4 + 4 + 4 + chunks * static_cast<double>(n_ctx) * 4 + chunks * scored_per_chunk * nv * 2;
}

Status EstimateMethod(const std::string& method, const ModelShape& m, const Profile& p, const Workload& w,
                      MethodEstimate* out) {
  const Model model(m, p);
  MethodEstimate e;
  e.method = method;
  const double n = static_cast<double>(w.prompts), t = static_cast<double>(w.tokens);
  const double pt = static_cast<double>(w.prompt_tokens);
  const double c = static_cast<double>(w.challenges);
  const uint64_t ctx = PotContext(m);
  const std::string prompts = Count(w.prompts) + " prompts";
  if (method == "fixed-n") {
    Add(&e, model.LoadText("the reference"), model.Load());
    Add(&e, "reference, " + prompts + ": " + model.PpText(n * pt, n), model.Pp(n * pt, n));
    Add(&e, "reference, " + prompts + ": " + model.TgText(n * t), model.Tg(n * t));
    Add(&e, model.LoadText("the candidate"), model.Load());
    Add(&e, "candidate, " + prompts + ": " + model.PpText(n * pt, n), model.Pp(n * pt, n));
    Add(&e, "candidate, " + prompts + ": " + model.TgText(n * t), model.Tg(n * t));
    e.bytes_written = n * t * kStoredBytesPerToken;
    SetMemory(&e, m.bytes + model.Kv(ctx) + model.Buffers(), model.Limit());
    e.note = "one model at a time; the reference's tokens and top-8 log-probabilities stored (" +
             HumanBytes(e.bytes_written) + ")";
  } else if (method == "selfcheck") {
    Add(&e, model.LoadText("the model"), model.Load());
    Add(&e, "2 runs x " + prompts + ": " + model.PpText(2 * n * pt, 2 * n), model.Pp(2 * n * pt, 2 * n));
    Add(&e, "2 runs x " + prompts + ": " + model.TgText(2 * n * t), model.Tg(2 * n * t));
    SetMemory(&e, m.bytes + 2 * (model.Kv(ctx) + model.Buffers()), model.Limit());
    e.note = "two contexts in lockstep, memory constant in the number of prompts; with --journal add the model's "
             "SHA-256, estimate " + HumanSeconds(model.Hash(m.bytes));
  } else if (method == "kl") {
    const uint64_t text = w.prompts * w.tokens;
    const double logits = KlLogitsFileBytes(m.n_vocab, text, kPerplexityContext);
    // llama-perplexity evaluates whole chunks only, and scores (computes logits for) the second half of each.
    const double chunks = std::floor(static_cast<double>(text) / kPerplexityContext);
    const double tokens = chunks * kPerplexityContext, scored = chunks * (kPerplexityContext - 1 - kPerplexityContext / 2);
    const double disk = p.read_bytes_per_s.value;
    Add(&e, model.LoadText("the base model"), model.Load());
    Add(&e, "base pass over a text of " + Count(text) + " tokens, " + Fmt("%.0f", chunks) + " chunks: " + model.PpText(tokens, scored),
        model.Pp(tokens, scored));
    AddIf(&e, model.ScoreText(scored, "log-probabilities to 16 bits"), model.Score(scored, 0.5));
    Add(&e, "write the logits file: " + HumanBytes(logits) + " at " + HumanBytes(disk) + "/s", logits / disk);
    Add(&e, model.LoadText("the candidate"), model.Load());
    Add(&e, "candidate pass: " + model.PpText(tokens, scored), model.Pp(tokens, scored));
    AddIf(&e, model.ScoreText(scored, "KL against the file's log-probabilities"), model.Score(scored, 1));
    Add(&e, "read the logits file back", logits / disk);
    e.bytes_written = logits;
    SetMemory(&e, m.bytes + model.Kv(kPerplexityContext) + model.Buffers() + kPerplexityContext * m.n_vocab * 4.0,
              model.Limit());
    e.note = "llama-perplexity -c 512: 2 x n_vocab + 8 bytes per scored token (half of each chunk), 16-bit "
             "log-probabilities; llama-perplexity refuses a text shorter than 2 chunks";
  } else if (method == "verify" || method == "verify-reference") {
    const bool both = method == "verify";
    const std::string k = Count(w.challenges) + " challenges x " + Count(w.prompt_tokens) + " tokens";
    if (both) Add(&e, model.LoadText("the reference"), model.Load());
    Add(&e, model.LoadText("the candidate"), model.Load());
    if (both) Add(&e, model.HashText("the reference", m.bytes, 2), model.Hash(m.bytes, 2));
    Add(&e, model.HashText("the candidate", m.bytes, 2), model.Hash(m.bytes, 2));
    if (both) Add(&e, "reference, " + k + ": " + model.PpText(c * pt, c * pt), model.Pp(c * pt, c * pt));
    Add(&e, "candidate, " + k + ": " + model.PpText(c * pt, c * pt), model.Pp(c * pt, c * pt));
    if (both) {
      AddIf(&e, model.ScoreText(c * pt, "both distributions and their distance"), model.Score(c * pt, 1));
    } else {
      AddIf(&e, model.ScoreText(c * pt, "the candidate's distribution against the file's rows"), model.Score(c * pt, 0.5));
    }
    const double one = m.bytes + model.Kv(ctx) + model.Buffers();
    SetMemory(&e, both ? 2 * one : one, model.Limit());
    e.note = both ? "both models resident (teacher-forced, K = 0); challenges to a decision are an input (--challenges)"
                  : "candidate only, against a reference file built beforehand (pot reference build: the same "
                    "work on the reference alone)";
    if (both && !e.fits) e.note += "; two models do not fit: verify-reference holds one";
  } else if (method == "hash") {
    Add(&e, "start pot, read the header", p.process_start_s.value);
    Add(&e, model.HashText("the model", m.bytes), model.Hash(m.bytes));
    SetMemory(&e, kHashBuffers, model.Limit());
    e.note = "streamed, one model; pot's own reader, no llama.cpp model load";
  } else if (method == "diff") {
    const double disk = p.read_bytes_per_s.value;
    Add(&e, "start pot, read both headers", p.process_start_s.value);
    Add(&e, "read both files: " + HumanBytes(2 * m.bytes) + " at " + HumanBytes(disk) + "/s", 2 * m.bytes / disk);
    Add(&e, "dequantize and compare " + Fmt("%.3g", m.params) + " elements x 2 at " +
                Fmt("%.3g", p.dequant_elements_per_s.value) + "/s (one core)",
        2 * m.params / p.dequant_elements_per_s.value);
    SetMemory(&e, kDiffBuffers, model.Limit());
    e.note = "streamed in chunks; both files loaded instead would need " + HumanBytes(2 * m.bytes) +
             (2 * m.bytes <= model.Limit() ? " (fits)" : " (does not fit)");
  } else if (method == "activations") {
    const double spill = c * pt * static_cast<double>(m.n_layer) * static_cast<double>(m.n_embd) * 4;
    const double disk = p.read_bytes_per_s.value;
    const std::string k = Count(w.challenges) + " challenges";
    Add(&e, model.LoadText("the reference"), model.Load());
    // Every position is decoded with its logits requested (src/activations), so the last layer's output is
    // kept for every row: the output layer runs at every position.
    Add(&e, "reference, " + k + ": " + model.PpText(c * pt, c * pt), model.Pp(c * pt, c * pt));
    Add(&e, "spill every layer's hidden state: " + HumanBytes(spill) + " (f32)", spill / disk);
    Add(&e, model.LoadText("the candidate"), model.Load());
    Add(&e, "candidate, " + k + ": " + model.PpText(c * pt, c * pt), model.Pp(c * pt, c * pt));
    Add(&e, "read the spill back and compare", spill / disk);
    e.bytes_written = spill;
    SetMemory(&e, m.bytes + model.Kv(ctx) + model.Buffers() + pt * static_cast<double>(m.n_embd) * 4, model.Limit());
    e.note = "one model at a time, per-layer activations spilled to disk";
  } else if (method == "gradients") {
    const double f32 = 4 * m.params;
    const double disk = p.read_bytes_per_s.value;
    // src/gradients: the challenges, concatenated and repeated, fill a training context of a multiple of 256
    // positions; each model takes one pass per layer and one for the rest (output_norm, output), and a pass is
    // a forward and a backward over the whole context with the logits of every position (3x a forward).
    const double positions = std::max(1.0, std::ceil(c * pt / 256)) * 256;
    const double passes = static_cast<double>(m.n_layer) + 1;
    const double tokens = 3 * passes * positions;
    const std::string k = Count(w.challenges) + " challenges in " + Count(static_cast<uint64_t>(positions)) +
                          " positions, " + Count(static_cast<uint64_t>(passes)) + " passes x 3 (forward + backward)";
    for (const char* who : {"reference", "candidate"}) {
      Add(&e, std::string("load the ") + who + " in F32: " + HumanBytes(f32) + " at " + HumanBytes(disk) + "/s",
          p.startup_s.value + f32 / disk);
      Add(&e, std::string(who) + ", " + k + ": " + model.PpText(tokens, tokens), model.Pp(tokens, tokens));
    }
    const double grad = 4 * m.largest_tensor_elements;
    SetMemory(&e, f32 + grad + model.Kv(ctx) + model.Buffers(), model.Limit());
    e.note = "F32 weights only (" + HumanBytes(f32) + " per model), one model at a time, plus one tensor's gradient (" +
             HumanBytes(grad) + "); prompt processing at the calibrated quantized rate";
  } else if (method == "endpoint") {
    const double ke = static_cast<double>(w.endpoint_tokens), ce = static_cast<double>(w.endpoint_challenges);
    const std::string k = Count(w.endpoint_challenges) + " challenges x (" + Count(w.prompt_tokens) + " + " +
                          Count(w.endpoint_tokens) + " tokens)";
    Add(&e, model.LoadText("the reference"), model.Load());
    Add(&e, model.HashText("the reference", m.bytes, 2), model.Hash(m.bytes, 2));
    Add(&e, "reference, " + k + ": " + model.PpText(ce * (pt + ke), ce * (pt + ke)), model.Pp(ce * (pt + ke), ce * (pt + ke)));
    AddIf(&e, model.ScoreText(ce * (pt + ke), "the reference's distribution against the endpoint's tokens"),
          model.Score(ce * (pt + ke), 0.5));
    Add(&e, "the server, as if on this profile: " + model.PpText(ce * pt, ce) + ", " + model.TgText(ce * ke),
        model.Pp(ce * pt, ce) + model.Tg(ce * ke));
    SetMemory(&e, m.bytes + model.Kv(ctx) + model.Buffers(), model.Limit());
    e.note = "memory on this side only (the reference); requests one at a time (--parallel 1), so the wall time "
             "waits for the server's generation, on its own hardware in a real run";
  } else {
    std::string names;
    for (const auto& name : MethodNames()) names += (names.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("unknown method '" + method + "' (methods: " + names + ", all)");
  }
  *out = std::move(e);
  return Status::OK();
}

}  // namespace pot::estimate
