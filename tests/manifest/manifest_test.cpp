#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "gguf.h"
#include "gguf/gguf_builder.h"
#include "manifest/manifest.h"
#include "test_util.h"

namespace pot::manifest {
namespace {

using json = nlohmann::json;
std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// Each digest in `pot hash --json` equals SHA-256 of the bytes that ggml's own GGUF parser locates.
TEST(Hash, DigestsEqualAnIndependentComputationOnEveryMember) {
  const json testbed = json::parse(test::Slurp(test::TestbedDir() + "/testbed.json"));
  int members = 0;
  for (const auto& member : testbed["members"]) {
    const std::string path = Member(member["name"]);
    auto r = test::RunPot("hash --json --quiet " + path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = json::parse(r.out);
    std::map<std::string, std::string> reported;
    for (const auto& t : m["tensors"]) reported[t["name"]] = t["sha256"];

    gguf_init_params params{/*no_alloc=*/true, nullptr};
    gguf_context* ctx = gguf_init_from_file(path.c_str(), params);
    ASSERT_NE(ctx, nullptr);
    const std::string bytes = test::Slurp(path);
    ASSERT_EQ(reported.size(), static_cast<size_t>(gguf_get_n_tensors(ctx)));
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx); ++i) {
      const size_t offset = gguf_get_data_offset(ctx) + gguf_get_tensor_offset(ctx, i);
      const size_t size = gguf_get_tensor_size(ctx, i);
      EXPECT_EQ(ToHex(Sha256Of(std::string_view(bytes).substr(offset, size))), reported[gguf_get_tensor_name(ctx, i)])
          << member["name"] << " " << gguf_get_tensor_name(ctx, i);
    }
    gguf_free(ctx);
    ++members;
  }
  EXPECT_EQ(members, 9);
}

TEST(Hash, SameWeightsUnderOtherMetadataShareTheWeightsRoot) {
  const json a = json::parse(test::RunPot("hash --json --quiet " + Member("base")).out);
  const json b = json::parse(test::RunPot("hash --json --quiet " + Member("base-copy")).out);
  const json q = json::parse(test::RunPot("hash --json --quiet " + Member("base-q8_0")).out);
  EXPECT_EQ(a["weights_root"], b["weights_root"]);
  EXPECT_NE(a["root"], b["root"]);
  EXPECT_NE(a["weights_root"], q["weights_root"]);
  EXPECT_EQ(a["root"].get<std::string>().size(), 64u);
}

TEST(Hash, CheckNamesTheTensorWithAFlippedByte) {
  test::TempDir dir;
  const std::string manifest = dir.File("base.manifest");
  ASSERT_EQ(test::RunPot("hash --quiet -o " + manifest + " " + Member("base")).exit_code, 0);
  EXPECT_EQ(test::RunPot("hash --quiet --check " + manifest + " " + Member("base")).exit_code, 0);

  const json m = json::parse(test::Slurp(manifest));
  std::string bytes = test::Slurp(Member("base"));
  for (const auto& t : m["tensors"]) {
    if (t["name"] != "blk.1.attn_k.weight") continue;
    bytes[t["offset"].get<size_t>() + t["nbytes"].get<size_t>() / 2] ^= 0x01;
  }
  test::WriteBytes(dir.File("flipped.gguf"), bytes);
  auto r = test::RunPot("hash --quiet --check " + manifest + " " + dir.File("flipped.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("changed  blk.1.attn_k.weight\n"), std::string::npos) << r.out;
  EXPECT_EQ(test::CountLines(r.out), 2) << r.out;  // the one tensor, then the verdict
  EXPECT_NE(r.out.find(dir.File("flipped.gguf") + ": FAILED\n"), std::string::npos) << r.out;

  // Metadata alone: a mismatch unless told to look at weights only.
  EXPECT_EQ(test::RunPot("hash --quiet --check " + manifest + " " + Member("base-copy")).exit_code, 1);
  EXPECT_EQ(test::RunPot("hash --quiet --weights-only --check " + manifest + " " + Member("base-copy")).exit_code, 0);
}

TEST(Hash, RejectsEditedManifestsAndBrokenModels) {
  test::TempDir dir;
  const std::string manifest = dir.File("m.json");
  ASSERT_EQ(test::RunPot("hash --quiet -o " + manifest + " " + Member("base")).exit_code, 0);
  std::string text = test::Slurp(manifest);
  const size_t at = text.find("\"sha256\": \"") + 11;
  text[at] = text[at] == 'a' ? 'b' : 'a';
  test::WriteBytes(dir.File("edited.json"), text);
  auto r = test::RunPot("hash --quiet --check " + dir.File("edited.json") + " " + Member("base"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("roots do not match"), std::string::npos) << r.err;

  const std::string base = test::Slurp(Member("base"));
  test::WriteBytes(dir.File("cut.gguf"), base.substr(0, base.size() - 100));
  r = test::RunPot("hash --quiet " + dir.File("cut.gguf"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("past the end"), std::string::npos) << r.err;
  EXPECT_EQ(test::RunPot("hash --quiet " + dir.File("absent.gguf")).exit_code, 3);
}

TEST(Hash, InTotoStatementNamesTheFileAndItsDigest) {
  test::TempDir dir;
  ASSERT_EQ(test::RunPot("hash --quiet --statement " + dir.File("s.json") + " " + Member("base-q4_0")).exit_code, 0);
  const json s = json::parse(test::Slurp(dir.File("s.json")));
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["subject"][0]["name"], "base-q4_0.gguf");
  EXPECT_EQ(s["subject"][0]["digest"]["sha256"], ToHex(Sha256Of(test::Slurp(Member("base-q4_0")))));
}

TEST(Proof, EveryTensorOfBaseProvesAndTamperingFails) {
  test::TempDir dir;
  const std::string manifest = dir.File("m.json");
  ASSERT_EQ(test::RunPot("hash --quiet -o " + manifest + " " + Member("base")).exit_code, 0);
  const json m = json::parse(test::Slurp(manifest));
  for (const auto& t : m["tensors"]) {
    const std::string name = t["name"];
    auto p = test::RunPot("proof tensor " + manifest + " " + name);
    ASSERT_EQ(p.exit_code, 0) << p.err;
    test::WriteBytes(dir.File("p.json"), p.out);
    auto v = test::RunPot("proof verify " + dir.File("p.json") + " --root " + m["root"].get<std::string>());
    EXPECT_EQ(v.exit_code, 0) << name << ": " << v.out;
  }
  auto p = test::RunPot("proof tensor " + manifest + " output.weight");
  json proof = json::parse(p.out);
  proof["tensor"]["shape"][0] = 255;
  test::WriteBytes(dir.File("bad.json"), proof.dump());
  EXPECT_EQ(test::RunPot("proof verify " + dir.File("bad.json")).exit_code, 1);
  test::WriteBytes(dir.File("good.json"), p.out);
  EXPECT_EQ(test::RunPot("proof verify " + dir.File("good.json") + " --root " + std::string(64, 'a')).exit_code, 1);
  // Without --root the proof can only agree with the root it names itself, and the output says so.
  auto self = test::RunPot("proof verify " + dir.File("good.json"));
  EXPECT_EQ(self.exit_code, 0);
  EXPECT_NE(self.out.find("only self-consistent"), std::string::npos) << self.out;
  auto pinned = test::RunPot("proof verify " + dir.File("good.json") + " --root " + m["root"].get<std::string>());
  EXPECT_EQ(pinned.out.find("self-consistent"), std::string::npos) << pinned.out;
  EXPECT_EQ(test::RunPot("proof tensor " + manifest + " no.such.tensor").exit_code, 3);
}

// A split model (NAME-0000i-of-0000N.gguf) hashes as one model: every shard's tensors and metadata.
TEST(Hash, SplitModelsIncludeEveryShard) {
  test::TempDir dir;
  for (int shard = 0; shard < 2; ++shard) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-00002.gguf", shard + 1);
    test::WriteBytes(dir.File(name), test::SplitShard(shard, 2));
  }
  Manifest m;
  Status s = HashModel(Env::Default(), dir.File("model-00001-of-00002.gguf"), {}, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(m.shards.size(), 2u);
  ASSERT_EQ(m.tensors.size(), 2u);
  EXPECT_EQ(ToHex(m.tensors[1].sha256), ToHex(Sha256Of(test::F32Bytes(8, 1))));
  EXPECT_EQ(HashModel(Env::Default(), dir.File("model-00002-of-00002.gguf"), {}, &m).code(),
            Status::Code::kInvalidArgument);
  std::filesystem::remove(dir.File("model-00002-of-00002.gguf"));
  EXPECT_EQ(HashModel(Env::Default(), dir.File("model-00001-of-00002.gguf"), {}, &m).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace pot::manifest

namespace pot::manifest {
namespace {

TEST(Diff, IdenticalQuantizedAndRetrainedModels) {
  EXPECT_EQ(test::RunPot("diff --quiet " + Member("base") + " " + Member("base-copy")).exit_code, 0);
  auto q = test::RunPot("diff --quiet --json " + Member("base") + " " + Member("base-q8_0"));
  ASSERT_EQ(q.exit_code, 1) << q.err;
  const json jq = json::parse(q.out);
  for (const auto& d : jq["diffs"]) {
    if (d["type_b"] == "q8_0") {
      EXPECT_EQ(d["status"], "changed");
      EXPECT_GT(d["cosine"].get<double>(), 0.999) << d["name"];
    }
  }
  // An F32 tensor's metrics equal an independent computation from the file bytes.
  auto f = test::RunPot("diff --quiet --json " + Member("base") + " " + Member("finetune"));
  const json jf = json::parse(f.out);
  const json ma = json::parse(test::RunPot("hash --json --quiet " + Member("base")).out);
  const json mb = json::parse(test::RunPot("hash --json --quiet " + Member("finetune")).out);
  const std::string a = test::Slurp(Member("base")), b = test::Slurp(Member("finetune"));
  auto locate = [](const json& m, const std::string& name) {
    for (const auto& t : m["tensors"]) {
      if (t["name"] == name) return std::make_pair(t["offset"].get<size_t>(), t["nbytes"].get<size_t>());
    }
    return std::make_pair(size_t{0}, size_t{0});
  };
  const auto [oa, n] = locate(ma, "blk.0.ffn_norm.weight");
  const auto [ob, nb] = locate(mb, "blk.0.ffn_norm.weight");
  ASSERT_EQ(n, nb);
  double d2 = 0, a2 = 0, mx = 0;
  for (size_t i = 0; i < n / 4; ++i) {
    float x, y;
    std::memcpy(&x, a.data() + oa + 4 * i, 4);
    std::memcpy(&y, b.data() + ob + 4 * i, 4);
    d2 += (double(x) - y) * (double(x) - y);
    a2 += double(x) * x;
    mx = std::max(mx, std::fabs(double(x) - y));
  }
  for (const auto& d : jf["diffs"]) {
    if (d["name"] != "blk.0.ffn_norm.weight") continue;
    EXPECT_NEAR(d["rel_l2"].get<double>(), std::sqrt(d2 / a2), 1e-9);
    EXPECT_NEAR(d["max_abs_delta"].get<double>(), mx, 1e-9);
  }
}

}  // namespace
}  // namespace pot::manifest
