// Shards without models: the partition, the shard file's checks, and merges of synthetic selfcheck and
// reference build shards, which must give exactly what one run gives and refuse any other set by name.
#include "shard/shard.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/sha256.h"

namespace pot::shard {
namespace {

selfcheck::Options SelfcheckOptions(uint64_t prompts, uint64_t seed) {
  selfcheck::Options o;
  o.prompts = prompts;
  o.tokens = 8;
  o.seed = seed;
  return o;
}

std::string SelfcheckRunHeader(uint64_t prompts, uint64_t seed, const std::string& root = "ab12") {
  return selfcheck::HeaderLine(SelfcheckOptions(prompts, seed), root, "streaming");
}

// Record i of a synthetic selfcheck: every third prompt diverges.
std::string SelfcheckRecord(uint64_t i) {
  selfcheck::PromptResult r;
  r.index = i;
  r.match = i % 3 != 1;
  r.first_divergence = r.match ? -1 : static_cast<int64_t>(i % 5);
  r.max_abs_dlogprob = 0.001 * static_cast<double>(i);
  r.compared = r.match ? 8 : static_cast<uint32_t>(i % 5 + 1);
  return selfcheck::RecordLine(r);
}

// The shard file a run writes: the shard header, then the lines line_of(i) of the items it owns.
std::string ShardText(Kind kind, const Spec& spec, uint64_t total, const std::string& run_header,
                      const std::function<std::string(uint64_t)>& line_of) {
  Range r;
  EXPECT_TRUE(RangeOf(spec, total, &r).ok());
  std::string text = HeaderLine(kind, spec, total, run_header) + "\n";
  for (uint64_t i = r.first; i < r.end; ++i) text += line_of(i) + "\n";
  return text;
}

class ShardMerge : public ::testing::Test {
 protected:
  // Writes the N selfcheck shards of a run of `prompts` and returns their paths.
  std::vector<std::string> WriteSelfcheckShards(uint64_t prompts, uint64_t count, const std::string& run_header,
                                                const std::string& stem = "sc") {
    std::vector<std::string> paths;
    for (uint64_t i = 0; i < count; ++i) {
      paths.push_back(PathFor(stem, {i, count}));
      Write(paths.back(), ShardText(Kind::kSelfcheck, {i, count}, prompts, run_header, SelfcheckRecord));
    }
    return paths;
  }
  void Write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomically(env_.get(), path, text).ok()) << path;
  }
  std::string Read(const std::string& path) {
    std::string text;
    EXPECT_TRUE(ReadFileToString(env_.get(), path, &text).ok()) << path;
    return text;
  }
  // ReadShards' refusal of paths: its message, which must name `named`.
  std::string Refusal(const std::vector<std::string>& paths, Status::Code code, const std::string& named) {
    std::vector<Shard> shards;
    const Status s = ReadShards(env_.get(), paths, &shards);
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_NE(s.message().find(named), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << "one line";
    return s.message();
  }
  std::unique_ptr<Env> env_ = NewMemEnv();
};

TEST(Shard, ParsesOnlyZeroBasedIOfN) {
  Spec spec;
  ASSERT_TRUE(ParseSpec("0/1", &spec).ok());
  EXPECT_EQ(spec.index, 0u);
  EXPECT_EQ(spec.count, 1u);
  ASSERT_TRUE(ParseSpec("2/3", &spec).ok());
  EXPECT_EQ(spec.index, 2u);
  EXPECT_EQ(spec.count, 3u);
  EXPECT_EQ(SpecName(spec), "2/3");
  for (const char* bad : {"", "3/3", "4/3", "1/0", "0/0", "1", "1/", "/3", "a/3", "1/3x", " 1/3", "1/3 ", "1/3/4",
                          "+1/3", "-1/3", "1.0/3", "0x1/3", "1/1000000000000000000000"}) {
    const Status s = ParseSpec(bad, &spec);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("0 <= I < N"), std::string::npos) << s.message();
  }
}

TEST(Shard, BlocksCoverTheItemsOnceAndDifferByAtMostOne) {
  for (uint64_t total = 1; total <= 40; ++total) {
    for (uint64_t count = 1; count <= total; ++count) {
      uint64_t next = 0, smallest = total, largest = 0;
      for (uint64_t i = 0; i < count; ++i) {
        Range r;
        ASSERT_TRUE(RangeOf({i, count}, total, &r).ok());
        ASSERT_EQ(r.first, next) << i << "/" << count << " of " << total;
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      EXPECT_EQ(next, total);
      EXPECT_GE(smallest, 1u);
      EXPECT_LE(largest - smallest, 1u);
    }
  }
  Range r;
  EXPECT_EQ(RangeOf({0, 7}, 6, &r).code(), Status::Code::kInvalidArgument) << "a shard would own nothing";
  // No overflow at the top of the range.
  ASSERT_TRUE(RangeOf({2, 3}, UINT64_MAX, &r).ok());
  EXPECT_EQ(r.end, UINT64_MAX);
  EXPECT_EQ(PathFor("dir/selfcheck", {1, 3}), "dir/selfcheck.shard-1-of-3");
}

TEST_F(ShardMerge, SelfcheckShardsGiveTheSingleRunsSummaryAndJournal) {
  const std::string run = SelfcheckRunHeader(7, 5);
  auto paths = WriteSelfcheckShards(7, 3, run);
  std::reverse(paths.begin(), paths.end());  // merge puts them in shard order
  std::vector<Shard> shards;
  ASSERT_TRUE(ReadShards(env_.get(), paths, &shards).ok());
  selfcheck::Options options;
  std::string method, journal;
  selfcheck::Summary merged;
  ASSERT_TRUE(MergeSelfcheck(shards, &options, &method, &merged, &journal).ok());
  selfcheck::Summary single;
  std::string single_journal = run + "\n";
  for (uint64_t i = 0; i < 7; ++i) {
    selfcheck::PromptResult r;
    ASSERT_TRUE(selfcheck::ParseRecordLine(SelfcheckRecord(i), &r).ok());
    single.Add(r, SelfcheckRecord(i));
    single_journal += SelfcheckRecord(i) + "\n";
  }
  EXPECT_EQ(journal, single_journal);
  EXPECT_EQ(selfcheck::SummaryText(options, method, merged), selfcheck::SummaryText(SelfcheckOptions(7, 5), "streaming", single));
  EXPECT_EQ(merged.records_digest, single.records_digest);
  EXPECT_EQ(merged.prompts, 7u);
  EXPECT_EQ(merged.matches, 5u);
}

TEST_F(ShardMerge, RefusesAMissingShardByName) {
  const auto paths = WriteSelfcheckShards(7, 3, SelfcheckRunHeader(7, 5));
  Refusal({paths[0], paths[2]}, Status::Code::kInvalidArgument, "shard 1/3 is missing");
  Refusal({paths[1]}, Status::Code::kInvalidArgument, "shards 0/3, 2/3 are missing");
  Refusal({}, Status::Code::kInvalidArgument, "needs the shard files");
}

TEST_F(ShardMerge, RefusesADuplicatedShardByName) {
  const auto paths = WriteSelfcheckShards(7, 3, SelfcheckRunHeader(7, 5));
  Write("copy", Read(paths[1]));
  const std::string m = Refusal({paths[0], paths[1], "copy", paths[2]}, Status::Code::kInvalidArgument, "shard 1/3 is given twice");
  EXPECT_NE(m.find("copy"), std::string::npos) << m;
  EXPECT_NE(m.find(paths[1]), std::string::npos) << m;
  Refusal({paths[0], paths[1], paths[1], paths[2]}, Status::Code::kInvalidArgument, "given twice");
}

TEST_F(ShardMerge, RefusesAForeignShardNamingItAndWhatDiffers) {
  const auto paths = WriteSelfcheckShards(7, 3, SelfcheckRunHeader(7, 5));
  // The same shard of runs with another seed, another model, more prompts, another split, another command.
  const auto seed = WriteSelfcheckShards(7, 3, SelfcheckRunHeader(7, 6), "seed");
  std::string m = Refusal({paths[0], seed[1], paths[2]}, Status::Code::kInvalidArgument, seed[1]);
  EXPECT_NE(m.find("\"seed\""), std::string::npos) << m;
  const auto model = WriteSelfcheckShards(7, 3, SelfcheckRunHeader(7, 5, "cd34"), "model");
  m = Refusal({paths[0], paths[1], model[2]}, Status::Code::kInvalidArgument, model[2]);
  EXPECT_NE(m.find("\"model_manifest_root\""), std::string::npos) << m;
  const auto longer = WriteSelfcheckShards(9, 3, SelfcheckRunHeader(9, 5), "longer");
  Refusal({paths[0], longer[1], paths[2]}, Status::Code::kInvalidArgument, longer[1]);
  const auto four = WriteSelfcheckShards(7, 4, SelfcheckRunHeader(7, 5), "four");
  m = Refusal({paths[0], four[1], paths[2]}, Status::Code::kInvalidArgument, four[1]);
  EXPECT_NE(m.find("same split"), std::string::npos) << m;
  Write("ref", ShardText(Kind::kReferenceBuild, {1, 3}, 7, SelfcheckRunHeader(7, 5), SelfcheckRecord));
  m = Refusal({paths[0], "ref", paths[2]}, Status::Code::kInvalidArgument, "ref (shard 1/3)");
  EXPECT_NE(m.find("different commands"), std::string::npos) << m;
}

TEST_F(ShardMerge, MalformedShardFilesAreOneLineErrorsNamingTheFile) {
  const std::string run = SelfcheckRunHeader(7, 5);
  const std::string good = ShardText(Kind::kSelfcheck, {1, 3}, 7, run, SelfcheckRecord);
  const std::string header = HeaderLine(Kind::kSelfcheck, {1, 3}, 7, run);
  std::string deep(100000, '[');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"not json\n", "not a pot shard file"},
      {deep + "\n", "not a pot shard file"},
      {"{\"format\":\"pot.shard\",\"version\":2}\n", "unsupported shard file version"},
      {"{\"format\":\"pot.shard\",\"version\":1,\"kind\":\"selfcheck\",\"shard\":-1}\n", "shard header"},
      {"{\"format\":\"pot.shard\",\"version\":1,\"kind\":\"selfcheck\",\"shard\":1e30}\n", "shard header"},
      {"{\"format\":\"pot.shard\",\"version\":1,\"kind\":\"other\"}\n", "unknown shard kind"},
      {good.substr(0, good.size() - 3), "cut short"},
      {header + "\n", "unfinished: 0 of its 2 prompts"},
      {header + "\n" + SelfcheckRecord(2) + "\n", "unfinished: 1 of its 2 prompts"},
      {header + "\n" + SelfcheckRecord(3) + "\n", "line 2: not the record of item 2"},
      {header + "\n" + SelfcheckRecord(2) + "\n" + SelfcheckRecord(2) + "\n", "line 3: not the record of item 3"},
      {good + SelfcheckRecord(4) + "\n", "line 4: more records"},
      {header + "\n[]\n", "line 2"},
  };
  for (const auto& [text, expected] : cases) {
    Write("bad", text);
    Shard shard;
    const Status s = ReadShard(env_.get(), "bad", &shard);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << expected;
    EXPECT_EQ(s.message().rfind("bad: ", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
  }
  // A header whose block is not the one its shard owns.
  std::string lying = good;
  lying.replace(lying.find("\"first\":2"), 9, "\"first\":1");
  Write("bad", lying);
  Shard shard;
  EXPECT_EQ(ReadShard(env_.get(), "bad", &shard).code(), Status::Code::kCorruption);
  EXPECT_EQ(ReadShard(env_.get(), "absent", &shard).code(), Status::Code::kNotFound);
}

TEST_F(ShardMerge, ARecordThatIsNotTheRunsOwnIsRefusedNamingTheFile) {
  const std::string run = SelfcheckRunHeader(7, 5);
  auto paths = WriteSelfcheckShards(7, 3, run);
  // The index is right but the line is not one selfcheck writes (its digest would differ from the run's).
  Write(paths[1], HeaderLine(Kind::kSelfcheck, {1, 3}, 7, run) + "\n" + SelfcheckRecord(2) + "\n{\"index\":3}\n");
  std::vector<Shard> shards;
  ASSERT_TRUE(ReadShards(env_.get(), paths, &shards).ok());
  selfcheck::Options options;
  std::string method, journal;
  selfcheck::Summary summary;
  const Status s = MergeSelfcheck(shards, &options, &method, &summary, &journal);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message().rfind(paths[1] + ": line 3", 0), 0u) << s.message();
}

// A reference header for a made-up model and one record per challenge, as a build would journal them.
reference::Header ReferenceHeader(uint64_t n) {
  reference::Header h;
  h.pot_version = "0.1.0";
  h.llama_commit = std::string(40, 'a');
  h.model.files = {"base.gguf"};
  h.model.file_sha256s = {std::string(64, '1')};
  h.model.manifest_root = std::string(64, '2');
  h.model.weights_root = std::string(64, '3');
  h.vocab_sha256 = std::string(64, '4');
  h.n_vocab = 100;
  h.commitment = std::string(64, '5');
  h.family = "templates";
  h.family_params = "v1";
  h.n_max_committed = 16;
  h.n = n;
  h.continuation_tokens = 1;
  h.topk = 2;
  h.tail_samples = 1;
  return h;
}

std::string ReferenceRecord(const reference::Header& h, uint64_t i) {
  reference::Challenge c;
  c.prompt_tokens = {1, static_cast<int32_t>(2 + i)};
  c.continuation = {7};
  c.rows.k = 2;
  c.rows.samples = 1;
  c.rows.ids = {3, 4, 50, 5, 6, 60};
  c.rows.logp = {-0.5f, -1.5f, -4.0f, -0.25f, -2.0f, -3.0f};
  c.rows.target_logp = {-1.0f, -0.75f};
  std::string record;
  EXPECT_TRUE(reference::EncodeChallenge(h, c, &record).ok());
  return record;
}

TEST_F(ShardMerge, ReferenceShardsGiveTheSingleBuildsSignedFileByteForByte) {
  const reference::Header h = ReferenceHeader(5);
  const std::string run = reference::HeaderJson(h);
  std::vector<std::string> paths, records;
  for (uint64_t i = 0; i < h.n; ++i) records.push_back(ReferenceRecord(h, i));
  auto line_of = [&](uint64_t i) { return reference::JournalLine(i, records[i]); };
  for (uint64_t i = 0; i < 2; ++i) {
    paths.push_back(PathFor("ref.potref", {i, 2}));
    Write(paths.back(), ShardText(Kind::kReferenceBuild, {i, 2}, h.n, run, line_of));
  }
  SigningKey signer;
  ASSERT_TRUE(GenerateSigningKey(&signer).ok());
  std::string single;
  ASSERT_TRUE(reference::Assemble(h, records, signer, &single).ok());
  std::vector<Shard> shards;
  ASSERT_TRUE(ReadShards(env_.get(), {paths[1], paths[0]}, &shards).ok());
  reference::Header merged_header;
  std::string merged;
  ASSERT_TRUE(MergeReference(shards, signer, &merged_header, &merged).ok());
  EXPECT_EQ(merged, single) << "Ed25519 signatures are deterministic";
  reference::File file;
  EXPECT_TRUE(reference::ParseFile(merged, &file).ok());

  // A record that is no record of the header is refused, naming the shard file.
  records[3] = "garbage";
  Write(paths[1], ShardText(Kind::kReferenceBuild, {1, 2}, h.n, run, line_of));
  ASSERT_TRUE(ReadShards(env_.get(), paths, &shards).ok());
  Status s = MergeReference(shards, signer, &merged_header, &merged);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message().rfind(paths[1] + ": record 3", 0), 0u) << s.message();
  // A run header that is not a canonical reference header.
  Write(paths[0], ShardText(Kind::kReferenceBuild, {0, 2}, h.n, SelfcheckRunHeader(5, 1), line_of));
  Write(paths[1], ShardText(Kind::kReferenceBuild, {1, 2}, h.n, SelfcheckRunHeader(5, 1), line_of));
  ASSERT_TRUE(ReadShards(env_.get(), paths, &shards).ok());
  s = MergeReference(shards, signer, &merged_header, &merged);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message().rfind(paths[0] + ": reference header", 0), 0u) << s.message();
}

}  // namespace
}  // namespace pot::shard
