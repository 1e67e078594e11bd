#include "reference/reference.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crypto/hmac.h"
#include "gguf/model_info.h"
#include "journal/journal.h"
#include "llama.h"
#include "util/json.h"

namespace pot::reference {
namespace {

using json = nlohmann::ordered_json;

constexpr char kMagic[] = "POTREF1\n";  // 8 bytes
constexpr size_t kMagicBytes = 8;
constexpr size_t kSignatureBlockBytes = 32 + 64;  // public key, signature
constexpr double kLogpScale = 262144.0;           // 2^18 steps per nat
constexpr uint32_t kU24Max = (1u << 24) - 1;

void PutU16(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
}
void PutU24(std::string* out, uint32_t v) {
  PutU16(out, v & 0xffff);
  out->push_back(static_cast<char>((v >> 16) & 0xff));
}

uint32_t QuantizeLogp(float logp) {
  const double q = std::round(-static_cast<double>(logp) * kLogpScale);
  return static_cast<uint32_t>(std::clamp(q, 0.0, static_cast<double>(kU24Max)));
}
float DequantizeLogp(uint32_t q) { return static_cast<float>(-static_cast<double>(q) / kLogpScale); }

// A bounds-checked little-endian cursor over a record section.
class Cursor {
 public:
  Cursor(const std::string& bytes, size_t pos, size_t end) : b_(bytes), pos_(pos), end_(end) {}
  bool Has(size_t n) const { return end_ - pos_ >= n; }
  bool AtEnd() const { return pos_ == end_; }
  size_t pos() const { return pos_; }
  void Skip(size_t n) { pos_ += n; }
  uint32_t U(int bytes) {
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += bytes;
    return v;
  }
  float F32() {
    const uint32_t bits = U(4);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }

 private:
  const std::string& b_;
  size_t pos_, end_;
};

Header HeaderFrom(const json& j) {
  if (j.at("format").get<std::string>() != "pot.reference") throw std::invalid_argument("not a pot reference header");
  Header h;
  h.version = IntegerAt<int>(j, "version");
  if (h.version != kFormatVersion && h.version != 1) throw std::invalid_argument("unsupported reference version");
  h.pot_version = j.at("pot_version").get<std::string>();
  h.llama_commit = j.at("llama_commit").get<std::string>();
  h.model = evidence::ModelRefFrom(j.at("model"));
  h.vocab_sha256 = j.at("vocab_sha256").get<std::string>();
  h.n_vocab = IntegerAt<uint32_t>(j, "n_vocab");
  const json& c = j.at("challenges");
  h.commitment = c.at("commitment").get<std::string>();
  h.family = c.at("family").get<std::string>();
  h.family_params = c.at("params").get<std::string>();
  h.n_max_committed = IntegerAt<uint64_t>(c, "n_max");
  h.n = IntegerAt<uint64_t>(j, "n");
  h.continuation_tokens = IntegerAt<int>(j, "continuation_tokens");
  h.topk = IntegerAt<int>(j, "topk");
  h.tail_samples = IntegerAt<int>(j, "tail_samples");
  if (h.version >= 2) {
    if (!placement::IsDescription(j.at("placement"))) throw std::invalid_argument("placement is not a placement description");
    h.placement = j.at("placement").dump();
  }
  return h;
}

Status CheckHeader(const Header& h) {
  if (h.n_vocab < 2 || h.n_vocab > kU24Max) return Status::Unsupported("vocabulary size out of the format's range");
  if (h.topk < 1 || h.topk > kMaxTopK || static_cast<uint32_t>(h.topk) > h.n_vocab) {
    return Status::InvalidArgument("top-k must be between 1 and " + std::to_string(kMaxTopK));
  }
  if (h.tail_samples < 0 || h.tail_samples > kMaxTailSamples || h.topk + h.tail_samples >= static_cast<int>(h.n_vocab)) {
    return Status::InvalidArgument("tail samples must be between 0 and " + std::to_string(kMaxTailSamples));
  }
  if (h.continuation_tokens < 0 || h.continuation_tokens > verify::kMaxContinuationTokens) return Status::InvalidArgument("continuation tokens out of range");
  if (h.n == 0 || h.n > h.n_max_committed) return Status::InvalidArgument("n must be between 1 and the committed n_max");
  return Status::OK();
}

// One record from c; the checks make every accepted record one the encoder could have written.
Status DecodeChallenge(const Header& h, Cursor* c, Challenge* out) {
  if (!c->Has(4)) return Status::Corruption("truncated");
  const uint32_t n_prompt = c->U(2), n_continuation = c->U(2);
  if (n_prompt == 0 || n_prompt + n_continuation < 2) return Status::Corruption("a challenge needs a position to score");
  if (n_continuation > static_cast<uint32_t>(h.continuation_tokens)) return Status::Corruption("continuation too long");
  const size_t rows = n_prompt + n_continuation - 1;
  const size_t k = static_cast<size_t>(h.topk), width = k + static_cast<size_t>(h.tail_samples);
  if (!c->Has(3 * (n_prompt + n_continuation) + rows * (6 * width + 4))) return Status::Corruption("truncated");
  out->prompt_tokens.clear();
  out->continuation.clear();
  for (uint32_t i = 0; i < n_prompt + n_continuation; ++i) {
    const uint32_t id = c->U(3);
    if (id >= h.n_vocab) return Status::Corruption("token id out of the vocabulary");
    (i < n_prompt ? out->prompt_tokens : out->continuation).push_back(static_cast<int32_t>(id));
  }
  verify::ReferenceRows& r = out->rows;
  r.k = h.topk;
  r.samples = h.tail_samples;
  r.ids.resize(rows * width);
  r.logp.resize(rows * width);
  r.target_logp.resize(rows);
  for (size_t row = 0; row < rows; ++row) {
    int32_t* ids = r.ids.data() + row * width;
    float* logp = r.logp.data() + row * width;
    uint32_t previous_q = 0;
    double mass = 0;
    for (size_t j = 0; j < width; ++j) {
      const uint32_t id = c->U(3), q = c->U(3);
      if (id >= h.n_vocab) return Status::Corruption("token id out of the vocabulary");
      // The head is in descending order without repeats; a tail sample is outside the head and no likelier
      // than its last entry.
      if (q < previous_q) return Status::Corruption(j < k ? "head not in descending order" : "tail sample above the head");
      if (std::find(ids, ids + std::min(j, k), static_cast<int32_t>(id)) != ids + std::min(j, k)) {
        return Status::Corruption(j < k ? "repeated head token" : "tail sample from the head");
      }
      if (j < k) previous_q = q;
      ids[j] = static_cast<int32_t>(id);
      logp[j] = DequantizeLogp(q);
      if (j < k) mass += std::exp(static_cast<double>(logp[j]));
    }
    if (mass > 1 + 1e-4) return Status::Corruption("head probabilities sum above 1");
    const float target = c->F32();
    if (!std::isfinite(target) || target > 1e-4f) return Status::Corruption("target log-probability is not a log-probability");
    r.target_logp[row] = target;
  }
  return Status::OK();
}

// Loads the model at path with a context, and checks llama.cpp's vocabulary size is the file's n_vocab;
// mismatch is what to return when it is not (each caller names its own model).
Status LoadWithVocabulary(const std::string& path, const placement::Placement& placement,
                          const engine::ContextOptions& context, uint32_t n_vocab, const Status& mismatch,
                          engine::ModelPtr* model, engine::ContextPtr* ctx) {
  POT_RETURN_IF_ERROR(engine::LoadModel(path, {.placement = placement}, model));
  POT_RETURN_IF_ERROR(engine::NewContext(model->get(), context, ctx).WithContext(path));
  if (engine::VocabSize(ctx->get()) != static_cast<int>(n_vocab)) return mismatch;
  return Status::OK();
}

}  // namespace

std::string JournalLine(uint64_t index, const std::string& record) {
  return json{{"index", index}, {"record", Base64Encode(record)}}.dump();
}

Status CheckRecord(const Header& h, const std::string& record) {
  Challenge check;
  Cursor c(record, 0, record.size());
  POT_RETURN_IF_ERROR(DecodeChallenge(h, &c, &check));
  if (!c.AtEnd()) return Status::Corruption("bytes after the record");
  return Status::OK();
}

Status ParseJournalLine(const Header& h, const std::string& line, uint64_t index, std::string* record) {
  const json j = ParseJson<json>(line);
  const std::string at = "record " + std::to_string(index);
  if (!j.is_object() || !j.contains("index") || !j["index"].is_number_unsigned() || j["index"] != index ||
      !j.contains("record") || !j["record"].is_string() || !Base64Decode(j["record"].get<std::string>(), record) ||
      JournalLine(index, *record) != line) {
    return Status::Corruption(at + " is malformed");
  }
  return CheckRecord(h, *record).WithContext(at);
}

double TailUniform(std::string_view key, uint64_t index, uint64_t row, uint64_t j) {
  const Digest d = HmacSha256(key, Lp("pot.reference.tail.v1") + U64Le(index) + U64Le(row) + U64Le(j));
  uint64_t bits = 0;
  for (int b = 0; b < 8; ++b) bits = (bits << 8) | d[b];
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

std::string HeaderJson(const Header& h) {
  json j = {{"format", "pot.reference"},
            {"version", h.version},
            {"pot_version", h.pot_version},
            {"llama_commit", h.llama_commit},
            {"model", evidence::ModelRefJson(h.model)},
            {"vocab_sha256", h.vocab_sha256},
            {"n_vocab", h.n_vocab},
            {"challenges",
             {{"commitment", h.commitment}, {"family", h.family}, {"params", h.family_params}, {"n_max", h.n_max_committed}}},
            {"n", h.n},
            {"continuation_tokens", h.continuation_tokens},
            {"topk", h.topk},
            {"tail_samples", h.tail_samples},
            {"logp_encoding", "u24 fixed point, 2^-18 nats, clamped to [-64, 0]"}};
  // A header made without a placement (tests, tools) describes this host's CPU, the default.
  if (h.version >= 2) j["placement"] = h.placement.empty() ? placement::Describe({}) : json::parse(h.placement);
  return j.dump();
}

Status EncodeChallenge(const Header& h, const Challenge& c, std::string* out) {
  const size_t rows = c.prompt_tokens.size() + c.continuation.size() - 1;
  if (c.prompt_tokens.empty() || c.prompt_tokens.size() > 0xffff || c.continuation.size() > 0xffff ||
      c.rows.k != h.topk || c.rows.samples != h.tail_samples || c.rows.rows() != rows || c.rows.target_logp.size() != rows || rows == 0) {
    return Status::Internal("reference record shape is inconsistent");
  }
  out->clear();
  PutU16(out, static_cast<uint32_t>(c.prompt_tokens.size()));
  PutU16(out, static_cast<uint32_t>(c.continuation.size()));
  for (const auto* tokens : {&c.prompt_tokens, &c.continuation}) {
    for (int32_t t : *tokens) PutU24(out, static_cast<uint32_t>(t));
  }
  for (size_t i = 0; i < c.rows.ids.size(); ++i) {
    if (!std::isfinite(c.rows.logp[i])) return Status::Internal("non-finite reference log-probability");
    PutU24(out, static_cast<uint32_t>(c.rows.ids[i]));
    PutU24(out, QuantizeLogp(c.rows.logp[i]));
    if ((i + 1) % c.rows.width() == 0) {
      const float target = c.rows.target_logp[i / c.rows.width()];
      if (!std::isfinite(target)) return Status::Internal("non-finite target log-probability");
      out->append(U32Le(std::bit_cast<uint32_t>(target)));
    }
  }
  return Status::OK();
}

Status Assemble(const Header& h, const std::vector<std::string>& records, const SigningKey& signer, std::string* out) {
  if (records.size() != h.n) return Status::Internal("a reference file needs all of its n records");
  const std::string header = HeaderJson(h);
  std::string body = kMagic;
  body += U32Le(static_cast<uint32_t>(header.size()));
  body += header;
  for (const auto& r : records) body += r;
  std::string signature;
  POT_RETURN_IF_ERROR(Sign(signer, DssePae(kPayloadType, body), &signature));
  *out = body + signer.public_raw + signature;
  return Status::OK();
}

Status ParseHeader(const std::string& text, Header* out) {
  try {
    *out = HeaderFrom(ParseJson<json>(text));
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("reference header: ") + e.what());
  }
  if (HeaderJson(*out) != text) return Status::Corruption("reference header is not in canonical form");
  return CheckHeader(*out).WithContext("reference header");
}

Status ParseFile(const std::string& bytes, File* out) {
  if (bytes.size() < kMagicBytes || bytes.compare(0, kMagicBytes, kMagic) != 0) {
    return Status::Corruption("not a pot reference file");
  }
  if (bytes.size() < kMagicBytes + 4 + kSignatureBlockBytes) return Status::Corruption("truncated reference file");
  const size_t body_end = bytes.size() - kSignatureBlockBytes;
  File f;
  f.signer = bytes.substr(body_end, 32);
  const std::string body = bytes.substr(0, body_end);
  if (!VerifySignature(f.signer, DssePae(kPayloadType, body), bytes.substr(body_end + 32)).ok()) {
    return Status::Corruption("reference file signature does not verify (altered or truncated)");
  }
  Cursor c(bytes, kMagicBytes, body_end);
  const uint32_t header_bytes = c.U(4);
  if (!c.Has(header_bytes)) return Status::Corruption("truncated header");
  POT_RETURN_IF_ERROR(ParseHeader(bytes.substr(c.pos(), header_bytes), &f.header));
  c.Skip(header_bytes);
  // Records are decoded one by one, never allocated up front: n is the file's claim, bounded only by its bytes.
  for (uint64_t i = 0; i < f.header.n; ++i) {
    POT_RETURN_IF_ERROR(DecodeChallenge(f.header, &c, &f.challenges.emplace_back()).WithContext("challenge " + std::to_string(i)));
  }
  if (!c.AtEnd()) return Status::Corruption("bytes after the last challenge");
  f.sha256 = ToHex(Sha256Of(bytes));
  *out = std::move(f);
  return Status::OK();
}

Status ReadFile(Env* env, const std::string& path, File* out) {
  std::string bytes;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &bytes));
  return ParseFile(bytes, out).WithContext(path);
}

Status BuildHeader(Env* env, const BuildOptions& o, Header* out) {
  gguf::ModelInfo info;
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, o.model_path, &info));
  if (info.vocab_sha256.empty()) return Status::InvalidArgument(o.model_path + ": the model has no tokenizer vocabulary");
  Header h;
  h.pot_version = POT_VERSION;
  h.placement = placement::Describe(o.placement).dump();
  h.llama_commit = POT_LLAMA_COMMIT;
  h.vocab_sha256 = info.vocab_sha256;
  if (info.n_vocab > kU24Max) return Status::Unsupported("vocabulary size out of the format's range");
  h.n_vocab = static_cast<uint32_t>(info.n_vocab);
  h.commitment = ToHex(o.key.commitment);
  h.family = o.key.family.name;
  h.family_params = o.key.family.params;
  h.n_max_committed = o.key.n_max;
  h.n = o.n;
  h.continuation_tokens = o.continuation_tokens;
  h.topk = o.topk;
  h.tail_samples = o.tail_samples;
  POT_RETURN_IF_ERROR(CheckHeader(h));
  manifest::HashOptions hashing;
  hashing.progress = o.hash_progress;
  POT_RETURN_IF_ERROR(evidence::DescribeModel(env, o.model_path, hashing, &h.model));
  *out = std::move(h);
  return Status::OK();
}

Status BuildRecords(Env* env, const BuildOptions& o, const Header& h, const std::string& journal_path,
                    const std::string& journal_header, uint64_t first, uint64_t end, std::vector<std::string>* records,
                    uint64_t* resumed_from) {
  records->clear();
  *resumed_from = 0;
  if (first > end || end > h.n) return Status::Internal("challenge range beyond the reference file");
  std::unique_ptr<challenge::Generator> gen;
  POT_RETURN_IF_ERROR(challenge::NewGenerator(env, o.key.key, o.key.family, o.corpus_path, &gen));
  std::vector<std::string> done;
  std::unique_ptr<journal::Journal> journal;
  POT_RETURN_IF_ERROR(journal::Journal::Open(
      env, journal_path, journal_header,
      [](const std::string& line) { return ParseJson<json>(line).is_object(); }, &done, &journal));
  if (done.size() > end - first) return Status::Corruption(journal_path + ": more records than challenges");
  for (const auto& line : done) {
    std::string record;
    POT_RETURN_IF_ERROR(ParseJournalLine(h, line, first + records->size(), &record).WithContext(journal_path));
    records->push_back(std::move(record));
  }
  *resumed_from = records->size();
  if (o.build_progress) o.build_progress(records->size(), end - first);

  if (records->size() < end - first) {
    engine::ModelPtr model;
    engine::ContextPtr ctx;
    POT_RETURN_IF_ERROR(LoadWithVocabulary(
        o.model_path, o.placement, o.context, h.n_vocab,
        Status::Corruption(o.model_path + ": vocabulary size differs between the GGUF metadata and llama.cpp"), &model, &ctx));
    engine::Distributions dist;
    std::vector<int32_t> sequence, targets;
    for (uint64_t i = first + records->size(); i < end; ++i) {
      if (o.stop && o.stop()) return Status::Internal("interrupted");
      challenge::Challenge ch;
      POT_RETURN_IF_ERROR(gen->Generate(i, &ch));
      verify::ChallengeRecord rec;
      Challenge entry;
      std::string record;
      Status s = verify::ReferencePass(ctx.get(), ch.prompt, h.continuation_tokens, &rec, &dist, &sequence, &targets);
      if (s.ok() && rec.prompt_tokens.size() + rec.continuation.size() < 2) {
        s = Status::InvalidArgument("the challenge text is a single token: nothing to score");
      }
      if (s.ok()) {
        entry.prompt_tokens = rec.prompt_tokens;
        entry.continuation = rec.continuation;
        verify::ExtractReferenceRows(dist, targets, h.topk, h.tail_samples,
                                     [&](size_t row, int j) { return TailUniform(o.key.key, i, row, j); }, &entry.rows);
        s = EncodeChallenge(h, entry, &record);
      }
      if (s.ok()) s = journal->Append(JournalLine(i, record));
      if (!s.ok()) return s.WithContext("challenge " + std::to_string(i));
      records->push_back(std::move(record));
      if (o.build_progress) o.build_progress(records->size(), end - first);
    }
  }
  return journal->Close();
}

Status Build(Env* env, const BuildOptions& o, uint64_t* resumed_from) {
  *resumed_from = 0;
  Header h;
  POT_RETURN_IF_ERROR(BuildHeader(env, o, &h));
  const std::string journal_path = o.out_path + ".journal";
  std::vector<std::string> records;
  POT_RETURN_IF_ERROR(BuildRecords(env, o, h, journal_path, HeaderJson(h), 0, h.n, &records, resumed_from));
  std::string bytes;
  POT_RETURN_IF_ERROR(Assemble(h, records, o.signer, &bytes));
  POT_RETURN_IF_ERROR(WriteFileAtomically(env, o.out_path, bytes));
  return env->RemoveFile(journal_path);
}

Status SampleChallenges(uint64_t n, uint64_t count, std::vector<uint64_t>* out) {
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i) all[i] = i;
  count = std::min(count, n);
  // A partial Fisher-Yates shuffle; the modulo bias of a 64-bit draw over at most 2^32 items is below 2^-32.
  for (uint64_t i = 0; i < count; ++i) {
    std::string bytes;
    POT_RETURN_IF_ERROR(RandomBytes(8, &bytes));
    uint64_t r = 0;
    for (char b : bytes) r = (r << 8) | static_cast<uint8_t>(b);
    std::swap(all[i], all[i + r % (n - i)]);
  }
  all.resize(count);
  std::sort(all.begin(), all.end());
  *out = std::move(all);
  return Status::OK();
}

Status RecheckRecords(const File& file, const RecheckOptions& o, RecheckResult* out) {
  *out = {};
  const Header& h = file.header;
  if (!o.key.empty() &&
      ToHex(challenge::Commit(o.key, {h.family, h.family_params}, h.n_max_committed)) != h.commitment) {
    return Status::InvalidArgument("the key does not open the reference file's commitment");
  }
  std::vector<uint64_t> indices = o.indices;
  if (indices.empty()) {
    for (uint64_t i = 0; i < h.n; ++i) indices.push_back(i);
  }
  engine::ModelPtr model;
  engine::ContextPtr ctx;
  POT_RETURN_IF_ERROR(LoadWithVocabulary(o.model_path, o.placement, o.context, h.n_vocab,
                                         Status::Corruption(o.model_path + ": its vocabulary size is not the reference file's"),
                                         &model, &ctx));
  const int samples = o.key.empty() ? 0 : h.tail_samples;
  const size_t k = static_cast<size_t>(h.topk);
  engine::Distributions dist;
  std::vector<int32_t> continuation, sequence, targets;
  verify::ReferenceRows again;
  for (uint64_t index : indices) {
    if (index >= file.challenges.size()) return Status::InvalidArgument("challenge " + std::to_string(index) + " is beyond the file");
    const Challenge& c = file.challenges[index];
    const std::string at = "challenge " + std::to_string(index);
    POT_RETURN_IF_ERROR(engine::GenerateGreedy(ctx.get(), c.prompt_tokens, h.continuation_tokens, &continuation, &dist).WithContext(at));
    if (continuation != c.continuation) {
      return Status::Corruption(at + ": the model continues the prompt with other tokens than the file holds");
    }
    verify::TeacherForcedSequence(c.prompt_tokens, continuation, &sequence, &targets);
    verify::ExtractReferenceRows(dist, targets, h.topk, samples,
                                 [&](size_t row, int j) { return TailUniform(o.key, index, row, j); }, &again);
    const verify::ReferenceRows& stored = c.rows;
    for (size_t row = 0; row < stored.rows(); ++row) {
      const std::string where = at + ", position " + std::to_string(row);
      const int32_t* ids = stored.ids.data() + row * stored.width();
      const float* logp = stored.logp.data() + row * stored.width();
      const int32_t* model_ids = again.ids.data() + row * again.width();
      for (size_t j = 0; j < stored.width(); ++j) {
        if (j < again.width() && ids[j] != model_ids[j]) {
          return Status::Corruption(where + ": the file holds token " + std::to_string(ids[j]) + " as " +
                                    (j < k ? "top-" + std::to_string(j + 1) : "tail sample " + std::to_string(j - k)) +
                                    ", the model gives token " + std::to_string(model_ids[j]));
        }
        // Stored values are clamped to the format's range; compare the model's the same way.
        const double model_logp = std::max(static_cast<double>(dist.logp_row(row)[ids[j]]), -64.0);
        const double delta = std::abs(static_cast<double>(logp[j]) - model_logp);
        if (!(delta <= o.tolerance)) {
          return Status::Corruption(where + ": token " + std::to_string(ids[j]) + " has log-probability " +
                                    std::to_string(logp[j]) + " in the file, " + std::to_string(model_logp) + " under the model");
        }
        out->largest_difference = std::max(out->largest_difference, delta);
      }
      const double target_delta = std::abs(static_cast<double>(stored.target_logp[row]) - again.target_logp[row]);
      if (!(target_delta <= o.tolerance)) {
        return Status::Corruption(where + ": the next token's log-probability is " + std::to_string(stored.target_logp[row]) +
                                  " in the file, " + std::to_string(again.target_logp[row]) + " under the model");
      }
      out->largest_difference = std::max(out->largest_difference, target_delta);
    }
    out->positions += stored.rows();
    ++out->checked;
    if (o.progress) o.progress(out->checked, indices.size());
  }
  return Status::OK();
}

Status FileScorer::Open(const File* file, const verify::ModelSide& candidate, std::unique_ptr<verify::ChallengeScorer>* out) {
  auto scorer = std::unique_ptr<FileScorer>(new FileScorer(file));
  scorer->dist_.with_p = false;  // scoring reads a few entries per row
  POT_RETURN_IF_ERROR(LoadWithVocabulary(
      candidate.path, candidate.placement, candidate.context, file->header.n_vocab,
      Status::InvalidArgument("the candidate's vocabulary size differs from the reference file's"), &scorer->model_,
      &scorer->ctx_));
  *out = std::move(scorer);
  return Status::OK();
}

Status FileScorer::Score(const challenge::Challenge& challenge, verify::ChallengeRecord* rec) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string at = "challenge " + std::to_string(challenge.index);
  if (challenge.index >= file_->challenges.size()) return Status::Internal(at + " is beyond the reference file");
  const Challenge& ref = file_->challenges[challenge.index];
  rec->challenge = challenge;
  const llama_vocab* vocab = llama_model_get_vocab(model_.get());
  POT_RETURN_IF_ERROR(engine::Tokenize(vocab, challenge.prompt, llama_vocab_get_add_bos(vocab), &tokens_).WithContext(at));
  if (tokens_ != ref.prompt_tokens) {
    return Status::Corruption(at + ": the reference file holds other tokens for this challenge's text (another key, "
                                   "or a tokenizer that splits it differently)");
  }
  rec->prompt_tokens = ref.prompt_tokens;
  rec->continuation = ref.continuation;
  verify::TeacherForcedSequence(ref.prompt_tokens, ref.continuation, &sequence_, &targets_);
  Status s = engine::Forward(ctx_.get(), sequence_, &dist_);
  if (s.ok()) s = verify::ScoreAgainstReference(ref.rows, dist_, targets_, &rec->score);
  if (!s.ok()) return s.WithContext(at);
  verify::ExtractReferenceRows(dist_, {}, ref.rows.k, 0, nullptr, &cand_topk_);
  rec->topk_sha256 = verify::TopKDigest(ref.rows, cand_topk_);
  rec->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::OK();
}

}  // namespace pot::reference
