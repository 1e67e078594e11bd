// The real pot binary on hostile bytes (issue 13, point 5): GGUF strings and a tensor name that are not
// UTF-8 and carry terminal escapes, a model file whose name is not UTF-8, and corpus lines. Each run
// exits with its documented code, never 134, prints nothing a terminal would act on, and its --json
// output parses (docs/formats.md, "Strings that are not UTF-8").
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "gguf/gguf_builder.h"
#include "test_util.h"
#include "text/text.h"

namespace pot {
namespace {

using json = nlohmann::json;
using test::RunPot;

// Bytes that are not UTF-8, a clear-screen sequence, an OSC title change ended by BEL, and a C1 CSI.
const std::string kName = "evil\xff\xfe\x1b[2J\x1b]0;owned\x07\xc2\x9b" "31m";
const std::string kTensor = "blk.0.\xff\x1b[31m.weight";

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Valid UTF-8 with no control character a terminal acts on (newline and tab aside), C1 included.
::testing::AssertionResult Harmless(std::string out) {
  std::erase_if(out, [](char c) { return c == '\n' || c == '\t'; });
  if (text::EscapeForTerminal(out) == out) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "would reach the terminal raw: " << text::EscapeForTerminal(out);
}

bool Ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// A model whose name, tokenizer strings and second tensor's name are hostile.
std::string HostileModel(const std::string& tensor_name = kTensor, float tensor_start = 100) {
  test::GgufBuilder b;
  b.AddString("general.architecture", "llama");
  b.AddString("general.name", kName);
  b.AddString("tokenizer.ggml.model", "llama\x1b[0m\xff");
  b.AddStringArray("tokenizer.ggml.tokens", {"<s>", "\xff\xfe", "\x1b[2J", "b"});
  b.AddTensor("token_embd.weight", test::kF32, {8, 4}, test::F32Bytes(32));
  b.AddTensor(tensor_name, test::kF32, {8}, test::F32Bytes(8, tensor_start));
  b.AddU32("llama.block_count", 1);
  return b.Build();
}

void ExpectOneHarmlessErrorLine(const test::RunResult& r, int code) {
  EXPECT_EQ(r.exit_code, code) << text::EscapeForTerminal(r.err);
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << text::EscapeForTerminal(r.err);
  EXPECT_EQ(test::CountLines(r.err), 1) << text::EscapeForTerminal(r.err);
  EXPECT_TRUE(Harmless(r.err));
}

class HostileStringsTest : public ::testing::Test {
 protected:
  void SetUp() override { test::WriteBytes(model_, HostileModel()); }
  test::TempDir dir_;
  const std::string model_ = dir_.File("hostile.gguf");
};

TEST_F(HostileStringsTest, InfoShowsItsStringsEscaped) {
  auto r = RunPot("info " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Harmless(r.out));
  EXPECT_NE(r.out.find("name          " + text::EscapeForTerminal(kName) + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokenizer     llama\\x1b[0m\\xff, 4 tokens"), std::string::npos) << r.out;

  r = RunPot("info --json " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Ascii(r.out));
  const json j = json::parse(r.out);
  EXPECT_EQ(j["name"], text::EscapeInvalidUtf8(kName));
  EXPECT_EQ(j["tokenizer_model"], "llama\x1b[0m\\xff");
  EXPECT_EQ(j["n_vocab"], 4);
}

TEST_F(HostileStringsTest, ItsManifestRoundTripsAndItsLeavesHashTheBytes) {
  auto r = RunPot("hash --quiet " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Harmless(r.out));

  const std::string manifest = dir_.File("m.json");
  r = RunPot("hash --quiet -o " + manifest + " " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = test::Slurp(manifest);
  EXPECT_TRUE(Ascii(text));
  const json m = json::parse(text);
  bool found = false;
  for (const auto& t : m["tensors"]) {
    if (!t.contains("name_hex")) continue;
    found = true;
    EXPECT_EQ(t["name"], text::EscapeInvalidUtf8(kTensor));
    EXPECT_EQ(t["name_hex"], HexOf(kTensor));
  }
  EXPECT_TRUE(found) << text;

  r = RunPot("hash --quiet --check " + manifest + " " + model_);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(": OK\n"), std::string::npos) << r.out;
  r = RunPot("hash --quiet --json " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["root"], m["root"]);

  // A tensor named by the escaped text itself reads the same in JSON, but its leaf hashes other bytes.
  const std::string lookalike = dir_.File("lookalike.gguf");
  test::WriteBytes(lookalike, HostileModel(text::EscapeInvalidUtf8(kTensor)));
  r = RunPot("hash --quiet --json " + lookalike);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(json::parse(r.out)["root"], m["root"]);
  r = RunPot("hash --quiet --check " + manifest + " " + lookalike);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(Harmless(r.out));
  EXPECT_NE(r.out.find("missing  " + text::EscapeForTerminal(kTensor)), std::string::npos) << r.out;

  // An edited name_hex no longer matches the name it stands for.
  std::string edited = text;
  edited.replace(edited.find(HexOf(kTensor)), 2, "00");
  test::WriteBytes(dir_.File("edited.json"), edited);
  ExpectOneHarmlessErrorLine(RunPot("hash --quiet --check " + dir_.File("edited.json") + " " + model_), 3);

  // The inclusion proof carries the bytes too.
  r = RunPot("proof tensor " + manifest + " " + Quote(kTensor));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Ascii(r.out));
  test::WriteBytes(dir_.File("proof.json"), r.out);
  r = RunPot("proof verify " + dir_.File("proof.json") + " --root " + m["root"].get<std::string>());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Harmless(r.out));
  EXPECT_EQ(r.out.rfind(dir_.File("proof.json") + ": OK (tensor " + text::EscapeForTerminal(kTensor), 0), 0u) << r.out;
}

TEST_F(HostileStringsTest, DiffShowsTensorNamesEscaped) {
  const std::string other = dir_.File("other.gguf");
  test::WriteBytes(other, HostileModel(kTensor, 200));
  auto r = RunPot("diff --quiet " + model_ + " " + other);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Harmless(r.out));
  EXPECT_NE(r.out.find("changed        " + text::EscapeForTerminal(kTensor)), std::string::npos) << r.out;

  r = RunPot("diff --quiet --json " + model_ + " " + other);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Ascii(r.out));
  const json j = json::parse(r.out);
  bool found = false;
  for (const auto& d : j["diffs"]) found |= d["name"] == text::EscapeInvalidUtf8(kTensor) && d["status"] == "changed";
  EXPECT_TRUE(found) << r.out;
}

TEST_F(HostileStringsTest, ErrorsNamingItAreOneEscapedLine) {
  test::GgufBuilder b = test::SmallModel();
  b.AddTensor(kTensor, test::kF32, {1, 1, 1, 1, 1}, test::F32Bytes(1));  // five dimensions: refused
  test::WriteBytes(model_, b.Build());
  const auto r = RunPot("info " + model_);
  ExpectOneHarmlessErrorLine(r, 3);
  EXPECT_NE(r.err.find(text::EscapeForTerminal(kTensor)), std::string::npos) << r.err;
}

TEST(Bytes, AModelWhoseFileNameIsNotUtf8) {
  test::TempDir dir;
  const std::string base = "model-\xff\x1b[2J.gguf";
  const std::string path = dir.File(base);
  test::WriteBytes(path, test::SmallModel().Build());
  auto r = RunPot("info " + Quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Harmless(r.out));
  r = RunPot("info --json " + Quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["path"], text::EscapeInvalidUtf8(path));

  r = RunPot("hash --quiet -o " + dir.File("m.json") + " " + Quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(test::Slurp(dir.File("m.json")))["shards"][0]["file"], text::EscapeInvalidUtf8(base));
  r = RunPot("hash --quiet --check " + dir.File("m.json") + " " + Quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Harmless(r.out));
  r = RunPot("hash --quiet --json " + Quote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NO_THROW(json::parse(r.out));

  r = RunPot("diff --quiet " + Quote(path) + " " + Quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Harmless(r.out));

  ExpectOneHarmlessErrorLine(RunPot("info " + Quote(dir.File("gone-\xff\x1b[2J.gguf"))), 3);
  r = RunPot(Quote("frob\x1b[2J\xff"));  // an unknown command: the error line, then the usage
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("pot: error: unknown command 'frob\\x1b[2J\\xff'\n", 0), 0u) << r.err;
  EXPECT_TRUE(Harmless(r.err));
}

// A run and its audit on a model file whose name is not UTF-8: the transcript and bundle name it escaped,
// and the audit, hashing the same file again, compares like with like.
TEST(Bytes, VerifyAndAuditAModelWhoseFileNameIsNotUtf8) {
  test::TempDir dir;
  const std::string ref = test::TestbedDir() + "/base.gguf";
  const std::string cand = dir.File("q4-\xff\x1b[2J.gguf");
  std::filesystem::copy_file(test::TestbedDir() + "/base-q4_0.gguf", cand);
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  auto r = RunPot("verify --quiet --json --ref " + ref + " --cand " + Quote(cand) + " --sign " + dir.File("signer") +
                  " -o " + dir.File("run"));
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err;  // a verdict, whichever it is
  EXPECT_TRUE(Ascii(r.out));
  EXPECT_EQ(json::parse(r.out)["candidate"], text::EscapeInvalidUtf8(cand));
  EXPECT_EQ(json::parse(test::Slurp(dir.File("run/result.json")))["candidate"], text::EscapeInvalidUtf8(cand));
  const json header = json::parse(json::parse(test::Slurp(dir.File("run/bundle.json")))["transcript"][0].get<std::string>());
  EXPECT_EQ(header["candidate"]["files"][0], text::EscapeInvalidUtf8("q4-\xff\x1b[2J.gguf"));
  r = RunPot("audit " + dir.File("run/bundle.json") + " --trust " + dir.File("signer.pub") + " --models " +
             ref + "," + Quote(cand));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Harmless(r.out));
  EXPECT_NE(r.out.find("AUDIT PASSED"), std::string::npos) << r.out;
}

TEST(Bytes, CorpusLinesMustBeUtf8AndPromptsPrintEscaped) {
  test::TempDir dir;
  const std::string list = "challenge list --key-hex " + std::string(64, '7') + " --family corpus -n 3 --corpus ";
  test::WriteBytes(dir.File("bad.txt"), "a fine prompt\n\xff\xfe broken\n");
  auto r = RunPot(list + dir.File("bad.txt"));
  ExpectOneHarmlessErrorLine(r, 3);
  EXPECT_NE(r.err.find("bad.txt:2: not UTF-8 text"), std::string::npos) << r.err;

  const std::string prompt = "clear \x1b[2J the screen\tand \xc2\x9b" "31m paint it";
  test::WriteBytes(dir.File("hostile.txt"), prompt + "\n");
  r = RunPot(list + dir.File("hostile.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Harmless(r.out));
  EXPECT_NE(r.out.find("\tclear \\x1b[2J the screen\\tand \\u009b31m paint it\n"), std::string::npos) << r.out;
  r = RunPot(list + dir.File("hostile.txt") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Ascii(r.out));
  EXPECT_EQ(json::parse(r.out)["challenges"][0]["prompt"], prompt);  // valid text: the JSON holds it as it is

  // A legacy run id is committed to and written into key files: it must be text too.
  r = RunPot("challenge list --key-hex " + std::string(64, '7') + " --family legacy -n 1 --run-id " + Quote("run\xff"));
  ExpectOneHarmlessErrorLine(r, 2);
  EXPECT_NE(r.err.find("run id is not UTF-8"), std::string::npos) << r.err;
}

// A malformed key file once threw out of main (exit 134). Whatever a parser misses now ends as one line:
// exit 3 where the parser reports it, exit 4 ("internal error") where only the last-resort handler does.
TEST(Bytes, AnEscapedExceptionIsOneLineNotAnAbort) {
  test::TempDir dir;
  test::WriteBytes(dir.File("key.json"), R"({"format": 1, "version": "one"})");
  const auto r = RunPot("challenge reveal " + dir.File("key.json"));
  EXPECT_TRUE(r.exit_code == 3 || r.exit_code == 4) << r.exit_code << " " << r.err;
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
}

}  // namespace
}  // namespace pot
