#include "evidence/transcript.h"

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "merkle/merkle.h"
#include "placement/placement.h"
#include "text/text.h"
#include "util/json.h"

namespace pot::evidence {
namespace {

using json = nlohmann::ordered_json;

json ReferenceFileJson(const std::optional<ReferenceFileRef>& r) {
  if (!r) return nullptr;
  return {{"name", r->name}, {"sha256", r->sha256}, {"signer", r->signer_hex}, {"signer_trust", r->signer_trust}};
}

std::optional<ReferenceFileRef> ReferenceFileFrom(const json& j) {
  if (j.is_null()) return std::nullopt;
  ReferenceFileRef r{j.at("name").get<std::string>(), j.at("sha256").get<std::string>(),
                     j.at("signer").get<std::string>(), j.at("signer_trust").get<std::string>()};
  if (r.signer_trust != kSignerPinned && r.signer_trust != kSignerUnpinned) {
    throw std::invalid_argument("unknown reference signer_trust '" + r.signer_trust + "'");
  }
  return r;
}

stats::Decision DecisionFrom(const std::string& name) {
  for (auto d : {stats::Decision::kSame, stats::Decision::kDifferent, stats::Decision::kUndecided}) {
    if (name == stats::DecisionName(d)) return d;
  }
  throw std::invalid_argument("unknown decision '" + name + "'");
}

verify::Distance DistanceFrom(const std::string& name) {
  for (auto d : {verify::Distance::kTotalVariation, verify::Distance::kJensenShannon}) {
    if (name == verify::DistanceName(d)) return d;
  }
  throw std::invalid_argument("unknown distance '" + name + "'");
}

// A side's placement: null, or an object as placement::Describe writes it (checked member by member).
std::string PlacementFrom(const json& j) {
  if (j.is_null()) return "";
  if (!placement::IsDescription(j)) throw std::invalid_argument("placement is not a placement description");
  return text::DumpJson(j);
}

json PlacementJson(const std::string& text) { return text.empty() ? json(nullptr) : json::parse(text); }

json EndpointJson(const std::optional<EndpointRef>& e) {
  if (!e) return nullptr;
  return {{"url", e->url}, {"api", e->api}, {"model_requested", e->model_requested}, {"model_served", e->model_served},
          {"fingerprint", e->fingerprint}, {"score", e->score}, {"tau", e->tau}, {"top_logprobs", e->top_logprobs}, {"system", e->system}};
}

std::optional<EndpointRef> EndpointFrom(const json& j) {
  if (j.is_null()) return std::nullopt;
  EndpointRef e;
  e.url = j.at("url").get<std::string>();
  e.api = j.at("api").get<std::string>();
  e.model_requested = j.at("model_requested").get<std::string>();
  e.model_served = j.at("model_served").get<std::string>();
  e.fingerprint = j.at("fingerprint").get<std::string>();
  e.score = j.at("score").get<std::string>();
  e.tau = j.at("tau").get<double>();
  e.top_logprobs = IntegerAt<int>(j, "top_logprobs");
  e.system = j.at("system").get<std::string>();
  return e;
}

json ExchangeJson(const std::optional<Exchange>& x) {
  if (!x) return nullptr;
  return {{"request", x->request}, {"response", x->response}, {"token_scores", x->token_scores}};
}

std::optional<Exchange> ExchangeFrom(const json& j) {
  if (j.is_null()) return std::nullopt;
  Exchange x;
  x.request = j.at("request").get<std::string>();
  x.response = j.at("response").get<std::string>();
  const json& scores = j.at("token_scores");
  if (!scores.is_array()) throw std::invalid_argument("token_scores: not an array");
  for (const json& v : scores) {
    if (!v.is_number()) throw std::invalid_argument("token_scores: not a number");
    x.token_scores.push_back(v.get<double>());
  }
  return x;
}

Header HeaderFrom(const json& j, int* version) {
  *version = IntegerAt<int>(j, "version");
  if (*version < 3 || *version > kTranscriptVersion) throw std::invalid_argument("unsupported transcript version");
  Header h;
  h.version = *version;
  h.pot_version = j.at("pot_version").get<std::string>();
  h.llama_commit = j.at("llama_commit").get<std::string>();
  h.reference = ModelRefFrom(j.at("reference"));
  if (*version >= 4) h.endpoint = EndpointFrom(j.at("endpoint"));
  if (h.endpoint) {
    if (!j.at("candidate").is_null()) throw std::invalid_argument("an endpoint run names no candidate model");
  } else {
    h.candidate = ModelRefFrom(j.at("candidate"));
  }
  h.reference_file = ReferenceFileFrom(j.at("reference_file"));
  h.vocab_sha256 = j.at("vocab_sha256").get<std::string>();
  const json& c = j.at("challenges");
  h.commitment = c.at("commitment").get<std::string>();
  h.family = c.at("family").get<std::string>();
  h.family_params = c.at("params").get<std::string>();
  h.n_max_committed = IntegerAt<uint64_t>(c, "n_max");
  const json& t = j.at("test");
  h.test.alpha = t.at("alpha").get<double>();
  h.test.beta = t.at("beta").get<double>();
  h.test.epsilon = t.at("epsilon").get<double>();
  h.test.n_max = IntegerAt<uint64_t>(t, "n_max");
  h.test.bet = stats::Bet::kPlugIn;  // the one rule before version 6
  if (*version >= 6) {
    if (Status s = stats::BetFrom(t.at("bet").get<std::string>(), &h.test.bet); !s.ok()) {
      throw std::invalid_argument(s.message());
    }
  }
  h.distance = DistanceFrom(t.at("distance").get<std::string>());
  h.continuation_tokens = IntegerAt<int>(t, "continuation_tokens");
  h.cand_ubatch = IntegerAt<uint32_t>(t, "cand_ubatch");
  h.cand_flash_attn = t.at("cand_flash_attn").get<bool>();
  h.topk = IntegerAt<int>(t, "topk");
  if (*version >= 5) {
    const json& placed = j.at("placement");
    h.ref_placement = PlacementFrom(placed.at("reference"));
    h.cand_placement = PlacementFrom(placed.at("candidate"));
  }
  return h;
}

Record RecordFrom(const json& j, verify::Distance distance, int version, bool endpoint) {
  Record r;
  r.index = IntegerAt<uint64_t>(j, "index");
  r.prompt = j.at("prompt").get<std::string>();
  r.tag = j.at("tag").get<std::string>();
  r.prompt_tokens = IntegersAt<int32_t>(j, "prompt_tokens");
  r.continuation = IntegersAt<int32_t>(j, "continuation");
  r.topk_sha256 = j.at("topk_sha256").get<std::string>();
  r.score.positions = IntegerAt<uint32_t>(j, "positions");
  r.score.score = j.at("score").get<double>();
  r.score.mean_tv = j.at("tv").get<double>();
  if (distance == verify::Distance::kJensenShannon) r.score.mean_js = j.at("js").get<double>();
  r.score.mean_kl = j.at("kl").get<double>();
  r.score.top1_agreement = j.at("top1_agreement").get<double>();
  r.score.mean_abs_dnll = j.at("mean_abs_dnll").get<double>();
  r.lower = j.at("lower").get<double>();
  r.upper = j.at("upper").get<double>();
  if (version >= 4) r.exchange = ExchangeFrom(j.at("exchange"));
  if (r.exchange.has_value() != endpoint) throw std::invalid_argument(endpoint ? "no exchange in an endpoint run" : "an exchange outside an endpoint run");
  return r;
}

Outcome OutcomeFrom(const json& j) {
  Outcome o;
  o.decision = DecisionFrom(j.at("decision").get<std::string>());
  o.n_used = IntegerAt<uint64_t>(j, "n_used");
  o.mean = j.at("mean_score").get<double>();
  o.lower = j.at("lower").get<double>();
  o.upper = j.at("upper").get<double>();
  return o;
}

}  // namespace

json ModelRefJson(const ModelRef& m) {
  return {{"files", m.files}, {"file_sha256", m.file_sha256s}, {"manifest_root", m.manifest_root},
          {"weights_root", m.weights_root}};
}

ModelRef ModelRefFrom(const json& j) {
  ModelRef m;
  m.files = j.at("files").get<std::vector<std::string>>();
  m.file_sha256s = j.at("file_sha256").get<std::vector<std::string>>();
  m.manifest_root = j.at("manifest_root").get<std::string>();
  m.weights_root = j.at("weights_root").get<std::string>();
  if (m.files.empty() || m.files.size() != m.file_sha256s.size()) throw std::invalid_argument("model files");
  return m;
}

Status DescribeModel(Env* env, const std::string& path, manifest::HashOptions options, ModelRef* out) {
  options.file_digest = true;
  manifest::Manifest m;
  POT_RETURN_IF_ERROR(manifest::HashModel(env, path, options, &m));
  *out = ModelRef{};
  for (const auto& shard : m.shards) {
    out->files.push_back(shard.file);
    out->file_sha256s.push_back(shard.file_sha256);
  }
  out->manifest_root = m.root;
  out->weights_root = m.weights_root;
  return Status::OK();
}

bool SameModel(const ModelRef& a, const ModelRef& b) {
  return a.files == b.files && a.file_sha256s == b.file_sha256s && a.manifest_root == b.manifest_root &&
         a.weights_root == b.weights_root;
}

std::string HeaderLine(const Header& h) {
  json test = {{"alpha", h.test.alpha}, {"beta", h.test.beta}, {"epsilon", h.test.epsilon}, {"n_max", h.test.n_max}};
  if (h.version >= 6) test["bet"] = stats::BetName(h.test.bet);
  test["distance"] = verify::DistanceName(h.distance);
  test["continuation_tokens"] = h.continuation_tokens;
  test["cand_ubatch"] = h.cand_ubatch;
  test["cand_flash_attn"] = h.cand_flash_attn;
  test["topk"] = h.topk;
  json j = {{"type", "header"},
            {"format", "pot.transcript"},
            {"version", h.version},
            {"pot_version", h.pot_version},
            {"llama_commit", h.llama_commit},
            {"reference", ModelRefJson(h.reference)},
            {"candidate", h.endpoint ? json(nullptr) : ModelRefJson(h.candidate)},
            {"reference_file", ReferenceFileJson(h.reference_file)}};
  if (h.version >= 4) j["endpoint"] = EndpointJson(h.endpoint);
  j["vocab_sha256"] = h.vocab_sha256;
  j["challenges"] = {{"commitment", h.commitment}, {"family", h.family}, {"params", h.family_params}, {"n_max", h.n_max_committed}};
  j["test"] = std::move(test);
  if (h.version >= 5) {
    j["placement"] = {{"reference", PlacementJson(h.ref_placement)}, {"candidate", PlacementJson(h.cand_placement)}};
  }
  return text::DumpJson(j);
}

std::string RecordLine(const Record& r, verify::Distance distance) {
  json j = {{"type", "challenge"},       {"index", r.index},
            {"prompt", r.prompt},        {"tag", r.tag},
            {"prompt_tokens", r.prompt_tokens}, {"continuation", r.continuation},
            {"topk_sha256", r.topk_sha256}, {"positions", r.score.positions},
            {"score", r.score.score},    {"tv", r.score.mean_tv}};
  if (distance == verify::Distance::kJensenShannon) j["js"] = r.score.mean_js;
  j["kl"] = r.score.mean_kl;
  j["top1_agreement"] = r.score.top1_agreement;
  j["mean_abs_dnll"] = r.score.mean_abs_dnll;
  j["lower"] = r.lower;
  j["upper"] = r.upper;
  j["exchange"] = ExchangeJson(r.exchange);
  return text::DumpJson(j);
}

std::string OutcomeLine(const Outcome& o) {
  json j = {{"type", "outcome"},      {"decision", stats::DecisionName(o.decision)},
            {"n_used", o.n_used},     {"mean_score", o.mean},
            {"lower", o.lower},       {"upper", o.upper}};
  return text::DumpJson(j);
}

Status ParseTranscript(const std::vector<std::string>& lines, Transcript* out) {
  Transcript t;
  int version = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = "transcript line " + std::to_string(i + 1);
    const json j = ParseJson<json>(lines[i]);
    if (j.is_discarded() || !j.is_object()) return Status::Corruption(where + ": not a JSON object");
    try {
      const std::string type = j.at("type").get<std::string>();
      if (i == 0) {
        if (type != "header" || j.at("format").get<std::string>() != "pot.transcript") {
          return Status::Corruption(where + ": a transcript starts with its header");
        }
        t.header = HeaderFrom(j, &version);
      } else if (t.finished) {
        return Status::Corruption(where + ": nothing may follow the outcome");
      } else if (type == "challenge") {
        t.records.push_back(RecordFrom(j, t.header.distance, version, t.header.endpoint.has_value()));
      } else if (type == "outcome") {
        t.outcome = OutcomeFrom(j);
        t.finished = true;
      } else {
        return Status::Corruption(where + ": unexpected line type '" + type + "'");
      }
    } catch (const std::exception& e) {
      return Status::Corruption(where + ": " + e.what());
    }
  }
  if (lines.empty()) return Status::Corruption("empty transcript");
  *out = std::move(t);
  return Status::OK();
}

std::string TranscriptRoot(const std::vector<std::string>& lines) {
  std::vector<std::string> leaves;
  leaves.reserve(lines.size());
  for (const auto& line : lines) leaves.push_back(merkle::LeafHash(line));
  return HexOf(merkle::Root(leaves));
}

}  // namespace pot::evidence
