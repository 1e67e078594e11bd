// endpoint/api: the two completion APIs pot speaks, as pure functions over bytes: the request body for one
// challenge, and the parse of a response body into what pot scores. Every response is an attacker's input:
// the parser checks every field it uses (types, ranges, finite and non-positive log-probabilities, top-k
// lists consistent with the sampled token) and fails with a one-line Status::IOError naming the problem;
// it never fills in a missing value. docs/endpoints.md has the request and response shapes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace pot::endpoint {

enum class Api {
  kLlamaServer,        // llama.cpp's llama-server, POST /completion (token ids in and out, n_probs, seed)
  kOpenAICompletions,  // POST /v1/completions (llama-server, vLLM, SGLang and hosted copies)
  kOpenAIChat,         // POST /v1/chat/completions: the challenge is a user message the server wraps in its template
};
const char* ApiName(Api api);
Status ApiFromName(const std::string& name, Api* out);
// The path POSTed to, under the endpoint's base URL.
const char* CompletionPath(Api api);

// How the endpoint is asked to generate: greedy (temperature 0), or a draw from the full distribution at
// temperature 1 with every truncation off (top-k, top-p, min-p, typical, penalties), optionally seeded.
struct Sampling {
  bool greedy = true;
  std::optional<uint32_t> seed;  // sent when set
  int top_logprobs = 0;          // how many top log-probabilities to return per token (0: none)
};

struct Request {
  std::string model;                 // the served model name asked for ("" sends none; llama-server ignores it)
  std::vector<int32_t> prompt;       // token ids of the reference vocabulary, BOS included when it adds one
  std::string system, user;          // kOpenAIChat: the messages (system "" sends none); prompt is then unused
  int max_tokens = 0;                // K
  Sampling sampling;
};

// The JSON body (compact, keys in a fixed order) POSTed for request.
std::string RequestBody(Api api, const Request& request);

struct TokenLogprob {
  std::optional<int32_t> id;  // absent when the API names tokens by text only
  std::string bytes;          // the token's bytes, when the response gives them (bytes array or text)
  bool has_bytes = false;
  double logprob = 0;
};

struct GeneratedToken {
  TokenLogprob token;                  // token.logprob valid only when has_logprob
  // With top_logprobs asked, false only for a token llama-server passed over because the text ended inside
  // a UTF-8 character after it (the scorer checks that; such a token is not scored by logprobs).
  bool has_logprob = false;
  std::vector<TokenLogprob> top;       // largest first as the response lists them; empty when none asked
};

// The sampler settings llama-server echoes in generation_settings: what it says it ran.
struct SamplerSettings {
  bool reported = false;
  uint32_t seed = 0;
  double temperature = -1, top_p = -1, min_p = -1, typical_p = -1, xtc_probability = -1, repeat_penalty = -1,
         presence_penalty = -1, frequency_penalty = -1, dry_multiplier = -1, top_n_sigma = 0;
  int64_t top_k = -1, mirostat = -1;
};

struct Generation {
  std::string model;         // the served model name the response reports ("" when it reports none)
  SamplerSettings sampler;   // llama-server only
  std::string fingerprint;   // system_fingerprint or build, when reported
  std::string text;          // the generated text
  std::vector<GeneratedToken> tokens;
  int64_t prompt_tokens = -1; // usage.prompt_tokens where reported: how many tokens the endpoint read
  // The endpoint says it stopped because an end-of-generation token was sampled (llama-server's stop_type
  // "eos", OpenAI's finish_reason "stop": pot sends no stop strings).
  bool stopped_by_eog = false;
};

struct ParseLimits {
  size_t max_tokens = 0;     // more generated tokens than asked is a fault
  int top_logprobs = 0;      // the top-k lists must hold exactly this many
};

// Parses a response body of api. Checks: a JSON object; the generated tokens present (by id for
// llama-server, by id or text for OpenAI shapes); at most limits.max_tokens of them; with top_logprobs,
// every token has its log-probability and a list of limits.top_logprobs entries, each finite and <= 0,
// in non-increasing order, whose probabilities sum to at most 1, and which agrees with the sampled
// token (its own entry in the list carries the same log-probability; absent, it is no likelier than the
// list's last entry).
Status ParseResponse(Api api, const std::string& body, const ParseLimits& limits, Generation* out);

}  // namespace pot::endpoint
