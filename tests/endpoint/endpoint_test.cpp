// pot verify --endpoint against real llama-server processes on loopback ports (started and stopped by the
// tests), and through a fault-injecting proxy in front of one: the verdicts, the evidence, the API key,
// faults and resume, and audit --rescore from the recorded responses.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "crypto/ed25519.h"
#include "evidence/bundle.h"
#include "support/fault_proxy.h"
#include "support/llama_server.h"
#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::ordered_json;
using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

std::unique_ptr<test::LlamaServer> Serve(const std::string& member, std::vector<std::string> extra = {}) {
  std::unique_ptr<test::LlamaServer> server;
  Status s = test::LlamaServer::Start(Member(member), extra, &server);
  if (!s.ok()) ADD_FAILURE() << "llama-server " << member << ": " << s.message();
  return server;
}

// One thread each: pot and llama-server share two cores, and spinning thread pools slow both.
std::string Verify(const std::string& url, const std::string& dir, const std::string& extra = "") {
  return "verify --ref " + Member("base") + " --endpoint " + url + " --threads 1 --quiet -o " + dir + " " + extra;
}

std::string RootOf(const std::string& dir) {
  return json::parse(test::Slurp(dir + "/result.json")).at("transcript_root").get<std::string>();
}

class VerifyEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(Member("base"))) GTEST_SKIP() << "testbed not forged at " << test::TestbedDir();
    ASSERT_EQ(RunPot("challenge commit --family templates -n 64 -o " + dir_.File("c.key")).exit_code, 0);
    ASSERT_EQ(RunPot("keygen -o " + dir_.File("signer")).exit_code, 0);
  }
  std::string Key() const { return "--key " + dir_.File("c.key"); }
  test::TempDir dir_;
};

TEST_F(VerifyEndpointTest, BaseServedIsSameFinetuneServedIsDifferent) {
  {
    auto base = Serve("base");
    ASSERT_TRUE(base);
    auto probe = RunPot("endpoint probe " + base->base_url() + " --json");
    ASSERT_EQ(probe.exit_code, 0) << probe.err;
    const json p = json::parse(probe.out);
    EXPECT_EQ(p.at("api"), "llama-server");
    EXPECT_TRUE(p.at("token_ids").get<bool>());
    EXPECT_TRUE(p.at("greedy_repeatable").get<bool>());
    EXPECT_TRUE(p.at("seed_honoured").get<bool>());
    EXPECT_EQ(p.at("strongest_score"), "replay");
    const std::string run = dir_.File("base");
    auto r = RunPot(Verify(base->base_url(), run, Key() + " --mode audit --sign " + dir_.File("signer")));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("decision    SAME"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("not what the provider ran"), std::string::npos);
    const json result = json::parse(test::Slurp(run + "/result.json"));
    EXPECT_EQ(result.at("endpoint").at("score"), "replay");
    auto greedy = RunPot(Verify(base->base_url(), dir_.File("base-greedy"), Key() + " --mode audit --score greedy"));
    EXPECT_EQ(greedy.exit_code, 0) << greedy.out << greedy.err;  // logprobs: the test below
    // The audit re-scores every record from the recorded bodies with the reference model, offline.
    auto audit = RunPot("audit " + run + "/bundle.json --trust " + dir_.File("signer.pub") + " --ref " + Member("base") +
                        " --rescore --threads 1");
    EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
    EXPECT_NE(audit.out.find("recomputed from the recorded responses"), std::string::npos) << audit.out;
  }
  // A 4-bit substitute: replay catches it (docs/endpoints.md has every score's verdict on it).
  {
    auto q4 = Serve("base-q4_0");
    ASSERT_TRUE(q4);
    auto r = RunPot(Verify(q4->base_url(), dir_.File("q4-replay"), Key() + " --mode audit --score replay"));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  }
  for (const char* other : {"finetune", "sibling", "distilled"}) {
    auto server = Serve(other);
    ASSERT_TRUE(server);
    for (const char* score : {"replay", "greedy", "logprobs"}) {
      auto r = RunPot(Verify(server->base_url(), dir_.File(std::string(other) + "-" + score), Key() + " --mode audit --score " + score));
      EXPECT_EQ(r.exit_code, 1) << other << " " << score << "\n" << r.out << r.err;
      EXPECT_NE(r.out.find("decision    DIFFERENT"), std::string::npos) << other << " " << score << "\n" << r.out;
    }
  }
}

TEST_F(VerifyEndpointTest, BaseServedIsSameUnderTheLogprobsScoreWhichSaysItRestsOnReportedNumbers) {
  auto base = Serve("base");
  ASSERT_TRUE(base);
  auto r = RunPot(Verify(base->base_url(), dir_.File("run"), Key() + " --mode audit --score logprobs"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("decision    SAME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("could forge"), std::string::npos) << r.out;
}

TEST_F(VerifyEndpointTest, TheApiKeyNeverReachesTheRunDirectoryOrTheTerminal) {
  const std::string secret = "sk-pot-test-3f9a1c77e2d54b08";
  auto server = Serve("base", {"--api-key", secret});
  ASSERT_TRUE(server);
  const std::string run = dir_.File("keyed");
  auto refused = RunPot(Verify(server->base_url(), dir_.File("unkeyed"), Key() + " --api llama-server --score greedy --n-max 2"));
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  EXPECT_NE(refused.err.find("401"), std::string::npos) << refused.err;
  const std::string env = "POT_TEST_API_KEY=" + secret + " ";
  auto r = RunPot(Verify(server->base_url(), run, Key() + " --api-key-env POT_TEST_API_KEY --mode quick --sign " + dir_.File("signer")),
                  env);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(run)) {
    if (!e.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(test::Slurp(e.path().string()).find(secret), std::string::npos) << e.path();
  }
  EXPECT_GE(files, 3);  // transcript, result, bundle
}

// A run stopped by SIGKILL mid-way, and runs stopped by each fault the proxy injects, resume: the records
// already on disk stay byte for byte, the run finishes with the uninterrupted run's decision, and a rerun of
// the finished command changes nothing (same root). Two runs' transcripts are not byte-identical: each holds
// the endpoint's raw bodies, and llama-server's carry its timings.
TEST_F(VerifyEndpointTest, FaultsStopTheRunCleanlyAndRerunsResumeToTheSameRoot) {
  auto server = Serve("base");
  ASSERT_TRUE(server);
  auto rewrite = [](std::function<void(json&)> edit) {
    return test::Fault::RewriteJson([edit](const std::string& body) {
      json j = json::parse(body);
      edit(j);
      return j.dump();
    });
  };
  struct Case {
    const char* name;
    test::Fault fault;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"reset", test::Fault::Reset(), "challenge 2"},
      {"500", test::Fault::Status500(), "HTTP 500"},
      {"429", test::Fault::Status429(0), "HTTP 429"},
      {"slow", test::Fault::Delay(5), "timed out"},
      {"truncated", test::Fault::TruncateHalf(), "challenge 2"},
      {"not-json", test::Fault::ReplaceBody("<html>bad gateway</html>"), "not a JSON object"},
      {"no-tokens", rewrite([](json& j) { j.erase("tokens"); }), "\"tokens\""},
      {"negative-id", rewrite([](json& j) { j["tokens"][0] = -5; }), "negative token id"},
      {"foreign-id", rewrite([](json& j) { j["tokens"][0] = 999999; }), "outside the reference vocabulary"},
      {"other-model", rewrite([](json& j) { j["model"] = "someone-else.gguf"; }), "answered as model"},
  };
  // One proxy for every run, so every run names the same endpoint URL. While a case is armed, the first
  // four requests pass (GET /v1/models and /props, challenges 0 and 1) and every later one, retries
  // included, fails.
  std::atomic<int> armed{-1}, passes{0};
  test::FaultProxy proxy(server->port(), [&](int, const test::Request&) {
    const int c = armed.load();
    if (c < 0 || passes.fetch_sub(1) > 0) return test::Fault::Pass();
    return cases[static_cast<size_t>(c)].fault;
  });
  const std::string common = Key() + " --api llama-server --score greedy --mode audit --retries 1 --timeout 3";
  const std::string clean = dir_.File("clean");
  ASSERT_EQ(RunPot(Verify(proxy.base_url(), clean, common)).exit_code, 0);
  const std::string decision = json::parse(test::Slurp(clean + "/result.json")).at("decision").get<std::string>();
  auto resumes = [&](const std::string& run) {
    const std::string before = test::Slurp(run + "/transcript.jsonl");
    auto again = RunPot(Verify(proxy.base_url(), run, common));
    EXPECT_NE(again.exit_code, 4) << again.err;
    EXPECT_NE(again.err.find("resuming"), std::string::npos) << again.err;
    EXPECT_EQ(test::Slurp(run + "/transcript.jsonl").substr(0, before.size()), before);
    EXPECT_EQ(json::parse(test::Slurp(run + "/result.json")).at("decision").get<std::string>(), decision);
    const std::string root = RootOf(run);
    auto rerun = RunPot(Verify(proxy.base_url(), run, common));
    EXPECT_EQ(rerun.exit_code, again.exit_code) << rerun.err;
    EXPECT_EQ(RootOf(run), root);
  };

  // SIGKILL once two records are on disk.
  const std::string killed = dir_.File("killed");
  const std::string cmd = std::string(POT_BINARY) + " " + Verify(proxy.base_url(), killed, common) +
                          " >/dev/null 2>&1 & pid=$!; while [ \"$(cat " + killed +
                          "/transcript.jsonl 2>/dev/null | wc -l)\" -lt 3 ]; do sleep 0.02; done; kill -9 $pid; wait $pid";
  test::WriteBytes(dir_.File("kill.sh"), cmd + "\n");
  std::system(("bash " + dir_.File("kill.sh")).c_str());
  EXPECT_GE(test::CountLines(test::Slurp(killed + "/transcript.jsonl")), 3);
  resumes(killed);

  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.name);
    const std::string run = dir_.File(std::string("fault-") + c.name);
    passes = 4;
    armed = static_cast<int>(i);
    auto r = RunPot(Verify(proxy.base_url(), run, common));
    armed = -1;
    EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("pot: error"), r.err.rfind("pot: error")) << r.err;  // one error line (retry notices aside)
    EXPECT_EQ(test::CountLines(test::Slurp(run + "/transcript.jsonl")), 3) << r.err;  // header and the two scored challenges
    resumes(run);  // the same command, the endpoint healthy again
  }
}

// The chat API: the challenge is a user message the server wraps in its template; the reference applies the
// same template (ChatML here: the forge GGUFs carry none, and llama-server falls back to it).
TEST_F(VerifyEndpointTest, ChatApiBaseIsSameFinetuneIsDifferent) {
  {
    auto base = Serve("base");
    ASSERT_TRUE(base);
    auto r = RunPot(Verify(base->base_url(), dir_.File("chat-base"), Key() + " --api openai-chat --mode audit"));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("wrapper"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("wrapped in something pot did not send"), std::string::npos) << r.out;
    auto sys = RunPot(Verify(base->base_url(), dir_.File("chat-system"), Key() + " --api openai-chat --system 'Answer briefly.' --mode audit"));
    EXPECT_EQ(sys.exit_code, 0) << sys.out << sys.err;
  }
  auto finetune = Serve("finetune");
  ASSERT_TRUE(finetune);
  auto r = RunPot(Verify(finetune->base_url(), dir_.File("chat-finetune"), Key() + " --api openai-chat --mode audit"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

// The text score on base served at temperature 1 with nothing truncated (the server's own defaults set so,
// as a provider serving the model's distribution would): no DIFFERENT over 10 keys, through the native and
// both OpenAI APIs, and never a SAME. The server's default seed makes each request's draw repeatable (pot
// sends none), so the test gives the same answer every time. Finetune is DIFFERENT; a server that
// truncates (llama-server's own defaults on the OpenAI routes: top-k 40, min-p 0.05) is DIFFERENT too,
// with tokens less surprising than the reference's own draws.
TEST_F(VerifyEndpointTest, TextScoreNeverCallsBaseDifferentAndCatchesFinetuneAndATruncatingSampler) {
  const std::vector<std::string> full = {"--top-k", "0", "--min-p", "0", "--top-p", "1", "--seed", "7"};
  {
    auto base = Serve("base", full);
    ASSERT_TRUE(base);
    int undecided = 0;
    for (int k = 0; k < 10; ++k) {
      const char* api = k < 6 ? "llama-server" : k < 8 ? "openai-completions" : "openai-chat";
      const std::string run = dir_.File("text-base-" + std::to_string(k));
      auto r = RunPot(Verify(base->base_url(), run, std::string("--api ") + api + " --score text --mode audit --n-max 12"));
      EXPECT_EQ(r.exit_code, 5) << api << "\n" << r.out << r.err;
      undecided += r.out.find("decision    UNDECIDED") != std::string::npos;
      EXPECT_NE(r.out.find("never says SAME"), std::string::npos) << r.out;
      const json result = json::parse(test::Slurp(run + "/result.json"));
      EXPECT_EQ(result.at("endpoint").at("feed"), "token-centered");
      EXPECT_EQ(result.at("endpoint").at("tokens_scored").get<int>(), 12 * 32) << "every token was scored";
    }
    EXPECT_EQ(undecided, 10);
  }
  {
    auto finetune = Serve("finetune", full);
    ASSERT_TRUE(finetune);
    auto r = RunPot(Verify(finetune->base_url(), dir_.File("text-finetune"), "--api llama-server --score text --mode audit"));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("decision    DIFFERENT"), std::string::npos) << r.out;
  }
  auto truncating = Serve("base");
  ASSERT_TRUE(truncating);
  auto r = RunPot(Verify(truncating->base_url(), dir_.File("text-truncated"), "--api openai-completions --score text --mode audit"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("surprisal   -"), std::string::npos) << r.out;
  // Through its native API pot asks for the full distribution (top-k 0, min-p 0, ...), which the server
  // honours and echoes in generation_settings: nothing to find.
  auto native = RunPot(Verify(truncating->base_url(), dir_.File("text-native-truncated"),
                              "--api llama-server --score text --mode audit"));
  EXPECT_EQ(native.exit_code, 5) << native.out << native.err;
}

// Challenges drawn from the user's own prompts (the corpus family) look like their traffic; --parallel 3
// keeps three requests in flight, yet the test reads the same records in the same order as a one-at-a-time
// run: the same request bodies, generated tokens, scores and verdict.
TEST_F(VerifyEndpointTest, ParallelRequestsFromACorpusGiveTheRecordsOfASequentialRun) {
  std::string corpus;
  for (int i = 0; i < 40; ++i) {
    corpus += "{\"prompt\": \"Summarize ticket #" + std::to_string(1000 + i) + " for the on-call engineer in two sentences.\"}\n";
  }
  test::WriteBytes(dir_.File("prompts.jsonl"), corpus);
  ASSERT_EQ(RunPot("challenge commit --family corpus --corpus " + dir_.File("prompts.jsonl") + " -n 128 -o " + dir_.File("corpus.key")).exit_code, 0);
  auto base = Serve("base");
  ASSERT_TRUE(base);
  std::vector<std::vector<json>> runs;
  for (const char* parallel : {"1", "3"}) {
    const std::string run = dir_.File(std::string("corpus-") + parallel);
    auto r = RunPot(Verify(base->base_url(), run, "--key " + dir_.File("corpus.key") + " --corpus " + dir_.File("prompts.jsonl") +
                                                      " --api llama-server --score replay --mode audit --parallel " + parallel));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(json::parse(test::Slurp(run + "/result.json")).at("endpoint").at("parallel").get<int>(), std::stoi(parallel));
    std::vector<json> records;
    std::istringstream lines(test::Slurp(run + "/transcript.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      const json j = json::parse(line);
      if (j.value("type", "") != "challenge") continue;
      EXPECT_NE(j.at("prompt").get<std::string>().find("Summarize ticket #"), std::string::npos);
      records.push_back({j.at("index"), j.at("exchange").at("request"), j.at("continuation"), j.at("exchange").at("token_scores")});
    }
    runs.push_back(records);
  }
  ASSERT_FALSE(runs[0].empty());
  EXPECT_EQ(runs[0], runs[1]);
}

// Reported numbers that cannot be log-probabilities, or that contradict each other, end a logprobs run.
TEST_F(VerifyEndpointTest, ImpossibleLogprobsEndTheRun) {
  auto server = Serve("base");
  ASSERT_TRUE(server);
  using Edit = std::function<void(json&)>;
  const std::vector<std::pair<Edit, const char*>> edits = {
      {[](json& j) { j["completion_probabilities"][0]["logprob"] = 0.5; }, "not a log-probability"},
      {[](json& j) {
         // Below the second entry, whatever the gap between the first two: the list is out of order on
         // every key (lowering the first by a fixed 1 nat left it in order when the gap was larger).
         auto& e = j["completion_probabilities"][0];
         e["top_logprobs"][0]["logprob"] = e["top_logprobs"][1]["logprob"].get<double>() - 1.0;
       }, "challenge 1"},
      {[](json& j) { j["completion_probabilities"][0]["top_logprobs"] = json::array(); }, "top logprobs, asked for 8"},
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE(edits[i].second);
    test::FaultProxy proxy(server->port(), [&](int n, const test::Request&) {
      if (n <= 3) return test::Fault::Pass();  // GET /v1/models and /props, and challenge 0
      return test::Fault::RewriteJson([&](const std::string& body) {
        json j = json::parse(body);
        edits[i].first(j);
        return j.dump();
      });
    });
    const std::string run = dir_.File("lp" + std::to_string(i));
    auto r = RunPot(Verify(proxy.base_url(), run, Key() + " --api llama-server --score logprobs --mode audit --retries 0"));
    EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
    EXPECT_NE(r.err.find(edits[i].second), std::string::npos) << r.err;
    EXPECT_EQ(test::CountLines(test::Slurp(run + "/transcript.jsonl")), 2);  // header and challenge 0
  }
}

// A bundle whose recorded response was edited and re-signed by its (dishonest) signer passes every check
// but the rescore, which reads the response against the reference model.
TEST_F(VerifyEndpointTest, AuditRescoreFailsOnATamperedResponse) {
  auto server = Serve("base");
  ASSERT_TRUE(server);
  const std::string run = dir_.File("run");
  ASSERT_EQ(RunPot(Verify(server->base_url(), run, Key() + " --mode quick --sign " + dir_.File("signer"))).exit_code, 0);
  evidence::Bundle bundle;
  ASSERT_TRUE(evidence::ParseBundle(test::Slurp(run + "/bundle.json"), &bundle).ok());
  evidence::Transcript t;
  ASSERT_TRUE(evidence::ParseTranscript(bundle.transcript, &t).ok());
  // The endpoint's first generated token becomes another one, in the body only.
  json line = json::parse(bundle.transcript[1]);
  json body = json::parse(line["exchange"]["response"].get<std::string>());
  body["tokens"][0] = body["tokens"][0].get<int>() == 13 ? 29892 : 13;
  line["exchange"]["response"] = body.dump();
  bundle.transcript[1] = line.dump();
  evidence::Claim claim;
  ASSERT_TRUE(evidence::ParseStatement(bundle.payload, &claim).ok());
  claim.transcript_root = evidence::TranscriptRoot(bundle.transcript);
  SigningKey key;
  ASSERT_TRUE(ReadSigningKey(Env::Default(), dir_.File("signer"), &key).ok());
  std::string text;
  ASSERT_TRUE(evidence::MakeBundle(key, claim, bundle.transcript, &text).ok());
  test::WriteBytes(dir_.File("tampered.json"), text);
  auto audit = RunPot("audit " + dir_.File("tampered.json") + " --trust " + dir_.File("signer.pub") + " --ref " + Member("base") +
                      " --rescore --threads 1");
  EXPECT_EQ(audit.exit_code, 1) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("PASS  signature"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("FAIL  rescore"), std::string::npos) << audit.out;
}

}  // namespace
}  // namespace pot
