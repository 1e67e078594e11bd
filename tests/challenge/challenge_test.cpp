#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "challenge/challenge.h"
#include "challenge/templates_v1.h"
#include "crypto/hmac.h"
#include "test_util.h"

namespace pot::challenge {
namespace {

std::string Key(const std::string& hex) {
  std::string k;
  EXPECT_TRUE(FromHex(hex, &k));
  return k;
}
const std::string kVectorKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::vector<Challenge> List(const std::string& key, const Family& f, uint64_t n, const std::string& corpus = "") {
  std::unique_ptr<Generator> gen;
  Status s = NewGenerator(Env::Default(), key, f, corpus, &gen);
  EXPECT_TRUE(s.ok()) << s.message();
  std::vector<Challenge> out(n);
  for (uint64_t i = 0; i < n; ++i) EXPECT_TRUE(gen->Generate(i, &out[i]).ok());
  return out;
}

// The vectors published in docs/formats.md ("Challenge test vectors").
TEST(Templates, MatchesPublishedVectors) {
  const auto c = List(Key(kVectorKey), {"templates", "v1"}, 6);
  EXPECT_EQ(ToHex(c[0].tag), "01c85226a755d6fef1888cec5137aa5dca3592c6516932c4c22a5fd0af9bd299");
  EXPECT_EQ(c[0].prompt,
            "Imagine an inventive fox and an ancient carpenter who both want to build the same map. "
            "Write their conversation.");
  EXPECT_EQ(ToHex(c[1].tag), "857d3107d23fb00c712af955d3c56d7b9710e52e63d72ba4b21f3d224cba9f2c");
  EXPECT_EQ(c[1].prompt, "Describe how the friendly biologist photographed a garden just before sunset.");
  EXPECT_EQ(c[4].prompt, "Explain why a kind painter would trade a broken piano in an abandoned factory.");
  EXPECT_EQ(c[5].prompt,
            "Write a short travel log about a quiet baker who measures a crooked guitar in a small bakery.");
  EXPECT_EQ(ToHex(Commit(Key(kVectorKey), {"templates", "v1"}, 1000)),
            "30a01b3f9d05a86404894b77b55c1fd59841c31fccfda24b18e53a68747e9260");
}

TEST(Templates, DeterministicAndKeyed) {
  const Family f{"templates", "v1"};
  const auto a = List(Key(kVectorKey), f, 50), b = List(Key(kVectorKey), f, 50);
  const auto other = List(std::string(32, '\x42'), f, 50);
  int same_as_other = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(Encode(a[i]), Encode(b[i]));
    same_as_other += a[i].prompt == other[i].prompt;
  }
  EXPECT_LT(same_as_other, 3);
}

TEST(Templates, TenThousandDistinctGrammaticalPrompts) {
  namespace t = templates_v1;
  const auto c = List(Key(kVectorKey), {"templates", "v1"}, 10000);
  std::set<std::string> distinct;
  std::set<std::string> base_forms;
  for (const auto& v : t::kVerbs) base_forms.insert(std::string(v.base));
  const std::regex wrong_a(R"(\ba [aeiouAEIOU])"), wrong_an(R"(\ban [^aeiouAEIOU])");
  const std::regex modal(R"(\b(?:would|to) (\w+))");
  std::set<size_t> templates_seen;
  for (const auto& ch : c) {
    distinct.insert(ch.prompt);
    EXPECT_FALSE(std::regex_search(ch.prompt, wrong_a)) << ch.prompt;
    EXPECT_FALSE(std::regex_search(ch.prompt, wrong_an)) << ch.prompt;
    EXPECT_EQ(ch.prompt.find('{'), std::string::npos) << ch.prompt;
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(ch.prompt[0]))) << ch.prompt;
    for (auto it = std::sregex_iterator(ch.prompt.begin(), ch.prompt.end(), modal); it != std::sregex_iterator(); ++it) {
      const std::string verb = (*it)[1];
      if (verb == "the" || verb == "a") continue;  // "to the", "want to" handled by the verb after
      EXPECT_TRUE(base_forms.count(verb)) << "'" << verb << "' after would/to in: " << ch.prompt;
    }
  }
  EXPECT_EQ(distinct.size(), 10000u);
}

// The article rule ("an" before a vowel letter) is right only for words whose spelling matches their sound.
TEST(Templates, WordListsAvoidArticleExceptions) {
  namespace t = templates_v1;
  auto check = [](std::string_view w) {
    for (const char* bad : {"uni", "use", "usu", "eu", "one", "once", "hour", "hon", "heir"}) {
      EXPECT_NE(w.rfind(bad, 0), 0u) << w;
    }
  };
  for (auto w : t::kAdjectives) check(w);
  for (auto w : t::kThingAdjectives) check(w);
  for (auto w : t::kObjects) check(w);
  for (auto w : t::kTones) check(w);
}

TEST(Corpus, SelectionIsUniformAndBoundToTheFile) {
  test::TempDir dir;
  std::string text;
  for (int i = 0; i < 50; ++i) text += "prompt number " + std::to_string(i) + "\n";
  test::WriteBytes(dir.File("c.txt"), text);
  Family f;
  ASSERT_TRUE(ResolveFamily(Env::Default(), "corpus", dir.File("c.txt"), "", &f).ok());
  EXPECT_EQ(f.params, ToHex(Sha256Of(text)));
  const int n = 10000;
  const auto c = List(Key(kVectorKey), f, n, dir.File("c.txt"));
  std::map<std::string, int> counts;
  for (const auto& ch : c) ++counts[ch.prompt];
  ASSERT_EQ(counts.size(), 50u);
  double chi2 = 0;
  const double expected = n / 50.0;
  for (const auto& [prompt, k] : counts) chi2 += (k - expected) * (k - expected) / expected;
  EXPECT_LT(chi2, 85.35);  // chi-square, 49 degrees of freedom, upper 0.1% point

  // The corpus is part of the commitment: a changed file is refused.
  test::WriteBytes(dir.File("c.txt"), text + "one more\n");
  std::unique_ptr<Generator> gen;
  Status s = NewGenerator(Env::Default(), Key(kVectorKey), f, dir.File("c.txt"), &gen);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not the one"), std::string::npos);
}

TEST(Corpus, ReadsJsonLinesAndRejectsBadLines) {
  test::TempDir dir;
  test::WriteBytes(dir.File("c.jsonl"), "{\"prompt\": \"hello there\"}\n\n{\"prompt\": \"second\", \"x\": 1}\n");
  Family f;
  ASSERT_TRUE(ResolveFamily(Env::Default(), "corpus", dir.File("c.jsonl"), "", &f).ok());
  std::set<std::string> seen;
  for (const auto& ch : List(Key(kVectorKey), f, 40, dir.File("c.jsonl"))) seen.insert(ch.prompt);
  EXPECT_EQ(seen, (std::set<std::string>{"hello there", "second"}));

  test::WriteBytes(dir.File("bad.jsonl"), "{\"prompt\": \"ok\"}\nnot json\n");
  ASSERT_TRUE(ResolveFamily(Env::Default(), "corpus", dir.File("bad.jsonl"), "", &f).ok());
  std::unique_ptr<Generator> gen;
  Status s = NewGenerator(Env::Default(), Key(kVectorKey), f, dir.File("bad.jsonl"), &gen);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("bad.jsonl:2"), std::string::npos) << s.message();
}

TEST(Legacy, ReDerivesThePythonSystemsPublishedRun) {
  const auto v = nlohmann::json::parse(test::SlurpVector(POT_VECTORS_DIR "/pot-legacy/vectors.json"))["run"];
  const Family f{"legacy", v["run_id"]};
  const auto& expected = v["challenges"];
  const auto c = List(Key(v["key_hex"]), f, expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(c[i].prompt, expected[i]["prompt"].get<std::string>()) << i;
    EXPECT_EQ(ToHex(c[i].tag), expected[i]["seed_hex"].get<std::string>()) << i;
  }
  EXPECT_EQ(LegacyCommitment(v["key_hex"].get<std::string>(), f.params, 120),
            v["commitment_n120_hex"].get<std::string>());
}

TEST(Commitment, BindsKeyFamilyParamsAndNMax) {
  const std::string key = Key(kVectorKey);
  const Digest base = Commit(key, {"templates", "v1"}, 100);
  std::string other_key = key;
  other_key[31] ^= 1;
  EXPECT_NE(base, Commit(other_key, {"templates", "v1"}, 100));
  EXPECT_NE(base, Commit(key, {"corpus", "v1"}, 100));
  EXPECT_NE(base, Commit(key, {"templates", "v2"}, 100));
  EXPECT_NE(base, Commit(key, {"templates", "v1"}, 101));
  EXPECT_EQ(base, Commit(key, {"templates", "v1"}, 100));
}

TEST(KeyFile, SecretModeAndTamperDetection) {
  test::TempDir dir;
  KeyFile k{Key(kVectorKey), {"templates", "v1"}, 64, {}};
  k.commitment = Commit(k.key, k.family, k.n_max);
  ASSERT_TRUE(WriteKeyFile(Env::Default(), dir.File("k.json"), k).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir.File("k.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  KeyFile back;
  ASSERT_TRUE(ReadKeyFile(Env::Default(), dir.File("k.json"), &back).ok());
  EXPECT_EQ(back.key, k.key);
  EXPECT_EQ(back.n_max, 64u);

  std::string text = test::Slurp(dir.File("k.json"));
  text.replace(text.find("\"n_max\": 64"), 11, "\"n_max\": 65");
  test::WriteBytes(dir.File("k.json"), text);
  Status s = ReadKeyFile(Env::Default(), dir.File("k.json"), &back);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("does not match the commitment"), std::string::npos);
}

// Found by keyfile_fuzz: a field of another type than its own threw out of ReadKeyFile (pot aborted).
TEST(KeyFile, FieldsOfTheWrongTypeAreCorruptionNotACrash) {
  auto env = NewMemEnv();
  for (const char* text : {R"({"format":1})", R"({"format":"pot.challenge-key","version":1e30})",
                           R"({"format":"pot.challenge-key","version":"1"})"}) {
    ASSERT_TRUE(WriteFileAtomically(env.get(), "k.json", text).ok());
    KeyFile k;
    Status s = ReadKeyFile(env.get(), "k.json", &k);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_TRUE(s.code() == Status::Code::kCorruption || s.code() == Status::Code::kUnsupported) << text;
  }
}

TEST(ChallengeCli, CommitListRevealVerify) {
  test::TempDir dir;
  const std::string key = dir.File("run.key");
  auto commit = test::RunPot("challenge commit --family templates -n 20 -o " + key + " --json");
  ASSERT_EQ(commit.exit_code, 0) << commit.err;
  const auto c = nlohmann::json::parse(commit.out);
  const std::string commitment = c["commitment"];
  EXPECT_EQ(test::RunPot("challenge commit --family templates -n 20 -o " + key).exit_code, 2);  // never overwrite

  auto list = test::RunPot("challenge list --key " + key + " -n 20 --json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out)["challenges"].size(), 20u);
  EXPECT_EQ(test::RunPot("challenge list --key " + key + " -n 21").exit_code, 2);  // beyond n_max

  auto reveal = test::RunPot("challenge reveal " + key);
  ASSERT_EQ(reveal.exit_code, 0);
  const std::string key_hex = nlohmann::json::parse(reveal.out)["key_hex"];
  // Anyone with the revealed key regenerates the same list and checks the commitment.
  auto relist = test::RunPot("challenge list --key-hex " + key_hex + " --family templates -n 20 --json");
  EXPECT_EQ(nlohmann::json::parse(relist.out)["challenges"], nlohmann::json::parse(list.out)["challenges"]);
  EXPECT_EQ(test::RunPot("challenge verify --commitment " + commitment + " --key-hex " + key_hex +
                         " --family templates -n 20").exit_code, 0);
  std::string wrong = key_hex;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  auto bad = test::RunPot("challenge verify --commitment " + commitment + " --key-hex " + wrong +
                          " --family templates -n 20");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out.rfind("commitment: FAILED", 0), 0u) << bad.out;
  EXPECT_EQ(test::RunPot("challenge verify --commitment " + commitment + " --key-hex " + key_hex +
                         " --family templates -n 21").exit_code, 1);
  EXPECT_EQ(test::RunPot("challenge list --key-hex abc --family templates -n 2").exit_code, 2);
}

}  // namespace
}  // namespace pot::challenge
