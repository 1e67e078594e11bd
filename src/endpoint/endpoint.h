// endpoint: is an HTTP endpoint serving the reference model? The scorer sends each committed challenge
// (as token ids of the reference vocabulary) to the endpoint, which generates K tokens; the reference
// model reads the endpoint's own text in one batched teacher-forced pass and scores every generated token
// (endpoint/score.h). The request and the raw response body go into the record, so an auditor re-scores
// offline from what pot received (ScoreRecorded), without the endpoint. Every fault (transport, HTTP
// status, a malformed or inconsistent body, another model name) fails the challenge with one line; no
// score is ever made up.
#pragma once

#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "endpoint/api.h"
#include "endpoint/score.h"
#include "endpoint/tokens.h"
#include "evidence/transcript.h"
#include "http/http.h"
#include "verify/verify.h"

namespace pot::endpoint {

struct Options {
  std::string url;             // base URL (no trailing path)
  Api api = Api::kLlamaServer;
  std::string model;           // the model name to ask for ("" asks for none)
  std::string system;          // openai-chat: the system message sent before each challenge ("" sends none)
  std::string expected_model;  // the name every answer must carry: model, else what the endpoint listed ("" accepts the first one served)
  ScoreParams score;
  int tokens = 32;             // K, generated per challenge
  int parallel = 1;            // requests kept in flight once Scorer::Lookahead is on, each on its own connection
  http::Options http;
  verify::ModelSide reference;
};

// The options an endpoint run recorded in its transcript header (tokens: its continuation_tokens), for
// re-scoring offline; the URL is kept for messages only. Corruption when a field is out of range.
Status OptionsFromRef(const evidence::EndpointRef& ref, int tokens, Options* out);

// The request for one challenge: seeded from the challenge's tag, so a rerun sends the same bytes.
Request MakeRequest(const Options& options, const challenge::Challenge& challenge, const std::vector<int32_t>& prompt);

class Scorer : public verify::ChallengeScorer {
 public:
  // Loads the reference and connects nothing yet. client may be null for ScoreRecorded only (audit).
  static Status Open(const Options& options, std::unique_ptr<http::Client> client, std::unique_ptr<Scorer>* out);
  Status Score(const challenge::Challenge& challenge, verify::ChallengeRecord* rec) override;
  // With options.parallel > 1: from now on Score keeps the requests for its challenge and the next
  // parallel - 1 challenges of gen (indices below end, the budget) in flight, so the endpoint generates
  // while the reference scores. Score still takes challenges in index order and scores each only when it
  // is asked for: the test reads exactly the sequence a one-at-a-time run reads (at most parallel - 1
  // answers past a decision go unread). gen must outlive the scorer.
  void Lookahead(const challenge::Generator* gen, uint64_t end);
  // Scores a response already received for challenge (the body as recorded), as Score would have.
  Status ScoreRecorded(const challenge::Challenge& challenge, const std::string& request, const std::string& response,
                       verify::ChallengeRecord* rec);
  // The model name the endpoint answered as (after the first scored challenge).
  const std::string& served_model() const { return served_model_; }
  // openai-chat: challenges whose prompt the endpoint counted with another number of tokens than the
  // reference's template gives (a hidden system prompt or another template), and the last such pair.
  int prompt_mismatches() const { return prompt_mismatches_; }
  int64_t last_endpoint_prompt_tokens() const { return last_endpoint_prompt_tokens_; }
  size_t last_reference_prompt_tokens() const { return last_reference_prompt_tokens_; }

 private:
  Scorer() = default;
  // The tokens the endpoint reads for challenge: its text with BOS, or for openai-chat the system and user
  // messages through the model's chat template (llama.cpp's built-in ChatML where the GGUF has none, as
  // llama-server does), special tokens parsed as the server parses them.
  Status PromptTokens(const challenge::Challenge& challenge, std::vector<int32_t>* tokens) const;
  // ScoreRecorded with the challenge's prompt tokens already made.
  Status ScoreResponse(const challenge::Challenge& challenge, std::vector<int32_t> prompt, const std::string& request,
                       const std::string& response, verify::ChallengeRecord* rec);
  // One request on its way: challenge i goes out on clients_[i % parallel], so no connection carries two.
  struct InFlight {
    challenge::Challenge challenge;
    std::vector<int32_t> prompt;
    std::string request;
    http::Response response;
    std::future<Status> sent;  // the POST, run on its own thread (with lookahead)
  };
  // f's prompt tokens and request body, from its challenge: the same bytes however it is sent.
  Status Prepare(InFlight* f) const;
  std::string CompletionUrl() const;
  // Sends the challenges from next_ up to first + parallel - 1 (and below end_).
  Status FillWindow(uint64_t first);
  Options options_;
  std::vector<std::unique_ptr<http::Client>> clients_;  // [0] the one Open was given; more with parallel > 1
  std::deque<std::unique_ptr<InFlight>> in_flight_;      // after clients_: destroyed (and waited for) first
  const challenge::Generator* lookahead_ = nullptr;
  uint64_t next_ = 0, end_ = 0;
  engine::ModelPtr model_;
  engine::ContextPtr ctx_;
  Vocabulary vocab_;
  engine::Distributions dist_;
  std::string served_model_;
  int prompt_mismatches_ = 0;
  int64_t last_endpoint_prompt_tokens_ = 0;
  size_t last_reference_prompt_tokens_ = 0;
};

// The first model GET /v1/models lists ("" when the route is missing or lists none).
std::string ListedModel(http::Client* client, const std::string& url);

// The build GET /props reports (llama-server's build_info, "b1-de3ff81"), or "".
std::string ServerFingerprint(http::Client* client, const std::string& url);

// What pot endpoint probe reports.
struct ProbeReport {
  Api api = Api::kLlamaServer;
  bool api_detected = false;     // from the endpoint's own routes rather than --api
  std::string model, fingerprint;
  bool token_ids = false;        // generated tokens come with ids
  int top_logprobs = 0;          // how many top log-probabilities it returns when asked for 20 (0: none)
  bool greedy_repeatable = false;  // the same temperature-0 request twice gave the same tokens
  bool seed_honoured = false;    // the same seeded sampled request twice gave the same tokens, another seed others
  double seconds = 0;            // median wall time of the probe's completion requests
  int requests = 0;
  std::vector<std::string> notes;  // what failed, in one line each
};

// Asks the endpoint a few short questions (at most 10 requests). api: the API to use, or null to detect it
// (GET /props answers on llama-server only).
Status Probe(http::Client* client, const std::string& url, const std::optional<Api>& api, const std::string& model,
             ProbeReport* out);

// The strongest score a probed endpoint supports (greedy needs repeatable temperature-0 answers; else
// logprobs needs top log-probabilities), with why; Unsupported when none.
Status StrongestScore(const ProbeReport& probe, ScoreKind* kind, std::string* why);

}  // namespace pot::endpoint
