// The response parsers on well-formed and hostile bodies (the shapes llama-server 3.22.1 really sends,
// cut down), the logprobs estimator's unbiasedness, and the text score's exact null mean.
#include "endpoint/api.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "endpoint/score.h"
#include "endpoint/tokens.h"
#include "stats/per_token.h"

namespace pot::endpoint {
namespace {

std::string Entry(int id, const std::string& bytes_json, double lp) {
  return "{\"id\":" + std::to_string(id) + ",\"token\":\"x\",\"bytes\":" + bytes_json + ",\"logprob\":" + std::to_string(lp);
}

// A /completion answer of two tokens (ids 13 and 376) with top-2 lists.
std::string LlamaServerBody(double lp0 = -0.1, const std::string& extra = "") {
  return "{\"content\":\"\\n \\\"\",\"tokens\":[13,376],\"model\":\"m\",\"stop_type\":\"limit\"," + extra +
         "\"completion_probabilities\":[" + Entry(13, "[10]", lp0) + ",\"top_logprobs\":[" + Entry(13, "[10]", lp0) +
         "}," + Entry(29892, "[44]", -3.4) + "}]}," + Entry(376, "[32,34]", -0.5) + ",\"top_logprobs\":[" +
         Entry(376, "[32,34]", -0.5) + "}," + Entry(13, "[10]", -4.0) + "}]}]}";
}

TEST(EndpointApi, ParsesLlamaServerCompletion) {
  Generation g;
  ASSERT_TRUE(ParseResponse(Api::kLlamaServer, LlamaServerBody(), {8, 2}, &g).ok());
  ASSERT_EQ(g.tokens.size(), 2u);
  EXPECT_EQ(*g.tokens[1].token.id, 376);
  EXPECT_EQ(g.tokens[1].token.bytes, " \"");
  EXPECT_EQ(g.tokens[0].top.size(), 2u);
  EXPECT_EQ(g.model, "m");
  EXPECT_EQ(g.text, "\n \"");
}

TEST(EndpointApi, RefusesHostileBodiesWithOneLine) {
  auto fails = [](const std::string& body, const std::string& needle, ParseLimits limits = {8, 2}) {
    Generation g;
    Status s = ParseResponse(Api::kLlamaServer, body, limits, &g);
    EXPECT_FALSE(s.ok()) << body;
    EXPECT_EQ(s.code(), Status::Code::kIOError);
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
  };
  fails("", "not a JSON object");
  fails("<html>502</html>", "not a JSON object");
  fails(LlamaServerBody().substr(0, 60), "not a JSON object");  // truncated
  fails("{\"content\":\"a\"}", "\"tokens\"");
  fails(LlamaServerBody(0.5), "not a log-probability");               // a positive logprob
  std::string overflow = LlamaServerBody();
  overflow.replace(overflow.find("-0.100000"), 9, "-1e400");  // no double holds it
  fails(overflow, "");
  fails(LlamaServerBody(-0.1).replace(LlamaServerBody().find("[13,376]"), 8, "[14,376]"), "names token");
  fails(LlamaServerBody(), "2 tokens generated, 1 asked for", {1, 2});
  fails(LlamaServerBody(), "asked for 3", {8, 3});
  fails("{\"error\":{\"message\":\"model not loaded\"}}", "model not loaded");
  fails(std::string("{\"content\":\"\xff\"}"), "not UTF-8");
  fails(std::string(100000, '['), "not a JSON object");
}

// llama-server records no probabilities for a token after which the text ends inside a UTF-8 character:
// entries are matched to tokens in order, and a passed-over token is left without one (the scorer checks
// it); an entry that names no later token is a fault.
TEST(EndpointApi, TokensLlamaServerPassesOverKeepNoLogprob) {
  std::string body = LlamaServerBody();
  body.replace(body.find("[13,376]"), 8, "[13,226,376,128]");
  Generation g;
  ASSERT_TRUE(ParseResponse(Api::kLlamaServer, body, {8, 2}, &g).ok()) << ParseResponse(Api::kLlamaServer, body, {8, 2}, &g).message();
  ASSERT_EQ(g.tokens.size(), 4u);
  EXPECT_TRUE(g.tokens[0].has_logprob && g.tokens[2].has_logprob);
  EXPECT_FALSE(g.tokens[1].has_logprob || g.tokens[3].has_logprob);
  body.replace(body.find("[13,226,376,128]"), 16, "[376,13]");
  EXPECT_NE(ParseResponse(Api::kLlamaServer, body, {8, 2}, &g).message().find("not among the generated tokens"), std::string::npos);
}

TEST(EndpointApi, RefusesTopListsThatContradictTheSampledToken) {
  Generation g;
  // Token 13 sampled with logprob -0.1 but listed in its own top list at -0.7.
  std::string body = LlamaServerBody();
  const size_t at = body.find("\"top_logprobs\":[") + 16;
  body.replace(body.find("-0.100000", at), 9, "-0.700000");
  Status s = ParseResponse(Api::kLlamaServer, body, {8, 2}, &g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("contradicts"), std::string::npos) << s.message();
  // A top list whose probabilities add up to more than one.
  std::string heavy = LlamaServerBody(-0.01);
  heavy.replace(heavy.find("-3.400000"), 9, "-0.010000");
  s = ParseResponse(Api::kLlamaServer, heavy, {8, 2}, &g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("more than 1"), std::string::npos) << s.message();
}

TEST(EndpointApi, ParsesBothOpenAIShapes) {
  Generation g;
  const std::string content = "{\"model\":\"m\",\"system_fingerprint\":\"b1\",\"choices\":[{\"text\":\"\\n\",\"finish_reason\":\"length\","
                              "\"logprobs\":{\"content\":[" + Entry(13, "[10]", -0.2) + ",\"top_logprobs\":[" +
                              Entry(13, "[10]", -0.2) + "}]}]}}]}";
  ASSERT_TRUE(ParseResponse(Api::kOpenAICompletions, content, {4, 1}, &g).ok());
  EXPECT_EQ(*g.tokens[0].token.id, 13);
  EXPECT_EQ(g.fingerprint, "b1");
  // The legacy shape names tokens by text; vLLM spells partial UTF-8 as "bytes:\xNN".
  const std::string legacy = "{\"model\":\"m\",\"choices\":[{\"text\":\"a\xc3\xa9\",\"logprobs\":{\"tokens\":[\"a\",\"bytes:\\\\xc3\\\\xa9\"],"
                             "\"token_logprobs\":[-0.1,-0.2],\"top_logprobs\":[{\"a\":-0.1},{\"bytes:\\\\xc3\\\\xa9\":-0.2}]}}]}";
  ASSERT_TRUE(ParseResponse(Api::kOpenAICompletions, legacy, {4, 1}, &g).ok()) << ParseResponse(Api::kOpenAICompletions, legacy, {4, 1}, &g).message();
  EXPECT_FALSE(g.tokens[0].token.id.has_value());
  EXPECT_EQ(g.tokens[1].token.bytes, "\xc3\xa9");
  // Text without per-token information cannot be scored by token.
  Status s = ParseResponse(Api::kOpenAICompletions, "{\"choices\":[{\"text\":\"hi\",\"logprobs\":null}]}", {4, 0}, &g);
  EXPECT_NE(s.message().find("text only"), std::string::npos) << s.message();
}

TEST(EndpointApi, ChatRequestsAreMessagesAndAnswersAreMessages) {
  Request r;
  r.system = "Be brief.";
  r.user = "The quick brown";
  r.max_tokens = 2;
  EXPECT_EQ(RequestBody(Api::kOpenAIChat, r),
            "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"The quick brown\"}],"
            "\"max_tokens\":2,\"temperature\":0.0,\"top_p\":1.0,\"logprobs\":true,\"top_logprobs\":1,\"stream\":false}");
  const std::string body = "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":31},\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"\\n\"},"
                           "\"logprobs\":{\"content\":[" + Entry(13, "[10]", -0.2) + ",\"top_logprobs\":[" + Entry(13, "[10]", -0.2) + "}]}]}}]}";
  Generation g;
  ASSERT_TRUE(ParseResponse(Api::kOpenAIChat, body, {4, 1}, &g).ok()) << ParseResponse(Api::kOpenAIChat, body, {4, 1}, &g).message();
  EXPECT_EQ(g.text, "\n");
  EXPECT_EQ(g.prompt_tokens, 31);
  EXPECT_EQ(*g.tokens[0].token.id, 13);
}

TEST(EndpointApi, RequestBodiesAreFixedBytes) {
  Request r;
  r.prompt = {1, 450};
  r.max_tokens = 4;
  EXPECT_EQ(RequestBody(Api::kLlamaServer, r),
            "{\"prompt\":[1,450],\"n_predict\":4,\"temperature\":0.0,\"repeat_penalty\":1.0,\"presence_penalty\":0.0,"
            "\"frequency_penalty\":0.0,\"dry_multiplier\":0.0,\"mirostat\":0,"
            "\"return_tokens\":true,\"cache_prompt\":false,\"stream\":false}");
  r.sampling = {false, 7u, 5};
  r.model = "m";
  EXPECT_EQ(RequestBody(Api::kOpenAICompletions, r),
            "{\"model\":\"m\",\"prompt\":[1,450],\"max_tokens\":4,\"temperature\":1.0,\"top_p\":1.0,\"seed\":7,\"logprobs\":5,\"stream\":false}");
}

TEST(EndpointTokens, TextTokensMustRoundTripAndIdsMustNameTheirBytes) {
  Vocabulary vocab;
  ASSERT_TRUE(Vocabulary::FromPieces({"", "a", "b", "ab", " "}, &vocab).ok());
  Generation g;
  g.text = "ab a";
  for (const char* t : {"ab", " ", "a"}) g.tokens.push_back({{std::nullopt, t, true, -0.1}, true, {}});
  std::vector<int32_t> ids;
  ASSERT_TRUE(MapTokens(vocab, g, &ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{3, 4, 1}));
  g.text = "ab b";  // the tokens spell something else: another tokenizer, or a doctored body
  EXPECT_NE(MapTokens(vocab, g, &ids).message().find("does not round-trip"), std::string::npos);
  g.tokens[0].token = {7, "", false, -0.1};
  EXPECT_NE(MapTokens(vocab, g, &ids).message().find("outside the reference vocabulary"), std::string::npos);
  g.tokens[0].token = {3, "ba", true, -0.1};
  EXPECT_NE(MapTokens(vocab, g, &ids).message().find("another tokenizer"), std::string::npos);
  g.tokens[0].token = {std::nullopt, "zz", true, -0.1};
  EXPECT_NE(MapTokens(vocab, g, &ids).message().find("not in the reference vocabulary"), std::string::npos);
}

// E over y ~ q of the logprobs score is exactly TV(p, q): checked on random small distributions by
// enumerating y (exact expectation) rather than sampling.
TEST(EndpointScore, LogprobsScoreIsUnbiasedForTotalVariationAndBounded) {
  std::mt19937_64 rng(7);
  const int n = 12, k = 3;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> p(n), q(n);
    std::gamma_distribution<double> g(0.3);
    double sp = 0, sq = 0;
    for (int v = 0; v < n; ++v) sp += p[v] = g(rng) + 1e-9, sq += q[v] = g(rng) + 1e-9;
    for (int v = 0; v < n; ++v) p[v] /= sp, q[v] /= sq;
    engine::Distributions ref;
    ref.n_vocab = n;
    for (int v = 0; v < n; ++v) ref.logp.push_back(static_cast<float>(std::log(p[v])));
    ref.argmax.push_back(static_cast<int32_t>(std::max_element(p.begin(), p.end()) - p.begin()));
    std::vector<int> order(n);
    for (int v = 0; v < n; ++v) order[v] = v;
    std::sort(order.begin(), order.end(), [&](int a, int b) { return q[a] > q[b]; });
    double tv = 0, expectation = 0;
    for (int v = 0; v < n; ++v) tv += std::max(0.0, q[v] - p[v]);
    Vocabulary vocab;
    ASSERT_TRUE(Vocabulary::FromPieces(std::vector<std::string>(n, "t"), &vocab).ok());
    for (int y = 0; y < n; ++y) {
      Generation gen;
      GeneratedToken t;
      t.token.id = y;
      t.token.logprob = std::log(q[y]);
      t.has_logprob = true;
      for (int j = 0; j < k; ++j) t.top.push_back({order[j], "", false, std::log(q[order[j]])});
      gen.tokens.push_back(t);
      std::vector<double> scores;
      ASSERT_TRUE(ScoreTokens({ScoreKind::kLogprobs, 0, k}, vocab, ref, 0, {y}, gen, &scores).ok());
      ASSERT_GE(scores[0], 0.0);
      ASSERT_LE(scores[0], 1.0);
      expectation += q[y] * scores[0];
    }
    EXPECT_NEAR(expectation, tv, 1e-5) << "trial " << trial;
  }
}

// The text score's defining property: E over y ~ p of Z is exactly 1/2 when the endpoint samples from the
// reference's own p, end-of-generation tokens merged into one outcome and surprisals above C clipped.
// Checked by enumeration on random distributions, some with probabilities far below e^-C.
TEST(EndpointScore, TextScoreHasMeanOneHalfUnderTheReferenceAndEndOfGenerationIsOneOutcome) {
  std::mt19937_64 rng(11);
  const int n = 16;
  Vocabulary vocab;
  ASSERT_TRUE(Vocabulary::FromPieces(std::vector<std::string>(n, "t"), &vocab, {3, 9}).ok());
  for (int trial = 0; trial < 200; ++trial) {
    engine::Distributions ref;
    ref.n_vocab = n;
    std::normal_distribution<double> logit(0, trial % 2 ? 12.0 : 2.0);  // wide rows put mass below e^-20
    for (int v = 0; v < n; ++v) ref.logp.push_back(static_cast<float>(logit(rng)));
    ref.argmax.push_back(0);
    double total = 0;
    for (int v = 0; v < n; ++v) total += std::exp(static_cast<double>(ref.logp[v]));
    double expectation = 0;
    std::vector<double> z(n);
    for (int y = 0; y < n; ++y) {
      Generation gen;
      gen.tokens.resize(1);
      gen.tokens[0].token.id = y;
      std::vector<double> scores;
      ASSERT_TRUE(ScoreTokens({ScoreKind::kText}, vocab, ref, 0, {y}, gen, &scores).ok());
      z[y] = scores[0];
      ASSERT_GE(z[y], 0.0);
      ASSERT_LE(z[y], 1.0);
      expectation += std::exp(static_cast<double>(ref.logp[y])) / total * z[y];
    }
    EXPECT_NEAR(expectation, 0.5, 1e-9) << "trial " << trial;
    EXPECT_EQ(z[3], z[9]) << "the end-of-generation ids are one outcome";
  }
}

// The text score through the two-sided test, on sequences sampled token by token as an endpoint would:
// from the reference's own p (false DIFFERENT at most alpha), and from p at temperature 0.7 or from an
// unrelated model (logits drawn independently at the same scale), which must be told apart. (A small
// perturbation of the logits that keeps the entropy profile can pass: docs/endpoints.md says so.)
TEST(EndpointScore, TextScoreSampledFromTheReferenceRarelyReachesDifferentAndOthersDo) {
  const int n = 24;
  Vocabulary vocab;
  ASSERT_TRUE(Vocabulary::FromPieces(std::vector<std::string>(n, "t"), &vocab, {0}).ok());
  const stats::TestParams params = {0.05, 0.05, CalibrationOf(ScoreKind::kText).epsilon, 0};
  enum class Source { kReference, kColder, kUnrelated };
  auto different_rate = [&](Source source, int streams, uint64_t seed) {
    std::mt19937_64 rng(seed);
    int different = 0;
    for (int s = 0; s < streams; ++s) {
      stats::CenteredTokenTest test(params, /*with_bounds=*/false);
      stats::Decision d = stats::Decision::kUndecided;
      for (int t = 0; t < 1024 && d == stats::Decision::kUndecided; ++t) {
        engine::Distributions ref;
        ref.n_vocab = n;
        std::normal_distribution<double> logit(0, 1.0 + (t % 7));  // positions from nearly flat to nearly certain
        std::vector<double> served(n);
        for (int v = 0; v < n; ++v) {
          const double l = logit(rng);
          ref.logp.push_back(static_cast<float>(l));
          served[v] = source == Source::kColder ? l / 0.7 : source == Source::kUnrelated ? logit(rng) : l;
        }
        ref.argmax.push_back(0);
        std::vector<double> w(n);
        for (int v = 0; v < n; ++v) w[v] = std::exp(served[v]);
        Generation gen;
        gen.tokens.resize(1);
        const int32_t y = std::discrete_distribution<int32_t>(w.begin(), w.end())(rng);
        gen.tokens[0].token.id = y;
        std::vector<double> scores;
        if (!ScoreTokens({ScoreKind::kText}, vocab, ref, 0, {y}, gen, &scores).ok() || !test.Add(scores[0], &d).ok()) std::abort();
      }
      different += d == stats::Decision::kDifferent;
    }
    return static_cast<double>(different) / streams;
  };
  const double null_rate = different_rate(Source::kReference, 1000, 21);
  std::printf("  text score, sampled from the reference: DIFFERENT %.4f (alpha %.2f)\n", null_rate, params.alpha);
  EXPECT_LE(null_rate, params.alpha + 3 * std::sqrt(params.alpha * (1 - params.alpha) / 1000));
  EXPECT_GE(different_rate(Source::kColder, 100, 22), 0.9);
  EXPECT_GE(different_rate(Source::kUnrelated, 100, 23), 0.9);
}

// A text-only answer (no per-token entries) is refused with the reason, never re-tokenized.
TEST(EndpointApi, TextOnlyAnswersAreRefusedWithTheReason) {
  Generation gen;
  const Status s = ParseResponse(Api::kOpenAICompletions,
                                 R"({"choices":[{"text":" hello","index":0,"logprobs":null,"finish_reason":"length"}]})",
                                 {8, 0}, &gen);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("text only"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("re-tokenizing"), std::string::npos) << s.message();
}

// The stop reason: llama-server's stop_type "eos" and OpenAI's finish_reason "stop" both mean an
// end-of-generation token was drawn.
TEST(EndpointApi, StopsOnEndOfGenerationAreRead) {
  Generation gen;
  ASSERT_TRUE(ParseResponse(Api::kLlamaServer, R"({"content":"a","tokens":[5],"stop_type":"eos"})", {8, 0}, &gen).ok());
  EXPECT_TRUE(gen.stopped_by_eog);
  ASSERT_TRUE(ParseResponse(Api::kLlamaServer, R"({"content":"a","tokens":[5],"stop_type":"limit"})", {8, 0}, &gen).ok());
  EXPECT_FALSE(gen.stopped_by_eog);
  ASSERT_TRUE(ParseResponse(Api::kOpenAICompletions,
                            R"({"choices":[{"text":"a","finish_reason":"stop","logprobs":{"content":[{"id":5,"token":"a","logprob":-1}]}}]})",
                            {8, 0}, &gen).ok());
  EXPECT_TRUE(gen.stopped_by_eog);
}

// The logprobs score accepts a token without log-probability only where llama-server's own validate_utf8
// would have passed it over: a lead byte in the last four bytes with too few bytes after it, even when an
// ASCII byte follows that lead (text that is not UTF-8 at all: a forge model samples such bytes).
TEST(EndpointScore, PassedOverTokensFollowLlamaServersRule) {
  Vocabulary vocab;
  ASSERT_TRUE(Vocabulary::FromPieces({"a", "\xe2", "b", "\x82\xac"}, &vocab).ok());
  engine::Distributions ref;
  ref.n_vocab = 4;
  for (int row = 0; row < 3; ++row) {
    for (int v = 0; v < 4; ++v) ref.logp.push_back(std::log(0.25f));
    ref.argmax.push_back(0);
  }
  auto score = [&](std::vector<int32_t> ids, std::vector<bool> has) {
    Generation gen;
    for (size_t i = 0; i < ids.size(); ++i) {
      GeneratedToken t;
      t.token.id = ids[i];
      t.token.logprob = std::log(0.25);
      t.has_logprob = has[i];
      if (has[i]) t.top = {{ids[i], "", false, std::log(0.25)}};
      gen.tokens.push_back(t);
    }
    std::vector<double> scores;
    return ScoreTokens({ScoreKind::kLogprobs, 0, 0, 1}, vocab, ref, 0, ids, gen, &scores);
  };
  EXPECT_TRUE(score({1, 3}, {false, true}).ok()) << "\\xe2 alone ends inside a character";
  EXPECT_TRUE(score({1, 2}, {false, false}).ok()) << "\\xe2 then b: llama-server still counts it as cut off";
  EXPECT_FALSE(score({0, 2}, {true, false}).ok()) << "ab ends on a whole character";
  EXPECT_FALSE(score({1, 3}, {false, false}).ok()) << "\\xe2\\x82\\xac is whole";
}

// Replay and text need the sampler that draws from the whole distribution; a response whose reported
// settings say otherwise ends the challenge with the setting named, never a score.
TEST(EndpointScore, ScoresRefuseASamplerTheEndpointReportsAsTruncating) {
  Vocabulary vocab;
  ASSERT_TRUE(Vocabulary::FromPieces({"a", "b"}, &vocab).ok());
  engine::Distributions ref;
  ref.n_vocab = 2;
  ref.logp = {std::log(0.5f), std::log(0.5f)};
  ref.argmax = {0};
  Generation gen;
  gen.tokens.resize(1);
  gen.tokens[0].token.id = 0;
  std::vector<double> scores;
  auto message = [&](ScoreKind kind) { return ScoreTokens({kind, 1e-3, 7, 0}, vocab, ref, 0, {0}, gen, &scores).message(); };
  EXPECT_NE(message(ScoreKind::kReplay).find("replay does not apply: the endpoint reports no generation_settings"), std::string::npos);
  EXPECT_TRUE(ScoreTokens({ScoreKind::kText}, vocab, ref, 0, {0}, gen, &scores).ok()) << "text takes an unreporting endpoint at its word";
  SamplerSettings& full = gen.sampler;  // what llama-server echoes for the settings pot sends
  full.reported = true;
  full.seed = 7;
  full.temperature = full.top_p = full.typical_p = full.repeat_penalty = 1.0;
  full.min_p = full.xtc_probability = full.presence_penalty = full.frequency_penalty = full.dry_multiplier = 0.0;
  full.top_k = full.mirostat = 0;
  EXPECT_TRUE(ScoreTokens({ScoreKind::kReplay, 1e-3, 7, 0}, vocab, ref, 0, {0}, gen, &scores).ok());
  gen.sampler.seed = 8;
  EXPECT_NE(message(ScoreKind::kReplay).find("seed 8, not the 7 asked for"), std::string::npos);
  gen.sampler.top_k = 40;
  EXPECT_NE(message(ScoreKind::kText).find("the text score does not apply: the endpoint reports top_k 40"), std::string::npos);
}

}  // namespace
}  // namespace pot::endpoint
