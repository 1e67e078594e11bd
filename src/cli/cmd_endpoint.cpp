#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/endpoint_options.h"
#include "endpoint/endpoint.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

}  // namespace

std::vector<OptionSpec> WithEndpointOptions(std::vector<OptionSpec> specs) {
  const std::vector<OptionSpec> endpoint = {{"api", true, "llama-server, openai-completions or openai-chat (default: detected; chat is never guessed)", 0, "API"},
          {"system", true, "with --api openai-chat: a system message the provider is known to add", 0, "TEXT"},
          {"model", true, "the served model name to ask for, and to insist on in every answer", 0, "NAME"},
          {"api-key-env", true, "read the API key from this environment variable", 0, "NAME"},
          {"api-key-file", true, "read the API key from this file", 0, "FILE"},
          {"timeout", true, "seconds one request may take (default 300)", 0, "S"},
          {"connect-timeout", true, "seconds to connect (default 10)", 0, "S"},
          {"retries", true, "retries of a failed request: connection errors, 429, 5xx (default 3)", 0, "N"}};
  specs.insert(specs.end(), endpoint.begin(), endpoint.end());
  return specs;
}

Status EndpointUrl(const std::string& url, std::string* base, std::string* display) {
  *base = url;
  while (!base->empty() && base->back() == '/') base->pop_back();
  return http::ParseBaseUrl(*base, display);
}

Status HttpOptionsFromArgs(const Args& args, Env* env, http::Options* out) {
  POT_RETURN_IF_ERROR(http::ReadApiKey(env, args.Get("api-key-env").value_or(""), args.Get("api-key-file").value_or(""),
                                       &out->bearer_token));
  uint64_t timeout = 300, connect = 10, retries = 3;
  POT_RETURN_IF_ERROR(args.GetU64("timeout", timeout, &timeout));
  POT_RETURN_IF_ERROR(args.GetU64("connect-timeout", connect, &connect));
  POT_RETURN_IF_ERROR(args.GetU64("retries", retries, &retries));
  if (timeout == 0 || connect == 0 || retries > 10) {
    return Status::InvalidArgument("--timeout and --connect-timeout are at least 1 s; --retries at most 10");
  }
  out->total_timeout_s = static_cast<double>(timeout);
  out->connect_timeout_s = static_cast<double>(connect);
  out->max_attempts = static_cast<int>(retries) + 1;
  out->on_retry = [](const std::string& line) { std::fprintf(stderr, "%s\n", text::EscapeForTerminal(line).c_str()); };
  return Status::OK();
}

Status EndpointRunFromArgs(const Args& args, Env* env, endpoint::Options* o, evidence::EndpointRef* ref,
                           stats::TestParams* test) {
  std::string display;
  POT_RETURN_IF_ERROR(EndpointUrl(*args.Get("endpoint"), &o->url, &display));
  POT_RETURN_IF_ERROR(HttpOptionsFromArgs(args, env, &o->http));
  o->model = args.Get("model").value_or("");
  o->system = args.Get("system").value_or("");
  if (!o->system.empty() && args.Get("api").value_or("") != "openai-chat") {
    return Status::InvalidArgument("--system needs --api openai-chat");
  }
  std::optional<endpoint::Api> api;
  if (auto name = args.Get("api")) {
    api.emplace();
    POT_RETURN_IF_ERROR(endpoint::ApiFromName(*name, &*api));
  }
  const bool have_score = args.Has("score");
  if (have_score) POT_RETURN_IF_ERROR(endpoint::ScoreFromName(*args.Get("score"), &o->score.kind));
  endpoint::ProbeReport probe;
  std::unique_ptr<http::Client> client;
  POT_RETURN_IF_ERROR(http::NewClient(o->http, &client));
  if (!api || !have_score) {
    POT_RETURN_IF_ERROR(endpoint::Probe(client.get(), o->url, api, o->model, &probe));
    std::string why;
    if (!have_score) POT_RETURN_IF_ERROR(endpoint::StrongestScore(probe, &o->score.kind, &why));
    std::fprintf(stderr, "endpoint %s: %s API%s, model \"%s\"; score %s%s%s\n", display.c_str(), endpoint::ApiName(probe.api),
                 api ? "" : " (detected)", text::EscapeForTerminal(probe.model).c_str(), endpoint::ScoreName(o->score.kind),
                 have_score ? "" : " (the strongest it supports: ", have_score ? "" : (why + ")").c_str());
  } else {
    probe.model = endpoint::ListedModel(client.get(), o->url);
    probe.fingerprint = endpoint::ServerFingerprint(client.get(), o->url);
  }
  // Every answer must name the model asked for, else the one the endpoint listed before the run.
  o->expected_model = o->model.empty() ? probe.model : o->model;
  o->api = api.value_or(probe.api);
  uint64_t tokens = 32, top = 8;
  POT_RETURN_IF_ERROR(args.GetU64("tokens", tokens, &tokens));
  POT_RETURN_IF_ERROR(args.GetU64("top-logprobs", top, &top));
  if (tokens == 0 || tokens > verify::kMaxContinuationTokens) {
    return Status::InvalidArgument("--tokens for an endpoint is 1 to " + std::to_string(verify::kMaxContinuationTokens));
  }
  if (top == 0 || top > 20) return Status::InvalidArgument("--top-logprobs is 1 to 20");
  uint64_t parallel = 1;
  POT_RETURN_IF_ERROR(args.GetU64("parallel", parallel, &parallel));
  if (parallel == 0 || parallel > 16) return Status::InvalidArgument("--parallel is 1 to 16 requests in flight");
  o->parallel = static_cast<int>(parallel);
  o->tokens = static_cast<int>(tokens);
  o->score.top_logprobs = o->score.kind == endpoint::ScoreKind::kLogprobs ? static_cast<int>(top) : 0;
  if (o->score.kind == endpoint::ScoreKind::kReplay) {
    if (o->api != endpoint::Api::kLlamaServer) return Status::InvalidArgument("--score replay needs the llama-server API");
    o->score.tau = 1e-3;
  }
  const bool text_score = o->score.kind == endpoint::ScoreKind::kText;
  if (text_score && args.Has("tau")) return Status::InvalidArgument("--tau does not apply to --score text");
  if (auto tau = args.Get("tau")) {
    char* end = nullptr;
    o->score.tau = std::strtod(tau->c_str(), &end);
    if (end == tau->c_str() || *end != '\0' || !(o->score.tau >= 0 && o->score.tau < 10)) {
      return Status::InvalidArgument("--tau is a margin in nats, in [0, 10)");
    }
  }
  if (!args.Has("epsilon")) test->epsilon = endpoint::CalibrationOf(o->score.kind).epsilon;
  if (text_score && !(test->epsilon < 0.5)) {
    return Status::InvalidArgument("--epsilon for --score text is the tolerated |mean - 1/2|, below 0.5");
  }
  const bool uses_tau = o->score.kind == endpoint::ScoreKind::kGreedy || o->score.kind == endpoint::ScoreKind::kReplay;
  *ref = evidence::EndpointRef{display, endpoint::ApiName(o->api), o->model, probe.model, probe.fingerprint,
                               endpoint::ScoreName(o->score.kind), uses_tau ? o->score.tau : 0.0, o->score.top_logprobs,
                               o->system};
  return Status::OK();
}

namespace {

int RunProbe(const Args& args) {
  if (args.positionals().size() != 2 || args.positionals()[0] != "probe") {
    return ReportError(Status::InvalidArgument("usage: pot endpoint probe URL"));
  }
  Env* env = Env::Default();
  std::string base, display;
  http::Options http_options;
  Status s = EndpointUrl(args.positionals()[1], &base, &display);
  if (s.ok()) s = HttpOptionsFromArgs(args, env, &http_options);
  std::optional<endpoint::Api> api;
  if (s.ok() && args.Has("api")) {
    api.emplace();
    s = endpoint::ApiFromName(*args.Get("api"), &*api);
  }
  if (!s.ok()) return ReportError(s);
  std::unique_ptr<http::Client> client;
  endpoint::ProbeReport p;
  s = http::NewClient(http_options, &client);
  if (s.ok()) s = endpoint::Probe(client.get(), base, api, args.Get("model").value_or(""), &p);
  if (!s.ok()) return ReportError(s);
  endpoint::ScoreKind kind;
  std::string why;
  const bool scorable = endpoint::StrongestScore(p, &kind, &why).ok();
  json j = {{"url", display},
            {"api", endpoint::ApiName(p.api)},
            {"api_detected", p.api_detected},
            {"model", p.model},
            {"fingerprint", p.fingerprint},
            {"token_ids", p.token_ids},
            {"top_logprobs", p.top_logprobs},
            {"greedy_repeatable", p.greedy_repeatable},
            {"seed_honoured", p.seed_honoured},
            {"seconds_per_request", p.seconds},
            {"requests", p.requests},
            {"strongest_score", scorable ? json(endpoint::ScoreName(kind)) : json(nullptr)},
            {"notes", p.notes}};
  if (args.Has("json")) {
    PrintJson(j);
  } else {
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    std::printf("endpoint          %s\n", display.c_str());
    std::printf("api               %s%s\n", endpoint::ApiName(p.api), p.api_detected ? " (detected)" : "");
    std::printf("model             %s\n", text::EscapeForTerminal(p.model).c_str());
    std::printf("fingerprint       %s\n", text::EscapeForTerminal(p.fingerprint).c_str());
    std::printf("token ids         %s\n", yes(p.token_ids));
    std::printf("top logprobs      %d\n", p.top_logprobs);
    std::printf("greedy repeats    %s\n", yes(p.greedy_repeatable));
    std::printf("seed honoured     %s\n", yes(p.seed_honoured));
    std::printf("response time     %.3f s (median of %d requests)\n", p.seconds, p.requests);
    std::printf("strongest score   %s\n", scorable ? (std::string(endpoint::ScoreName(kind)) + ": " + why).c_str() : "none");
    for (const auto& n : p.notes) std::printf("note              %s\n", text::EscapeForTerminal(n).c_str());
  }
  return scorable ? kExitOk : kExitNegative;
}

}  // namespace

CommandSpec EndpointCommand() {
  return {"endpoint", "what an HTTP model endpoint supports (API, model name, logprobs, determinism, seeds)",
          "probe URL [--api llama-server|openai-completions] [--model NAME] [--api-key-env NAME] [--json]",
          WithEndpointOptions({{"json", false, "print one JSON object"}}), RunProbe, 2};
}

}  // namespace pot::cli
