#include "endpoint/api.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "text/text.h"
#include "util/json.h"

namespace pot::endpoint {
namespace {

using json = nlohmann::ordered_json;

// A fault in the response body: what the caller reports (with the challenge in front), exit 4.
struct Fault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& Field(const json& object, const char* key, const char* where) {
  if (!object.is_object() || !object.contains(key)) throw Fault(std::string(where) + " has no \"" + key + "\"");
  return object.at(key);
}

std::string StringField(const json& object, const char* key, const char* where) {
  const json& v = Field(object, key, where);
  if (!v.is_string()) throw Fault(std::string(where) + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

std::string OptionalString(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object.at(key).is_string()) return "";
  return object.at(key).get<std::string>();
}

int32_t TokenId(const json& v, const char* where) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) throw Fault(std::string(where) + ": a token id is not an integer");
  try {
    const int32_t id = IntegerFrom<int32_t>(v, "id");
    if (id < 0) throw Fault(std::string(where) + ": negative token id");
    return id;
  } catch (const std::out_of_range&) {
    throw Fault(std::string(where) + ": token id out of range");
  }
}

double Logprob(const json& v, const char* where) {
  if (!v.is_number()) throw Fault(std::string(where) + ": a logprob is not a number");
  const double lp = v.get<double>();
  // Probabilities are at most 1; a rounding error of a few ulps above 0 is tolerated, nothing more.
  if (!std::isfinite(lp) || lp > 1e-6) throw Fault(std::string(where) + ": logprob " + std::to_string(lp) + " is not a log-probability");
  return std::min(lp, 0.0);
}

// {"id", "token", "bytes", "logprob"} as llama-server writes both APIs' per-token entries.
TokenLogprob EntryWithId(const json& e, bool need_id, const char* where) {
  TokenLogprob t;
  if (!e.is_object()) throw Fault(std::string(where) + ": a token entry is not an object");
  if (e.contains("id")) t.id = TokenId(e.at("id"), where);
  else if (need_id) throw Fault(std::string(where) + ": a token entry has no id");
  if (e.contains("bytes")) {
    const json& b = e.at("bytes");
    if (!b.is_array()) throw Fault(std::string(where) + ": \"bytes\" is not an array");
    for (const json& x : b) {
      if (!x.is_number_unsigned() && !x.is_number_integer()) throw Fault(std::string(where) + ": a byte is not an integer");
      const long long v = x.get<long long>();
      if (v < 0 || v > 255) throw Fault(std::string(where) + ": a byte is out of range");
      t.bytes.push_back(static_cast<char>(v));
    }
    t.has_bytes = true;
  } else if (e.contains("token") && e.at("token").is_string()) {
    t.bytes = e.at("token").get<std::string>();
    t.has_bytes = true;
  }
  t.logprob = Logprob(Field(e, "logprob", where), where);
  return t;
}

// OpenAI's legacy text-completion shape names tokens by string; vLLM writes a token that is not whole
// UTF-8 as "bytes:\xNN...".
TokenLogprob LegacyToken(const std::string& s) {
  TokenLogprob t;
  t.has_bytes = true;
  static const std::string kPrefix = "bytes:";
  if (s.rfind(kPrefix, 0) == 0) {
    for (size_t i = kPrefix.size(); i < s.size();) {
      if (i + 4 > s.size() || s[i] != '\\' || s[i + 1] != 'x') throw Fault("a \"bytes:\" token is malformed");
      size_t used = 0;
      const int v = std::stoi(s.substr(i + 2, 2), &used, 16);
      if (used != 2) throw Fault("a \"bytes:\" token is malformed");
      t.bytes.push_back(static_cast<char>(v));
      i += 4;
    }
  } else {
    t.bytes = s;
  }
  return t;
}

// Every token must carry its log-probability and a full, ordered, normalisable top list that does not
// contradict it.
void CheckTopLists(const std::vector<GeneratedToken>& tokens, int k, bool passed_over_allowed) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const GeneratedToken& g = tokens[i];
    const std::string where = "token " + std::to_string(i);
    if (!g.has_logprob) {
      if (passed_over_allowed) continue;  // llama-server's, checked against the text by the scorer
      throw Fault(where + " has no logprob");
    }
    if (g.top.size() != static_cast<size_t>(k)) {
      throw Fault(where + ": " + std::to_string(g.top.size()) + " top logprobs, asked for " + std::to_string(k));
    }
    double mass = 0;
    const TokenLogprob* own = nullptr;
    for (size_t j = 0; j < g.top.size(); ++j) {
      const TokenLogprob& e = g.top[j];
      if (j > 0 && e.logprob > g.top[j - 1].logprob + 1e-6) throw Fault(where + ": top logprobs are not in order");
      mass += std::exp(e.logprob);
      const bool same = g.token.id && e.id ? *g.token.id == *e.id : (g.token.has_bytes && e.has_bytes && g.token.bytes == e.bytes);
      if (same) own = &e;
    }
    if (mass > 1 + 1e-4) throw Fault(where + ": top probabilities sum to " + std::to_string(mass) + ", more than 1");
    if (own && std::fabs(own->logprob - g.token.logprob) > 1e-4) {
      throw Fault(where + ": its logprob " + std::to_string(g.token.logprob) + " contradicts its top-list entry " +
                  std::to_string(own->logprob));
    }
    if (!own && g.token.logprob > g.top.back().logprob + 1e-4) {
      throw Fault(where + " is missing from the top list yet likelier than its last entry");
    }
  }
}

double NumberOr(const json& object, const char* key, double fallback) {
  return object.contains(key) && object.at(key).is_number() ? object.at(key).get<double>() : fallback;
}

SamplerSettings SettingsFrom(const json& j) {
  SamplerSettings s;
  if (!j.contains("generation_settings") || !j.at("generation_settings").is_object()) return s;
  const json& g = j.at("generation_settings");
  s.reported = true;
  const double seed = NumberOr(g, "seed", -1);
  s.seed = seed >= 0 && seed <= 4294967295.0 ? static_cast<uint32_t>(seed) : 0;
  s.temperature = NumberOr(g, "temperature", -1);
  s.top_p = NumberOr(g, "top_p", -1);
  s.min_p = NumberOr(g, "min_p", -1);
  s.typical_p = NumberOr(g, "typical_p", -1);
  s.xtc_probability = NumberOr(g, "xtc_probability", -1);
  s.repeat_penalty = NumberOr(g, "repeat_penalty", -1);
  s.presence_penalty = NumberOr(g, "presence_penalty", -1);
  s.frequency_penalty = NumberOr(g, "frequency_penalty", -1);
  s.dry_multiplier = NumberOr(g, "dry_multiplier", -1);
  s.top_n_sigma = NumberOr(g, "top_n_sigma", 0);
  const double top_k = NumberOr(g, "top_k", -1), mirostat = NumberOr(g, "mirostat", -1);
  s.top_k = top_k >= -1e9 && top_k <= 1e9 ? static_cast<int64_t>(top_k) : -1;
  s.mirostat = mirostat >= -1e9 && mirostat <= 1e9 ? static_cast<int64_t>(mirostat) : -1;
  return s;
}

void ParseLlamaServer(const json& j, const ParseLimits& limits, Generation* out) {
  const char* where = "the response";
  out->sampler = SettingsFrom(j);
  out->model = OptionalString(j, "model");
  out->fingerprint = OptionalString(j, "build_info");
  out->text = StringField(j, "content", where);
  out->stopped_by_eog = OptionalString(j, "stop_type") == "eos";
  const json& ids = Field(j, "tokens", where);
  if (!ids.is_array()) throw Fault("\"tokens\" is not an array (was return_tokens honoured?)");
  for (const json& v : ids) {
    GeneratedToken g;
    g.token.id = TokenId(v, "\"tokens\"");
    out->tokens.push_back(std::move(g));
  }
  if (limits.top_logprobs > 0) {
    const json& probs = Field(j, "completion_probabilities", where);
    // llama-server records a token's probabilities only when the text generated so far does not end
    // inside a UTF-8 character (server-context.cpp, process_token): such tokens are in "tokens" but not
    // here. Entries are matched to tokens in order; a token passed over keeps has_logprob false, and
    // endpoint/score.cpp checks it was one the server had to pass over. An entry that matches no later
    // token is a fault.
    if (!probs.is_array()) throw Fault("\"completion_probabilities\" is not an array");
    size_t t = 0;
    for (size_t i = 0; i < probs.size(); ++i, ++t) {
      const TokenLogprob e = EntryWithId(probs[i], true, "completion_probabilities");
      while (t < out->tokens.size() && *out->tokens[t].token.id != *e.id) ++t;
      if (t == out->tokens.size()) {
        throw Fault("completion_probabilities entry " + std::to_string(i) + " names token " + std::to_string(*e.id) +
                    ", which is not among the generated tokens after the previous entry");
      }
      GeneratedToken& g = out->tokens[t];
      g.token = e;
      g.has_logprob = true;
      const json& top = Field(probs[i], "top_logprobs", "completion_probabilities");
      if (!top.is_array()) throw Fault("\"top_logprobs\" is not an array");
      for (const json& x : top) g.top.push_back(EntryWithId(x, true, "top_logprobs"));
    }
  }
}

void ParseOpenAI(const json& j, bool chat, const ParseLimits& limits, Generation* out) {
  out->model = OptionalString(j, "model");
  out->fingerprint = OptionalString(j, "system_fingerprint");
  if (j.contains("usage") && j.at("usage").is_object() && j.at("usage").contains("prompt_tokens") &&
      j.at("usage").at("prompt_tokens").is_number_integer()) {
    out->prompt_tokens = j.at("usage").at("prompt_tokens").get<int64_t>();
  }
  const json& choices = Field(j, "choices", "the response");
  if (!choices.is_array() || choices.size() != 1) throw Fault("\"choices\" does not hold exactly one choice");
  const json& c = choices[0];
  out->text = chat ? StringField(Field(c, "message", "the choice"), "content", "the message") : StringField(c, "text", "the choice");
  out->stopped_by_eog = OptionalString(c, "finish_reason") == "stop";
  const json& lp = Field(c, "logprobs", "the choice");
  if (lp.is_null()) {
    throw Fault("the choice has no logprobs: the endpoint returns text only, and every score needs the sampled tokens "
                "(re-tokenizing the text does not recover them: docs/endpoints.md, \"Text-only answers\")");
  }
  if (lp.contains("content")) {
    // llama-server's (and the chat API's) shape: one entry per token, with ids.
    const json& content = lp.at("content");
    if (!content.is_array()) throw Fault("\"logprobs.content\" is not an array");
    for (const json& e : content) {
      GeneratedToken g;
      g.token = EntryWithId(e, false, "logprobs.content");
      g.has_logprob = true;
      if (limits.top_logprobs > 0) {
        const json& top = Field(e, "top_logprobs", "logprobs.content");
        if (!top.is_array()) throw Fault("\"top_logprobs\" is not an array");
        for (const json& t : top) g.top.push_back(EntryWithId(t, false, "top_logprobs"));
      }
      out->tokens.push_back(std::move(g));
    }
    return;
  }
  // The legacy shape: parallel arrays of token strings, their logprobs, and {token: logprob} maps.
  const json& tokens = Field(lp, "tokens", "logprobs");
  const json& values = Field(lp, "token_logprobs", "logprobs");
  if (!tokens.is_array() || !values.is_array() || tokens.size() != values.size()) {
    throw Fault("\"logprobs.tokens\" and \"logprobs.token_logprobs\" are not parallel arrays");
  }
  const json* tops = nullptr;
  if (limits.top_logprobs > 0) {
    tops = &Field(lp, "top_logprobs", "logprobs");
    if (!tops->is_array() || tops->size() != tokens.size()) throw Fault("\"logprobs.top_logprobs\" is not one map per token");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].is_string()) throw Fault("a legacy logprobs token is not a string");
    GeneratedToken g;
    g.token = LegacyToken(tokens[i].get<std::string>());
    g.token.logprob = Logprob(values[i], "logprobs.token_logprobs");
    g.has_logprob = true;
    if (tops) {
      const json& m = (*tops)[i];
      if (!m.is_object()) throw Fault("a legacy top_logprobs entry is not an object");
      for (const auto& [s, v] : m.items()) {
        TokenLogprob t = LegacyToken(s);
        t.logprob = Logprob(v, "logprobs.top_logprobs");
        g.top.push_back(std::move(t));
      }
      // A JSON object has no order; the list is checked in probability order.
      std::stable_sort(g.top.begin(), g.top.end(), [](const TokenLogprob& a, const TokenLogprob& b) { return a.logprob > b.logprob; });
    }
    out->tokens.push_back(std::move(g));
  }
}

}  // namespace

const char* ApiName(Api api) {
  return api == Api::kLlamaServer ? "llama-server" : api == Api::kOpenAICompletions ? "openai-completions" : "openai-chat";
}

Status ApiFromName(const std::string& name, Api* out) {
  for (Api a : {Api::kLlamaServer, Api::kOpenAICompletions, Api::kOpenAIChat}) {
    if (name == ApiName(a)) {
      *out = a;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("--api is llama-server, openai-completions or openai-chat, not '" + text::EscapeInvalidUtf8(name) + "'");
}

const char* CompletionPath(Api api) {
  return api == Api::kLlamaServer ? "/completion" : api == Api::kOpenAICompletions ? "/v1/completions" : "/v1/chat/completions";
}

std::string RequestBody(Api api, const Request& r) {
  json j;
  const Sampling& s = r.sampling;
  if (api == Api::kLlamaServer) {
    j = {{"prompt", r.prompt}, {"n_predict", r.max_tokens}, {"temperature", s.greedy ? 0.0 : 1.0}};
    if (!s.greedy) {
      // Every sampler in llama-server's chain but the final draw switched off: the draw is from the model's
      // own distribution.
      j["top_k"] = 0;
      j["top_p"] = 1.0;
      j["min_p"] = 0.0;
      j["typical_p"] = 1.0;
      j["xtc_probability"] = 0.0;
      j["top_n_sigma"] = -1.0;
    }
    j["repeat_penalty"] = 1.0;
    j["presence_penalty"] = 0.0;
    j["frequency_penalty"] = 0.0;
    j["dry_multiplier"] = 0.0;
    j["mirostat"] = 0;
    if (s.seed) j["seed"] = *s.seed;
    if (s.top_logprobs > 0) {  // asked only by the score that reads them
      j["n_probs"] = s.top_logprobs;
      j["post_sampling_probs"] = false;
    }
    j["return_tokens"] = true;
    j["cache_prompt"] = false;
    j["stream"] = false;
    if (!r.model.empty()) j["model"] = r.model;
  } else if (api == Api::kOpenAIChat) {
    if (!r.model.empty()) j["model"] = r.model;
    json messages = json::array();
    if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
    messages.push_back({{"role", "user"}, {"content", r.user}});
    j["messages"] = messages;
    j["max_tokens"] = r.max_tokens;
    j["temperature"] = s.greedy ? 0.0 : 1.0;
    j["top_p"] = 1.0;
    if (s.seed) j["seed"] = *s.seed;
    // The chat API's logprobs carry each token, and come only with at least one top log-probability
    // (llama-server); OpenAI caps top_logprobs at 20.
    j["logprobs"] = true;
    j["top_logprobs"] = std::clamp(s.top_logprobs, 1, 20);
    j["stream"] = false;
  } else {
    if (!r.model.empty()) j["model"] = r.model;
    j["prompt"] = r.prompt;
    j["max_tokens"] = r.max_tokens;
    j["temperature"] = s.greedy ? 0.0 : 1.0;
    j["top_p"] = 1.0;
    if (s.seed) j["seed"] = *s.seed;
    // OpenAI caps top logprobs at 5 on completions; asking for 1 still returns the sampled token's own.
    j["logprobs"] = std::max(s.top_logprobs, 1);
    j["stream"] = false;
  }
  return text::DumpJson(j);
}

Status ParseResponse(Api api, const std::string& body, const ParseLimits& limits, Generation* out) {
  *out = Generation{};
  if (!text::IsValidUtf8(body)) return Status::IOError("the response body is not UTF-8 text");
  const json j = ParseJson<json>(body);
  if (j.is_discarded() || !j.is_object()) return Status::IOError("the response body is not a JSON object");
  try {
    if (j.contains("error")) {
      const json& e = j.at("error");
      const std::string msg = e.is_object() ? OptionalString(e, "message") : (e.is_string() ? e.get<std::string>() : "");
      throw Fault("the endpoint reports an error: " + msg);
    }
    if (api == Api::kLlamaServer) ParseLlamaServer(j, limits, out);
    else ParseOpenAI(j, api == Api::kOpenAIChat, limits, out);
    if (out->tokens.empty()) throw Fault("the endpoint generated no tokens");
    if (out->tokens.size() > limits.max_tokens) {
      throw Fault(std::to_string(out->tokens.size()) + " tokens generated, " + std::to_string(limits.max_tokens) + " asked for");
    }
    if (limits.top_logprobs > 0) CheckTopLists(out->tokens, limits.top_logprobs, api == Api::kLlamaServer);
  } catch (const std::exception& e) {
    return Status::IOError(text::EscapeInvalidUtf8(e.what()));
  }
  return Status::OK();
}

}  // namespace pot::endpoint
