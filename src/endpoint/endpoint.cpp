#include "endpoint/endpoint.h"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <nlohmann/json.hpp>

#include "llama.h"
#include "text/text.h"
#include "util/json.h"

namespace pot::endpoint {
namespace {

using json = nlohmann::ordered_json;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The first four bytes of the challenge's HMAC tag, big-endian: secret until the key is revealed, fixed by it.
uint32_t SeedFromTag(const Digest& tag) {
  return (uint32_t{tag[0]} << 24) | (uint32_t{tag[1]} << 16) | (uint32_t{tag[2]} << 8) | uint32_t{tag[3]};
}

// A stop on an end-of-generation token the response left out of its tokens: the text score reads that draw
// too (its outcome is "some end-of-generation token", so which one does not matter). Leaving it out would
// drop exactly the draws that stopped, which biases the score's mean.
void AppendEndOfGeneration(const Vocabulary& vocab, Generation* gen, std::vector<int32_t>* ids) {
  if (!gen->stopped_by_eog || vocab.end_of_generation().empty()) return;
  if (!ids->empty() && vocab.IsEndOfGeneration(ids->back())) return;
  GeneratedToken stop;
  stop.token.id = vocab.end_of_generation().front();
  gen->tokens.push_back(stop);
  ids->push_back(*stop.token.id);
}

}  // namespace

Request MakeRequest(const Options& options, const challenge::Challenge& challenge, const std::vector<int32_t>& prompt) {
  Request r;
  r.model = options.model;
  r.prompt = prompt;
  r.max_tokens = options.tokens;
  r.sampling.greedy = options.score.kind == ScoreKind::kGreedy;
  r.sampling.top_logprobs = options.score.top_logprobs;
  if (options.api == Api::kOpenAIChat) {
    r.system = options.system;
    r.user = challenge.prompt;
  }
  // Only replay needs a seed; the other scores send what ordinary clients send (no seed).
  if (options.score.kind == ScoreKind::kReplay) r.sampling.seed = SeedFromTag(challenge.tag);
  return r;
}

Status OptionsFromRef(const evidence::EndpointRef& ref, int tokens, Options* out) {
  POT_RETURN_IF_ERROR(ApiFromName(ref.api, &out->api).WithContext("the bundle's endpoint"));
  POT_RETURN_IF_ERROR(ScoreFromName(ref.score, &out->score.kind).WithContext("the bundle's endpoint"));
  out->url = ref.url;
  out->model = ref.model_requested;
  out->system = ref.system;
  out->expected_model = ref.model_requested.empty() ? ref.model_served : ref.model_requested;
  out->score.tau = ref.tau;
  out->score.top_logprobs = ref.top_logprobs;
  out->tokens = tokens;
  if (tokens <= 0 || tokens > verify::kMaxContinuationTokens || ref.top_logprobs < 0 || ref.top_logprobs > 20 ||
      !(ref.tau >= 0 && ref.tau < 10) || (out->score.kind == ScoreKind::kLogprobs && ref.top_logprobs < 1)) {
    return Status::Corruption("the bundle's endpoint parameters are out of range");
  }
  return Status::OK();
}

Status Scorer::Open(const Options& options, std::unique_ptr<http::Client> client, std::unique_ptr<Scorer>* out) {
  std::unique_ptr<Scorer> s(new Scorer());
  s->options_ = options;
  s->clients_.push_back(std::move(client));
  for (int i = 1; i < options.parallel; ++i) {
    std::unique_ptr<http::Client> more;
    POT_RETURN_IF_ERROR(http::NewClient(options.http, &more));
    s->clients_.push_back(std::move(more));
  }
  s->served_model_ = options.expected_model;
  POT_RETURN_IF_ERROR(engine::LoadModel(options.reference.path, {.placement = options.reference.placement}, &s->model_));
  POT_RETURN_IF_ERROR(engine::NewContext(s->model_.get(), options.reference.context, &s->ctx_).WithContext(options.reference.path));
  POT_RETURN_IF_ERROR(Vocabulary::FromLlama(llama_model_get_vocab(s->model_.get()), &s->vocab_));
  *out = std::move(s);
  return Status::OK();
}

Status Scorer::PromptTokens(const challenge::Challenge& challenge, std::vector<int32_t>* tokens) const {
  const llama_vocab* vocab = llama_model_get_vocab(model_.get());
  if (options_.api != Api::kOpenAIChat) {
    return engine::Tokenize(vocab, challenge.prompt, llama_vocab_get_add_bos(vocab), tokens);
  }
  std::vector<llama_chat_message> messages;
  if (!options_.system.empty()) messages.push_back({"system", options_.system.c_str()});
  messages.push_back({"user", challenge.prompt.c_str()});
  const char* tmpl = llama_model_chat_template(model_.get(), nullptr);
  if (tmpl == nullptr) tmpl = "chatml";
  std::string text(4096 + challenge.prompt.size() + options_.system.size(), '\0');
  int32_t n = llama_chat_apply_template(tmpl, messages.data(), messages.size(), true, text.data(), static_cast<int32_t>(text.size()));
  if (n > static_cast<int32_t>(text.size())) {
    text.resize(static_cast<size_t>(n));
    n = llama_chat_apply_template(tmpl, messages.data(), messages.size(), true, text.data(), static_cast<int32_t>(text.size()));
  }
  if (n < 0) return Status::Unsupported("the reference's chat template is not one llama.cpp's template API knows");
  text.resize(static_cast<size_t>(n));
  return engine::Tokenize(vocab, text, llama_vocab_get_add_bos(vocab), tokens, /*parse_special=*/true);
}

Status Scorer::Score(const challenge::Challenge& challenge, verify::ChallengeRecord* rec) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string where = "challenge " + std::to_string(challenge.index);
  if (lookahead_ == nullptr) {
    InFlight f;
    f.challenge = challenge;
    POT_RETURN_IF_ERROR(Prepare(&f));
    POT_RETURN_IF_ERROR(clients_[0]->PostJson(CompletionUrl(), f.request, &f.response).WithContext(where));
    POT_RETURN_IF_ERROR(ScoreResponse(challenge, std::move(f.prompt), f.request, f.response.body, rec));
  } else {
    POT_RETURN_IF_ERROR(FillWindow(challenge.index));
    if (in_flight_.empty() || in_flight_.front()->challenge.index != challenge.index ||
        in_flight_.front()->challenge.tag != challenge.tag) {
      return Status::Internal(where + " was asked for out of order");
    }
    const std::unique_ptr<InFlight> f = std::move(in_flight_.front());
    in_flight_.pop_front();
    POT_RETURN_IF_ERROR(f->sent.get().WithContext(where));
    POT_RETURN_IF_ERROR(ScoreResponse(challenge, f->prompt, f->request, f->response.body, rec));
  }
  rec->seconds = SecondsSince(t0);
  return Status::OK();
}

std::string Scorer::CompletionUrl() const { return options_.url + CompletionPath(options_.api); }

Status Scorer::Prepare(InFlight* f) const {
  POT_RETURN_IF_ERROR(PromptTokens(f->challenge, &f->prompt));
  f->request = RequestBody(options_.api, MakeRequest(options_, f->challenge, f->prompt));
  return Status::OK();
}

void Scorer::Lookahead(const challenge::Generator* gen, uint64_t end) {
  if (options_.parallel <= 1) return;
  lookahead_ = gen;
  end_ = end;
}

Status Scorer::FillWindow(uint64_t first) {
  next_ = std::max(next_, first);  // a resumed run starts past challenge 0
  const uint64_t parallel = static_cast<uint64_t>(options_.parallel);
  while (next_ < end_ && next_ < first + parallel) {
    auto f = std::make_unique<InFlight>();
    POT_RETURN_IF_ERROR(lookahead_->Generate(next_, &f->challenge));
    POT_RETURN_IF_ERROR(Prepare(f.get()));
    http::Client* client = clients_[next_ % parallel].get();
    InFlight* raw = f.get();
    const std::string url = CompletionUrl();
    try {
      f->sent = std::async(std::launch::async, [client, url, raw] { return client->PostJson(url, raw->request, &raw->response); });
    } catch (const std::system_error& e) {
      return Status::Internal(std::string("cannot start a request thread: ") + e.what());
    }
    in_flight_.push_back(std::move(f));
    ++next_;
  }
  return Status::OK();
}

Status Scorer::ScoreRecorded(const challenge::Challenge& challenge, const std::string& request, const std::string& response,
                             verify::ChallengeRecord* rec) {
  std::vector<int32_t> prompt;
  POT_RETURN_IF_ERROR(PromptTokens(challenge, &prompt));
  return ScoreResponse(challenge, std::move(prompt), request, response, rec);
}

Status Scorer::ScoreResponse(const challenge::Challenge& challenge, std::vector<int32_t> prompt, const std::string& request,
                             const std::string& response, verify::ChallengeRecord* rec) {
  const std::string where = "challenge " + std::to_string(challenge.index);
  rec->challenge = challenge;
  rec->request = request;
  rec->response = response;
  rec->prompt_tokens = std::move(prompt);
  const size_t n_ctx = llama_n_ctx(ctx_.get());
  if (rec->prompt_tokens.size() + static_cast<size_t>(options_.tokens) > n_ctx) {
    return Status::InvalidArgument(where + ": the prompt and " + std::to_string(options_.tokens) +
                                   " generated tokens do not fit the reference's context of " + std::to_string(n_ctx));
  }
  Generation gen;
  ParseLimits limits{static_cast<size_t>(options_.tokens), options_.score.kind == ScoreKind::kLogprobs ? options_.score.top_logprobs : 0};
  POT_RETURN_IF_ERROR(ParseResponse(options_.api, response, limits, &gen).WithContext(where));
  if (!gen.model.empty()) {
    if (served_model_.empty()) {
      served_model_ = gen.model;
    } else if (gen.model != served_model_) {
      return Status::IOError(where + ": the endpoint answered as model \"" + text::EscapeInvalidUtf8(gen.model) +
                             "\", not \"" + text::EscapeInvalidUtf8(served_model_) + "\"");
    }
  }
  if (options_.api == Api::kOpenAIChat && gen.prompt_tokens >= 0 &&
      static_cast<size_t>(gen.prompt_tokens) != rec->prompt_tokens.size()) {
    ++prompt_mismatches_;
    last_endpoint_prompt_tokens_ = gen.prompt_tokens;
    last_reference_prompt_tokens_ = rec->prompt_tokens.size();
  }
  POT_RETURN_IF_ERROR(MapTokens(vocab_, gen, &rec->continuation).WithContext(where));
  if (options_.score.kind == ScoreKind::kText) AppendEndOfGeneration(vocab_, &gen, &rec->continuation);
  std::vector<int32_t> sequence, targets;
  verify::TeacherForcedSequence(rec->prompt_tokens, rec->continuation, &sequence, &targets);
  POT_RETURN_IF_ERROR(engine::Forward(ctx_.get(), sequence, &dist_).WithContext(where));
  const size_t first_row = rec->prompt_tokens.size() - 1;
  ScoreParams params = options_.score;
  params.seed = SeedFromTag(challenge.tag);
  POT_RETURN_IF_ERROR(ScoreTokens(params, vocab_, dist_, first_row, rec->continuation, gen, &rec->token_scores).WithContext(where));
  verify::ChallengeScore& s = rec->score;
  s = verify::ChallengeScore{};
  s.positions = static_cast<uint32_t>(rec->token_scores.size());
  if (rec->token_scores.empty()) return Status::IOError(where + ": no generated token could be scored");
  double sum = 0, agree = 0, dnll = 0;
  for (double x : rec->token_scores) sum += x;
  for (size_t i = 0; i < rec->continuation.size(); ++i) {
    const float* logp = dist_.logp_row(first_row + i);
    const int32_t top = dist_.argmax[first_row + i];
    agree += top == rec->continuation[i];
    dnll += static_cast<double>(logp[top]) - static_cast<double>(logp[rec->continuation[i]]);
  }
  const double n = static_cast<double>(rec->continuation.size());
  s.score = sum / static_cast<double>(s.positions);
  if (options_.score.kind == ScoreKind::kLogprobs) s.mean_tv = s.score;
  s.top1_agreement = agree / n;
  s.mean_abs_dnll = dnll / n;  // how far below the reference's argmax the endpoint's tokens sit, nats
  return Status::OK();
}

namespace {

// Generated token ids of a probe answer, or the reason there are none.
Status ProbeTokens(Api api, const std::string& body, int top, Generation* gen) {
  return ParseResponse(api, body, ParseLimits{64, top}, gen);
}

std::string ProbeBody(Api api, const std::string& model, bool greedy, std::optional<uint32_t> seed, int top) {
  // A text prompt: the probe has no reference vocabulary to speak in ids.
  json j;
  if (api == Api::kLlamaServer) {
    j = {{"prompt", "The quick brown fox"}, {"n_predict", 8}, {"temperature", greedy ? 0.0 : 1.0}, {"n_probs", top},
         {"return_tokens", true}, {"cache_prompt", false}};
    if (!greedy) j["top_k"] = 0;
  } else if (api == Api::kOpenAIChat) {
    j = {{"messages", json::array({{{"role", "user"}, {"content", "The quick brown fox"}}})}, {"max_tokens", 8},
         {"temperature", greedy ? 0.0 : 1.0}, {"logprobs", true}, {"top_logprobs", std::clamp(top, 1, 20)}};
  } else {
    j = {{"prompt", "The quick brown fox"}, {"max_tokens", 8}, {"temperature", greedy ? 0.0 : 1.0}, {"logprobs", std::max(top, 1)}};
  }
  if (!model.empty()) j["model"] = model;
  if (seed) j["seed"] = *seed;
  return text::DumpJson(j);
}

// The tokens as comparable strings: id where given, bytes otherwise.
std::vector<std::string> TokenKeys(const Generation& g) {
  std::vector<std::string> keys;
  for (const auto& t : g.tokens) keys.push_back(t.token.id ? std::to_string(*t.token.id) : "b:" + t.token.bytes);
  return keys;
}

// The JSON a GET of url answers with; discarded when the request fails or the body is not JSON.
json GetJson(http::Client* client, const std::string& url) {
  http::Response r;
  if (!client->Get(url, &r).ok()) return json(json::value_t::discarded);
  return ParseJson<json>(r.body);
}

std::string BuildInfo(const json& props) {
  return props.is_object() && props.contains("build_info") && props.at("build_info").is_string()
             ? props.at("build_info").get<std::string>()
             : "";
}

}  // namespace

std::string ServerFingerprint(http::Client* client, const std::string& url) { return BuildInfo(GetJson(client, url + "/props")); }

std::string ListedModel(http::Client* client, const std::string& url) {
  const json models = GetJson(client, url + "/v1/models");
  if (!models.is_object() || !models.contains("data") || !models.at("data").is_array() || models.at("data").empty()) return "";
  const json& first = models.at("data")[0];
  return first.is_object() && first.contains("id") && first.at("id").is_string() ? first.at("id").get<std::string>() : "";
}

Status Probe(http::Client* client, const std::string& url, const std::optional<Api>& api, const std::string& model,
             ProbeReport* out) {
  *out = ProbeReport{};
  // llama-server answers GET /props with its settings and build; an OpenAI-style server has no such route.
  const json props = GetJson(client, url + "/props");
  out->api = api.value_or(props.is_object() && props.contains("default_generation_settings") ? Api::kLlamaServer
                                                                                             : Api::kOpenAICompletions);
  out->api_detected = !api.has_value();
  out->fingerprint = BuildInfo(props);
  out->model = ListedModel(client, url);
  std::vector<double> times;
  auto ask = [&](bool greedy, std::optional<uint32_t> seed, int top, Generation* gen) -> Status {
    http::Response resp;
    POT_RETURN_IF_ERROR(client->PostJson(url + CompletionPath(out->api), ProbeBody(out->api, model, greedy, seed, top), &resp));
    ++out->requests;
    times.push_back(resp.seconds);
    return ProbeTokens(out->api, resp.body, top, gen);
  };
  Generation a, b;
  Status s = ask(true, std::nullopt, 0, &a);
  if (!s.ok()) return s.WithContext("probe: a temperature-0 request");
  if (out->model.empty()) out->model = a.model;
  if (out->fingerprint.empty()) out->fingerprint = a.fingerprint;
  out->token_ids = !a.tokens.empty() && std::all_of(a.tokens.begin(), a.tokens.end(), [](const GeneratedToken& t) { return t.token.id.has_value(); });
  s = ask(true, std::nullopt, 0, &b);
  if (s.ok()) out->greedy_repeatable = TokenKeys(a) == TokenKeys(b);
  else out->notes.push_back("repeat of the temperature-0 request: " + s.message());
  for (int top : {20, 5, 1}) {
    Generation g;
    s = ask(true, std::nullopt, top, &g);
    if (s.ok()) {
      out->top_logprobs = top;
      break;
    }
    out->notes.push_back("top " + std::to_string(top) + " logprobs: " + s.message());
  }
  Generation s1, s2, s3;
  s = ask(false, 1234, 0, &s1);
  if (s.ok()) s = ask(false, 1234, 0, &s2);
  if (s.ok()) s = ask(false, 4321, 0, &s3);
  if (s.ok()) out->seed_honoured = TokenKeys(s1) == TokenKeys(s2) && TokenKeys(s1) != TokenKeys(s3);
  else out->notes.push_back("seeded sampling: " + s.message());
  std::sort(times.begin(), times.end());
  out->seconds = times.empty() ? 0 : times[times.size() / 2];
  return Status::OK();
}

Status StrongestScore(const ProbeReport& probe, ScoreKind* kind, std::string* why) {
  if (probe.api == Api::kLlamaServer && probe.seed_honoured && probe.token_ids) {
    *kind = ScoreKind::kReplay;
    *why = "llama-server honours seeds: its sampler's draws replayed on the reference's distribution";
    return Status::OK();
  }
  if (probe.greedy_repeatable) {
    *kind = ScoreKind::kGreedy;
    *why = "temperature-0 answers repeat: greedy tokens against the reference's argmax";
    return Status::OK();
  }
  if (probe.top_logprobs > 0) {
    *kind = ScoreKind::kLogprobs;
    *why = "temperature-0 answers do not repeat; the endpoint reports top log-probabilities (forgeable numbers)";
    return Status::OK();
  }
  return Status::Unsupported("the endpoint neither repeats temperature-0 answers nor reports log-probabilities: no score applies");
}

}  // namespace pot::endpoint
