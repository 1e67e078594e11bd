// Runs the real pot binary, as a user would.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;
using json = nlohmann::json;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

void ExpectOneLineError(const test::RunResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(Cli, VersionAndHelp) {
  auto v = RunPot("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("pot 0.", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("llama.cpp"), std::string::npos);
  for (const char* cmd : {"info", "forge"}) {
    auto h = RunPot(std::string(cmd) + " --help");
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find("usage: pot "), std::string::npos) << cmd;
  }
  EXPECT_EQ(RunPot("--help").exit_code, 0);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunPot("").exit_code, 2);
  ExpectOneLineError(RunPot("frobnicate"), 2, "unknown command");
  ExpectOneLineError(RunPot("info --bogus x.gguf"), 2, "unknown option --bogus");
  ExpectOneLineError(RunPot("info"), 2, "exactly one");
  ExpectOneLineError(RunPot("forge /tmp/x --seed banana"), 2, "non-negative integer");
}

TEST(Cli, InfoDescribesEveryTestbedMember) {
  const json testbed = json::parse(test::Slurp(test::TestbedDir() + "/testbed.json"));
  std::map<std::string, json> infos;
  for (const auto& m : testbed["members"]) {
    const std::string name = m["name"];
    auto r = RunPot("info --json " + Member(name));
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["architecture"], "llama") << name;
    EXPECT_GT(j["n_params"].get<uint64_t>(), 1000000u) << name;
    EXPECT_EQ(j["vocab_sha256"].get<std::string>().size(), 64u) << name;
    EXPECT_EQ(j["file_size"].get<uint64_t>(), std::filesystem::file_size(Member(name))) << name;
    infos[name] = j;
    auto text = RunPot("info " + Member(name));
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.out.find("vocab sha256"), std::string::npos);
  }
  EXPECT_EQ(infos["base"]["vocab_sha256"], infos["base-copy"]["vocab_sha256"]);
  EXPECT_EQ(infos["base"]["vocab_sha256"], infos["distilled"]["vocab_sha256"]);
  EXPECT_NE(infos["base"]["vocab_sha256"], infos["other-tokenizer"]["vocab_sha256"]);
  EXPECT_EQ(infos["base"]["tokenizer_model"], "llama");
  EXPECT_EQ(infos["other-tokenizer"]["tokenizer_model"], "gpt2");
  EXPECT_EQ(infos["base"]["n_params"], infos["base-q8_0"]["n_params"]);
  EXPECT_GT(infos["base-q8_0"]["tensors_by_type"].value("q8_0", 0), 20);
  EXPECT_GT(infos["base-q4_0"]["tensors_by_type"].value("q4_0", 0), 20);
  EXPECT_EQ(infos["base"]["tensors_by_type"].size(), 1u);  // all f32
}

TEST(Cli, InfoRejectsBadInputWithOneLine) {
  test::TempDir dir;
  ExpectOneLineError(RunPot("info " + dir.File("missing.gguf")), 3, "No such file");
  test::WriteBytes(dir.File("text.gguf"), "hello, I am not a model\n");
  ExpectOneLineError(RunPot("info " + dir.File("text.gguf")), 3, "not a GGUF");
  test::WriteBytes(dir.File("empty.gguf"), "");
  ExpectOneLineError(RunPot("info " + dir.File("empty.gguf")), 3, "not a GGUF");

  const std::string base = test::Slurp(Member("base"));
  for (size_t keep : {size_t{10}, size_t{100}, size_t{4096}, base.size() / 2, base.size() - 1}) {
    test::WriteBytes(dir.File("cut.gguf"), base.substr(0, keep));
    auto r = RunPot("info " + dir.File("cut.gguf"));
    EXPECT_EQ(r.exit_code, 3) << "kept " << keep << ": " << r.err;
    EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  }
}

}  // namespace
}  // namespace pot
