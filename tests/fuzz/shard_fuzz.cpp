// A shard file as pot merge reads it (shard::ReadShard), then merged alone as a split into one shard: a
// selfcheck shard into its summary and journal, a reference build shard into a file signed with the fixed
// test key. An accepted shard holds exactly the records of the block it owns; a merged journal is the run
// header and those records; a merged reference file parses back with the same header.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "shard/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto env = pot::NewMemEnv();
  pot::fuzz::WriteFile(env.get(), "shard", pot::fuzz::Bytes(data, size));
  pot::shard::Shard shard;
  const pot::Status s = pot::shard::ReadShard(env.get(), "shard", &shard);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty() && s.message().find('\n') == std::string::npos, "errors are one line");
    return 0;
  }
  pot::fuzz::Check(shard.records.size() == shard.range.size() && shard.range.end <= shard.total,
                   "an accepted shard holds its whole block");
  std::vector<pot::shard::Shard> shards;
  if (!pot::shard::ReadShards(env.get(), {"shard"}, &shards).ok()) return 0;  // one of several shards
  if (shard.kind == pot::shard::Kind::kSelfcheck) {
    pot::selfcheck::Options options;
    std::string method, journal;
    pot::selfcheck::Summary summary;
    if (!pot::shard::MergeSelfcheck(shards, &options, &method, &summary, &journal).ok()) return 0;
    std::string expected = shard.run_header + "\n";
    for (const auto& line : shard.records) expected += line + "\n";
    pot::fuzz::Check(journal == expected && summary.prompts == shard.total, "the merged journal is the run's");
  } else {
    pot::reference::Header header;
    std::string file;
    if (!pot::shard::MergeReference(shards, pot::fuzz::TestSigningKey(), &header, &file).ok()) return 0;
    pot::reference::File parsed;
    pot::fuzz::Check(pot::reference::ParseFile(file, &parsed).ok() &&
                         pot::reference::HeaderJson(parsed.header) == shard.run_header,
                     "a merged reference file parses back");
  }
  return 0;
}
