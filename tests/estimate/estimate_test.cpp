// pot estimate: the roofline arithmetic against hand-computed values, the profile format against hostile
// files, the GGUF-header path (a built header and the forged base model), the by-numbers path, and the
// rule that every figure printed is labelled an estimate.
#include "estimate/estimate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gguf/gguf_builder.h"
#include "gguf/model_info.h"
#include "test_util.h"

namespace pot::estimate {
namespace {

using json = nlohmann::ordered_json;

// Round numbers, so every expected value below is worked out by hand in its comment.
Profile RoundProfile() {
  Profile p;
  p.name = "round";
  p.description = "round numbers";
  p.peak_flops = {1e12, "test"};
  p.memory_bandwidth = {1e11, "test"};
  p.memory_bytes = {64e9, "test"};
  p.read_bytes_per_s = {1e9, "test"};
  p.sha256_bytes_per_s = {2e9, "test"};
  p.dequant_elements_per_s = {1e9, "test"};
  p.vocab_entries_per_s = {1e9, "test"};
  p.startup_s = {1, "test"};
  p.process_start_s = {0.5, "test"};
  // No embeddings: 2e9 FLOPs per token, 5e8 bytes per generated token.
  p.calibration = {"cal", 1e9, 5e8, 0, 0, 0, 100, 512, 50, "test"};
  return p;
}

ModelShape RoundShape() {
  ModelShape m;
  m.bytes = 1e9;
  m.params = 2e9;
  EXPECT_TRUE(CheckShape(&m).ok());
  return m;
}

TEST(EstimateArithmetic, RatesScaleTheCalibrationRow) {
  const Rates r = RatesFor(RoundProfile(), RoundShape());
  // 100 tokens/s x 2 x 1e9 = 2e11 FLOP/s = 20% of 1e12; 50 tokens/s x 5e8 B = 2.5e10 B/s = 25% of 1e11.
  EXPECT_DOUBLE_EQ(r.flops_per_s, 2e11);
  EXPECT_DOUBLE_EQ(r.pp_efficiency, 0.2);
  EXPECT_DOUBLE_EQ(r.tg_efficiency, 0.25);
  // Twice the parameters: 2e11 / 4e9 = 50 tokens/s; twice the bytes: 2.5e10 / 1e9 = 25 tokens/s.
  EXPECT_DOUBLE_EQ(r.pp_tokens_per_s, 50);
  EXPECT_DOUBLE_EQ(r.tg_tokens_per_s, 25);
}

TEST(EstimateArithmetic, SelfcheckIsOneLoadAndTwoRuns) {
  Workload w;
  w.prompts = 10;
  w.tokens = 20;
  w.prompt_tokens = 24;
  MethodEstimate e;
  ASSERT_TRUE(EstimateMethod("selfcheck", RoundShape(), RoundProfile(), w, &e).ok());
  // load 1 s + 1e9 / 1e9 = 2 s; 2 x 10 x 24 = 480 tokens at 50/s = 9.6 s; 2 x 10 x 20 = 400 tokens at
  // 25/s = 16 s. Total 27.6 s; with --journal, a hash 1e9 / min(1e9, 2e9) = 1 s more (in the note).
  ASSERT_EQ(e.terms.size(), 3u);
  EXPECT_DOUBLE_EQ(e.terms[0].seconds, 2);
  EXPECT_DOUBLE_EQ(e.terms[1].seconds, 9.6);
  EXPECT_DOUBLE_EQ(e.terms[2].seconds, 16);
  EXPECT_DOUBLE_EQ(e.wall_s, 27.6);
  EXPECT_NE(e.note.find("estimate 1.0 s"), std::string::npos) << e.note;
}

TEST(EstimateArithmetic, VerifyChargesBothModelsAndEveryPositionsLogits) {
  Workload w;
  w.challenges = 10;
  w.prompt_tokens = 20;
  MethodEstimate e;
  ASSERT_TRUE(EstimateMethod("verify", RoundShape(), RoundProfile(), w, &e).ok());
  // 2 loads (2 s each) + 2 hashes (1 s each) + 2 x 200 tokens at 50/s (4 s each) = 14 s.
  EXPECT_DOUBLE_EQ(e.wall_s, 14);
  // Two resident models: 2 x (1e9 + buffers); no layers known, so no KV cache.
  EXPECT_GT(e.peak_memory_bytes, 2e9);
  EXPECT_LT(e.peak_memory_bytes, 2.1e9);
  MethodEstimate one;
  ASSERT_TRUE(EstimateMethod("verify-reference", RoundShape(), RoundProfile(), w, &one).ok());
  EXPECT_DOUBLE_EQ(one.wall_s, 7);
}

TEST(EstimateArithmetic, HashAndDiffAreFileRates) {
  MethodEstimate e;
  ASSERT_TRUE(EstimateMethod("hash", RoundShape(), RoundProfile(), Workload{}, &e).ok());
  // pot start 0.5 s + max(read 1e9 B at 1e9 B/s, hash at 2e9 B/s) = 1.5 s.
  EXPECT_DOUBLE_EQ(e.wall_s, 1.5);
  ModelShape small = RoundShape();
  small.bytes = 1e7;  // 10 ms of reading, no poll interval to wait out (src/manifest wakes when the work ends)
  ASSERT_TRUE(EstimateMethod("hash", small, RoundProfile(), Workload{}, &e).ok());
  EXPECT_NEAR(e.wall_s, 0.51, 1e-12);
  ASSERT_TRUE(EstimateMethod("diff", RoundShape(), RoundProfile(), Workload{}, &e).ok());
  // 0.5 s + 2e9 bytes read at 1e9/s + 2 x 2e9 elements at 1e9/s = 6.5 s, in a few chunk buffers.
  EXPECT_DOUBLE_EQ(e.wall_s, 6.5);
  EXPECT_LT(e.peak_memory_bytes, 64e6);
}

TEST(EstimateArithmetic, OutputLayerIsChargedPerPositionWithLogits) {
  Profile p = RoundProfile();
  p.calibration.output_params = 1e8;  // per token 2 x (1e9 - 1e8) = 1.8e9 FLOPs, and 2e8 per output
  // Achieved: 100 x 1.8e9 + 100 / 512 x 2e8 = 180,039,062,500 FLOP/s.
  ModelShape m = RoundShape();
  m.output_params = 2e8;
  // 10 tokens, all with logits: 10 x 2 x 1.8e9 + 10 x 2 x 2e8 = 4e10 FLOPs.
  EXPECT_NEAR(PromptSeconds(p, m, 10, 10), 0.22217400737687135, 1e-15);
  // Only the last position's logits: 10 x 3.6e9 + 4e8 = 3.64e10 FLOPs.
  EXPECT_NEAR(PromptSeconds(p, m, 10, 1), 3.64e10 / 180039062500.0, 1e-15);
}

ModelShape Scenario() {
  // docs/estimate.md: the notes' 72B Q4_K_M model (Qwen2-72B's shape).
  ModelShape m;
  m.bytes = 46e9;
  m.params = 72.7e9;
  m.n_layer = 80;
  m.n_embd = 8192;
  m.n_embd_kv = 1024;
  m.n_vocab = 152064;
  EXPECT_TRUE(CheckShape(&m).ok());
  return m;
}

TEST(EstimateArithmetic, KvCacheAndContext) {
  ModelShape m = Scenario();
  m.n_ctx_train = 32768;
  ASSERT_TRUE(CheckShape(&m).ok());
  EXPECT_EQ(PotContext(m), 4096u);  // engine::kDefaultContext caps the training context
  // 4096 positions x 80 layers x (K and V) x 1024 x 2 bytes (f16).
  EXPECT_DOUBLE_EQ(KvCacheBytes(m, PotContext(m)), 1342177280.0);
  m.n_ctx_train = 2048;
  EXPECT_EQ(PotContext(m), 2048u);
}

TEST(EstimateArithmetic, KlLogitsFileMatchesTheSizeMeasuredInVerifyMd) {
  // docs/verify.md, "Verdicts and cost": llama-perplexity -c 128 --kl-divergence-base on the 2971-token text
  // of 128 challenges, vocabulary 32,000, wrote 92,759,388 bytes: 23 chunks, 63 scored tokens each.
  EXPECT_DOUBLE_EQ(KlLogitsFileBytes(32000, 2971, 128), 92759388.0);
  // An odd vocabulary is rounded up to even: 152,065 -> 152,066 + 4 uint16 per scored token.
  EXPECT_DOUBLE_EQ(KlLogitsFileBytes(152065, 512, 512), 20 + 512 * 4 + 255 * (152070.0 * 2));
}


TEST(EstimateMethods, TheNotesScenarioOnM1MaxFitsOneModelNotTwo) {
  Profile p;
  ASSERT_TRUE(LoadProfile(Env::Default(), "m1-max-64gb", &p).ok());
  Workload w;
  w.prompts = 5000;
  w.tokens = 50;
  for (const std::string& name : MethodNames()) {
    MethodEstimate e;
    ASSERT_TRUE(EstimateMethod(name, Scenario(), p, w, &e).ok()) << name;
    EXPECT_GT(e.wall_s, 0) << name;
    double sum = 0;
    for (const Term& t : e.terms) sum += t.seconds;
    EXPECT_NEAR(sum, e.wall_s, 1e-9 * e.wall_s) << name;
    // Two 46 GB models resident do not fit in 78% of 64 GiB; one, or a stream, does; F32 weights do not.
    const bool expect_fit = name != "verify" && name != "gradients";
    EXPECT_EQ(e.fits, expect_fit) << name << " " << e.peak_memory_bytes;
  }
  MethodEstimate kl;
  ASSERT_TRUE(EstimateMethod("kl", Scenario(), p, w, &kl).ok());
  // 250,000 tokens: 488 chunks of 512, 255 scored each, 2 x 152,064 + 8 bytes per scored token: ~37.9 GB.
  EXPECT_NEAR(kl.bytes_written, 488 * 255 * 304136.0 + 488 * 512 * 4 + 20, 1);
  MethodEstimate diff;
  ASSERT_TRUE(EstimateMethod("diff", Scenario(), p, w, &diff).ok());
  EXPECT_NE(diff.note.find("92.0 GB (does not fit)"), std::string::npos) << diff.note;
}

TEST(EstimateMethods, UnknownMethodIsRefused) {
  MethodEstimate e;
  Status s = EstimateMethod("bogus", RoundShape(), RoundProfile(), Workload{}, &e);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("fixed-n"), std::string::npos);
}

TEST(EstimateShape, ByNumbersIsCheckedAndCompleted) {
  ModelShape m = Scenario();
  EXPECT_DOUBLE_EQ(m.output_params, 152064.0 * 8192);
  EXPECT_DOUBLE_EQ(m.input_embd_params, 152064.0 * 8192);
  EXPECT_DOUBLE_EQ(m.largest_tensor_elements, 152064.0 * 8192);
  for (const double bad : {0.0, -1.0, static_cast<double>(NAN), static_cast<double>(INFINITY), 1e17}) {
    ModelShape b;
    b.bytes = bad;
    b.params = 1e9;
    EXPECT_FALSE(CheckShape(&b).ok()) << bad;
    b.bytes = 1e9;
    b.params = bad;
    EXPECT_FALSE(CheckShape(&b).ok()) << bad;
  }
  ModelShape wide;
  wide.bytes = 1e9;
  wide.params = 1e6;
  wide.n_vocab = 100000;
  wide.n_embd = 4096;  // embeddings of 4e8 parameters in a model of 1e6
  EXPECT_FALSE(CheckShape(&wide).ok());
  ModelShape huge;
  huge.bytes = 1e9;
  huge.params = 1e9;
  huge.n_layer = 1ull << 40;
  EXPECT_FALSE(CheckShape(&huge).ok());
}

TEST(EstimateShape, GgufHeaderOnly) {
  test::TempDir dir;
  test::GgufBuilder b = test::SmallModel();
  b.AddU32("llama.embedding_length", 8);
  b.AddU32("llama.context_length", 128);
  b.AddU32("llama.attention.head_count", 2);
  b.AddU32("llama.attention.head_count_kv", 1);
  test::WriteBytes(dir.File("m.gguf"), b.Build());
  ModelShape m;
  ASSERT_TRUE(ShapeFromGguf(Env::Default(), dir.File("m.gguf"), &m).ok());
  EXPECT_DOUBLE_EQ(m.params, 32 + 8 + 64);
  EXPECT_EQ(m.n_layer, 1u);
  EXPECT_EQ(m.n_embd, 8u);
  EXPECT_EQ(m.n_embd_kv, 4u);
  EXPECT_EQ(m.n_vocab, 4u);
  EXPECT_EQ(m.n_ctx_train, 128u);
  EXPECT_DOUBLE_EQ(m.output_params, 32);     // 4 x 8
  EXPECT_DOUBLE_EQ(m.input_embd_params, 0);  // no output.weight: the embedding is the output layer
  EXPECT_DOUBLE_EQ(m.largest_tensor_elements, 64);

  // A header whose layer count llama.cpp would refuse is bad input, not an estimate.
  test::GgufBuilder hostile;
  hostile.AddString("general.architecture", "llama");
  hostile.AddStringArray("tokenizer.ggml.tokens", {"<s>", "</s>"});
  hostile.AddU32("llama.block_count", 100000);
  hostile.AddTensor("blk.0.attn_q.weight", test::kQ8_0, {32, 2}, std::string(68, '\x07'));
  test::WriteBytes(dir.File("h.gguf"), hostile.Build());
  EXPECT_EQ(ShapeFromGguf(Env::Default(), dir.File("h.gguf"), &m).code(), Status::Code::kCorruption);
  test::WriteBytes(dir.File("t.gguf"), b.Build().substr(0, 40));
  EXPECT_EQ(ShapeFromGguf(Env::Default(), dir.File("t.gguf"), &m).code(), Status::Code::kCorruption);
}

TEST(EstimateShape, ForgedBaseModel) {
  const std::string base = test::TestbedDir() + "/base.gguf";
  ModelShape m;
  ASSERT_TRUE(ShapeFromGguf(Env::Default(), base, &m).ok());
  gguf::ModelInfo info;
  ASSERT_TRUE(gguf::GetModelInfo(Env::Default(), base, &info).ok());
  EXPECT_DOUBLE_EQ(m.bytes, static_cast<double>(info.file_size));
  EXPECT_DOUBLE_EQ(m.params, static_cast<double>(info.n_params));
  EXPECT_EQ(m.n_vocab, info.n_vocab);
  // docs/forge.md: base is 256 wide, 4 layers, 4 heads, 32,000 tokens, context 256.
  EXPECT_EQ(m.n_layer, 4u);
  EXPECT_EQ(m.n_embd, 256u);
  EXPECT_EQ(m.n_embd_kv, 256u);
  EXPECT_EQ(m.n_vocab, 32000u);
  EXPECT_DOUBLE_EQ(m.output_params, 32000.0 * 256);
}

// --- Profiles ---

std::string WithField(const std::string& pointer, const json& value) {
  json j = ProfileJson(BuiltinProfiles()[0]);
  j[json::json_pointer(pointer)] = value;
  return j.dump();
}

std::string WithoutField(const std::string& parent, const std::string& key) {
  json j = ProfileJson(BuiltinProfiles()[0]);
  (parent.empty() ? j : j[json::json_pointer(parent)]).erase(key);
  return j.dump();
}

TEST(EstimateProfile, BuiltinsRoundTripThroughTheFileFormat) {
  ASSERT_GE(BuiltinProfiles().size(), 3u);
  for (const Profile& p : BuiltinProfiles()) {
    Profile back;
    ASSERT_TRUE(ParseProfile(ProfileJson(p).dump(), "x", &back).ok()) << p.name;
    EXPECT_EQ(ProfileJson(back), ProfileJson(p));
    EXPECT_FALSE(p.calibration.source.empty());
    // The published rows: every efficiency is a fraction of its peak.
    const Rates r = RatesFor(p, Scenario());
    EXPECT_GT(r.pp_efficiency, 0.05) << p.name;
    EXPECT_LT(r.pp_efficiency, 1) << p.name;
    EXPECT_GT(r.tg_efficiency, 0.05) << p.name;
    EXPECT_LT(r.tg_efficiency, 1) << p.name;
  }
  for (const char* name : {"m1-max-64gb", "a100-80gb", "h100-80gb"}) {
    Profile p;
    EXPECT_TRUE(LoadProfile(Env::Default(), name, &p).ok()) << name;
  }
}

TEST(EstimateProfile, HostileFilesAreCorruptionNamingTheField) {
  const struct {
    std::string text;
    std::string expect;  // in the message
  } cases[] = {
      {WithField("/peak_flops/value", -1), "peak_flops.value"},
      {WithField("/peak_flops/value", 0), "peak_flops.value"},
      {WithField("/memory_bandwidth/value", 1e300), "memory_bandwidth.value"},
      {WithField("/calibration/pp_tokens_per_s", "fast"), "calibration.pp_tokens_per_s"},
      {WithField("/calibration/tg_tokens_per_s", json()), "calibration.tg_tokens_per_s"},
      {WithField("/calibration/input_embd_params", 1e30), "embeddings"},
      {WithField("/sha256_bytes_per_s", 5), "sha256_bytes_per_s"},
      {WithField("/read_bytes_per_s/source", ""), "read_bytes_per_s.source"},
      {WithField("/name", std::string(3000, 'x')), "name"},
      {WithField("/schema", "pot.profile/2"), "schema"},
      {WithoutField("/calibration", "tg_tokens_per_s"), "missing field calibration.tg_tokens_per_s"},
      {WithoutField("", "dequant_elements_per_s"), "missing field dequant_elements_per_s"},
      {WithoutField("/startup_s", "value"), "missing field startup_s.value"},
      {"{\"schema\": \"pot.profile/1\", \"peak_flops\": {\"value\": 1e400}}", "profile"},
      {"{\"schema\": \"pot.profile/1\", \"peak_flops\": NaN}", "not a JSON object"},
      {"[1, 2]", "not a JSON object"},
      {std::string(100000, '['), "not a JSON object"},
      {"", "not a JSON object"},
  };
  for (const auto& c : cases) {
    Profile p;
    Status s = ParseProfile(c.text, "f.json", &p);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << c.text.substr(0, 200);
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("f.json"), std::string::npos) << s.message();
  }
  // Zero is a valid start cost.
  Profile p;
  EXPECT_TRUE(ParseProfile(WithField("/startup_s/value", 0), "f.json", &p).ok());
  EXPECT_TRUE(ParseProfile(WithField("/process_start_s/value", 0), "f.json", &p).ok());
  EXPECT_FALSE(ParseProfile(WithField("/process_start_s/value", -0.1), "f.json", &p).ok());
}

TEST(EstimateProfile, ThisMachineNeedsTheCalibrationFile) {
  test::TempDir home;
  const test::RunResult r = test::RunPot("estimate --size-bytes 1e9 --params 1e9 --profile this-machine",
                                         "HOME=" + home.path() + " ");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("bench/calibrate.sh"), std::string::npos) << r.err;
}

// --- The command ---

// Every line that holds a digit says "estimate".
void ExpectEveryFigureLabelled(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  int figures = 0;
  while (std::getline(in, line)) {
    if (line.find_first_of("0123456789") == std::string::npos) continue;
    ++figures;
    EXPECT_NE(line.find("estimate"), std::string::npos) << "unlabelled figure: " << line;
  }
  EXPECT_GT(figures, 20);
}

TEST(EstimateCommand, EveryPrintedFigureIsLabelledAnEstimate) {
  const test::RunResult r = test::RunPot(
      "estimate --size-bytes 46e9 --params 72.7e9 --n-layer 80 --n-embd 8192 --n-embd-kv 1024 --n-vocab 152064 "
      "--profile m1-max-64gb --prompts 5000 --tokens 50");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectEveryFigureLabelled(r.out);
  for (const std::string& name : MethodNames()) EXPECT_NE(r.out.find("\n" + name + " "), std::string::npos) << name;
  EXPECT_NE(r.out.find("XiongjieDai/GPU-Benchmarks-on-LLM-Inference"), std::string::npos);
  EXPECT_NE(r.out.find("NO: does not fit"), std::string::npos);
}

TEST(EstimateCommand, GgufPathAndJson) {
  const std::string base = test::TestbedDir() + "/base.gguf";
  const test::RunResult text = test::RunPot("estimate " + base + " --profile h100-80gb");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  ExpectEveryFigureLabelled(text.out);
  const test::RunResult r = test::RunPot("estimate " + base + " --profile a100-80gb --method verify --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("schema"), kEstimateSchema);
  EXPECT_EQ(j.at("estimate"), true);
  EXPECT_EQ(j.at("model").at("n_layer"), 4);
  ASSERT_EQ(j.at("methods").size(), 1u);
  EXPECT_EQ(j.at("methods")[0].at("method"), "verify");
  EXPECT_EQ(j.at("methods")[0].at("estimate"), true);
  EXPECT_GT(j.at("methods")[0].at("wall_s").get<double>(), 0);
  EXPECT_EQ(j.at("profile").at("name"), "a100-80gb");
}

TEST(EstimateCommand, BadInputsAreOneLineAndDocumentedExitCodes) {
  test::TempDir dir;
  test::WriteBytes(dir.File("bad.json"), "{\"schema\": \"pot.profile/1\"}");
  test::WriteBytes(dir.File("good.json"), ProfileJson(BuiltinProfiles()[1]).dump());
  const std::string numbers = "estimate --size-bytes 46e9 --params 72.7e9 ";
  const struct {
    std::string args;
    int code;
  } cases[] = {
      {numbers + "--profile nosuch", 2},
      {numbers + "--profile " + dir.File("bad.json"), 3},
      {numbers + "--profile " + dir.File("missing.json"), 3},
      {numbers + "--profile " + dir.File("good.json") + " --method bogus", 2},
      {numbers, 2},  // no profile
      {"estimate --size-bytes 46e9 --profile m1-max-64gb", 2},
      {numbers + "--params -5 --profile m1-max-64gb", 2},
      {"estimate --size-bytes nan --params 1e9 --profile m1-max-64gb", 2},
      {"estimate --size-bytes 1e400 --params 1e9 --profile m1-max-64gb", 2},
      {numbers + "--profile m1-max-64gb --prompts 0", 2},
      {numbers + "--profile m1-max-64gb --tokens 99999999999", 2},
      {numbers + "--profile m1-max-64gb --n-layer 99999999999", 2},
      {"estimate " + dir.File("bad.json") + " --profile m1-max-64gb", 3},  // not GGUF
      {"estimate " + dir.File("missing.gguf") + " --profile m1-max-64gb", 3},
      {"estimate " + dir.File("bad.json") + " --size-bytes 1 --params 1 --profile m1-max-64gb", 2},
  };
  for (const auto& c : cases) {
    const test::RunResult r = test::RunPot(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << c.args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
  }
  // A profile file given by path works like a built-in.
  const test::RunResult ok = test::RunPot(numbers + "--profile " + dir.File("good.json") + " --method hash");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace pot::estimate
