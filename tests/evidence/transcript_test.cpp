// Transcript and Statement parsing of hostile lines (found by transcript_fuzz and bundle_fuzz): an integer
// field holding a float out of range or a negative number is Corruption, where it used to be cast
// (undefined behaviour) or wrapped into a huge count.
#include "evidence/transcript.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "evidence/bundle.h"
#include "placement/placement.h"
#include "text/text.h"

namespace pot::evidence {
namespace {

Header SmallHeader() {
  Header h;
  h.pot_version = "0.1.0";
  h.llama_commit = "test";
  h.reference = {{"a.gguf"}, {std::string(64, '1')}, std::string(64, '2'), std::string(64, '3')};
  h.candidate = h.reference;
  h.vocab_sha256 = std::string(64, '4');
  h.commitment = std::string(64, '5');
  h.family = "templates";
  h.family_params = "v1";
  h.n_max_committed = 64;
  h.continuation_tokens = 4;
  h.topk = 8;
  return h;
}

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(Transcript, IntegerFieldsMustBeIntegersInRange) {
  Record r;
  r.prompt_tokens = {1, 2};
  r.continuation = {3};
  const std::string header = HeaderLine(SmallHeader());
  const std::string record = RecordLine(r, verify::Distance::kTotalVariation);
  Transcript t;
  ASSERT_TRUE(ParseTranscript({header, record}, &t).ok());
  const std::vector<std::vector<std::string>> bad = {
      {Replaced(header, "\"n_max\":64", "\"n_max\":1e30"), record},
      {Replaced(header, "\"topk\":8", "\"topk\":-8e20"), record},
      {Replaced(header, "\"cand_ubatch\":0", "\"cand_ubatch\":-1"), record},
      {header, Replaced(record, "\"index\":0", "\"index\":-1")},
      {header, Replaced(record, "\"prompt_tokens\":[1,2]", "\"prompt_tokens\":[1,4294967296]")},
      {header, Replaced(record, "\"positions\":0", "\"positions\":2.5")},
  };
  for (const auto& lines : bad) {
    const Status s = ParseTranscript(lines, &t);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << lines[0] << "\n" << lines[1];
    EXPECT_NE(s.message().find("not an integer in range"), std::string::npos) << s.message();
  }
}

// Where the models ran is recorded as placement::Describe writes it; anything else in its place is refused,
// and a version 4 header (no placement) still reads.
TEST(Transcript, PlacementRoundTripsAndAMalformedOneIsRefused) {
  Header h = SmallHeader();
  placement::Placement rpc;
  rpc.rpc = {"127.0.0.1:50052", "127.0.0.1:50053"};
  rpc.tensor_split = {1, 2};
  h.ref_placement = text::DumpJson(placement::Describe(rpc));
  h.cand_placement = text::DumpJson(placement::Describe(placement::Placement{}));
  const std::string header = HeaderLine(h);
  Transcript t;
  ASSERT_TRUE(ParseTranscript({header}, &t).ok());
  EXPECT_EQ(t.header.ref_placement, h.ref_placement);
  EXPECT_EQ(t.header.cand_placement, h.cand_placement);
  EXPECT_EQ(HeaderLine(t.header), header);
  EXPECT_NE(h.ref_placement.find("\"backend\":\"rpc\""), std::string::npos) << h.ref_placement;
  EXPECT_NE(h.ref_placement.find("\"repack\":false"), std::string::npos) << h.ref_placement;
  EXPECT_NE(h.cand_placement.find("\"repack\":true"), std::string::npos) << h.cand_placement;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"backend\":\"rpc\"", "\"backend\":\"tpu\""},
           {"\"gpu_layers\":-1", "\"gpu_layers\":\"all\""},
           {"\"repack\":false", "\"repack\":0"},
           {"\"tensor_split\":[1.0,2.0]", "\"tensor_split\":[\"1\"]"},
           {",\"build_backend\":\"cpu\"", ""}}) {
    EXPECT_EQ(ParseTranscript({Replaced(header, from, to)}, &t).code(), Status::Code::kCorruption) << to;
  }
  std::string v4 = Replaced(Replaced(header, "\"version\":6", "\"version\":4"), ",\"bet\":\"grapa\"", "");
  v4 = v4.substr(0, v4.find(",\"placement\"")) + "}";
  ASSERT_TRUE(ParseTranscript({v4}, &t).ok()) << v4;
  EXPECT_TRUE(t.header.ref_placement.empty());
  EXPECT_EQ(HeaderLine(t.header), v4) << "written back in its own version";
}

// The test's bets are named from version 6 on; a version 5 header means the plug-in bets, the only ones
// before, and is written back byte for byte, so an old bundle's statement still re-renders (and audits).
TEST(Transcript, TheBetIsRecordedAndOlderHeadersMeanThePlugInBets) {
  const std::string header = HeaderLine(SmallHeader());
  EXPECT_NE(header.find("\"version\":6,"), std::string::npos) << header;
  EXPECT_NE(header.find("\"n_max\":128,\"bet\":\"grapa\",\"distance\""), std::string::npos) << header;
  Transcript t;
  ASSERT_TRUE(ParseTranscript({header}, &t).ok());
  EXPECT_EQ(t.header.test.bet, stats::Bet::kGrapa);
  EXPECT_EQ(HeaderLine(t.header), header);
  const std::string plug_in = Replaced(header, "\"bet\":\"grapa\"", "\"bet\":\"plug-in\"");
  ASSERT_TRUE(ParseTranscript({plug_in}, &t).ok());
  EXPECT_EQ(t.header.test.bet, stats::Bet::kPlugIn);
  EXPECT_EQ(HeaderLine(t.header), plug_in);
  const std::string v5 = Replaced(Replaced(header, "\"version\":6", "\"version\":5"), ",\"bet\":\"grapa\"", "");
  ASSERT_TRUE(ParseTranscript({v5}, &t).ok()) << v5;
  EXPECT_EQ(t.header.version, 5);
  EXPECT_EQ(t.header.test.bet, stats::Bet::kPlugIn);
  EXPECT_EQ(HeaderLine(t.header), v5);
  Claim c;
  c.header = t.header;
  c.transcript_size = 2;
  Claim back;
  ASSERT_TRUE(ParseStatement(StatementJson(c), &back).ok());
  EXPECT_EQ(back.header.test.bet, stats::Bet::kPlugIn);
  for (const std::string& bad : {Replaced(header, "\"bet\":\"grapa\"", "\"bet\":\"kelly\""),
                                 Replaced(header, ",\"bet\":\"grapa\"", ""),
                                 Replaced(header, "\"version\":6", "\"version\":7")}) {
    EXPECT_EQ(ParseTranscript({bad}, &t).code(), Status::Code::kCorruption) << bad;
  }
}

TEST(Statement, IntegerFieldsMustBeIntegersInRange) {
  Claim c;
  c.header = SmallHeader();
  c.transcript_size = 2;
  const std::string text = StatementJson(c);
  Claim back;
  ASSERT_TRUE(ParseStatement(text, &back).ok());
  const Status s = ParseStatement(Replaced(text, "\"size\":2", "\"size\":1e30"), &back);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("size: not an integer in range"), std::string::npos) << s.message();
}

TEST(Statement, DeepNestingIsCorruptionNotAStackOverflow) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  Claim back;
  const Status s = ParseStatement(R"({"_type":"https://in-toto.io/Statement/v1","predicate":{"header":)" + deep + "}}", &back);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  Transcript t;
  EXPECT_EQ(ParseTranscript({deep}, &t).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace pot::evidence
