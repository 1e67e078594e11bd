// An endpoint's response body as pot verify --endpoint reads it (endpoint::ParseResponse, then MapTokens
// against a small vocabulary), under every API, with and without top lists. The first input byte picks
// the API (low two bits: llama-server, OpenAI completions, OpenAI chat, chat) and k (next two bits). An
// accepted generation holds what the parser promises.
#include <cmath>
#include <string>

#include "endpoint/api.h"
#include "endpoint/tokens.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int which = data[0] & 3;
  const pot::endpoint::Api api = which == 0   ? pot::endpoint::Api::kLlamaServer
                                 : which == 1 ? pot::endpoint::Api::kOpenAICompletions
                                              : pot::endpoint::Api::kOpenAIChat;
  const int k = (data[0] >> 2) & 3;  // 0 to 3 top log-probabilities
  const std::string body(pot::fuzz::Bytes(data + 1, size - 1));
  pot::endpoint::Generation g;
  const pot::Status s = pot::endpoint::ParseResponse(api, body, {16, k}, &g);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty() && s.message().find('\n') == std::string::npos, "one-line errors");
    return 0;
  }
  pot::fuzz::Check(!g.tokens.empty() && g.tokens.size() <= 16, "between 1 and max_tokens tokens");
  for (const auto& t : g.tokens) {
    if (!t.has_logprob) continue;  // llama-server passes some over (endpoint/api.h)
    pot::fuzz::Check(std::isfinite(t.token.logprob) && t.token.logprob <= 0, "log-probabilities");
    pot::fuzz::Check(k == 0 || static_cast<int>(t.top.size()) == k, "top lists of k entries");
  }
  static pot::endpoint::Vocabulary vocab = [] {
    pot::endpoint::Vocabulary v;
    if (!pot::endpoint::Vocabulary::FromPieces({"", "a", "b", " ", "\n", "ab", "\xc3\xa9"}, &v).ok()) std::abort();
    return v;
  }();
  std::vector<int32_t> ids;
  if (pot::endpoint::MapTokens(vocab, g, &ids).ok()) {
    pot::fuzz::Check(ids.size() == g.tokens.size(), "one id per token");
    for (int32_t id : ids) pot::fuzz::Check(id >= 0 && id < vocab.size(), "ids inside the vocabulary");
  }
  return 0;
}
