#include "shard/shard.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/json.h"

namespace pot::shard {
namespace {

using json = nlohmann::ordered_json;

constexpr char kFormat[] = "pot.shard";
constexpr size_t kMaxDigits = 18;  // below 10^18: I * n never overflows the 128-bit product either way

// The block of spec without checks: floor(I*n/N) to floor((I+1)*n/N), in 128 bits so that I*n cannot wrap.
Range BlockOf(const Spec& spec, uint64_t total) {
  auto bound = [&](uint64_t i) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(i) * total / spec.count);
  };
  return {bound(spec.index), bound(spec.index + 1)};
}

bool ParseDecimal(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > kMaxDigits) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// "item" in the words of each kind, for messages.
std::string Items(Kind kind, uint64_t n) {
  return std::to_string(n) + (kind == Kind::kSelfcheck ? " prompts" : " challenges");
}

// The first top-level member in which two run headers differ, to name what makes a shard foreign.
std::string FirstDifference(const std::string& a, const std::string& b) {
  const json ja = ParseJson<json>(a), jb = ParseJson<json>(b);
  if (!ja.is_object() || !jb.is_object()) return "the whole header";
  for (const auto& [key, value] : ja.items()) {
    if (!jb.contains(key) || jb.at(key) != value) return "\"" + key + "\"";
  }
  for (const auto& [key, value] : jb.items()) {
    if (!ja.contains(key)) return "\"" + key + "\"";
  }
  return "the member order";
}

Status ParseShardHeader(const std::string& line, Shard* s) {
  const json j = ParseJson<json>(line);
  if (!HasValue(j, "format", kFormat)) return Status::Corruption("not a pot shard file");
  if (!HasValue(j, "version", kFormatVersion)) {
    return Status::Corruption("unsupported shard file version (this pot reads version " + std::to_string(kFormatVersion) + ")");
  }
  Range claimed;
  try {
    const std::string kind = j.at("kind").get<std::string>();
    if (kind == KindName(Kind::kSelfcheck)) {
      s->kind = Kind::kSelfcheck;
    } else if (kind == KindName(Kind::kReferenceBuild)) {
      s->kind = Kind::kReferenceBuild;
    } else {
      return Status::Corruption("unknown shard kind");
    }
    s->spec.index = IntegerAt<uint64_t>(j, "shard");
    s->spec.count = IntegerAt<uint64_t>(j, "shards");
    s->total = IntegerAt<uint64_t>(j, "total");
    claimed.first = IntegerAt<uint64_t>(j, "first");
    claimed.end = IntegerAt<uint64_t>(j, "end");
    if (!j.at("run").is_object()) return Status::Corruption("shard header: run: not an object");
    s->run_header = j.at("run").dump();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("shard header: ") + e.what());
  }
  if (s->spec.count == 0 || s->spec.index >= s->spec.count || s->spec.count > s->total) {
    return Status::Corruption("shard header: shard " + SpecName(s->spec) + " of " + Items(s->kind, s->total) +
                              " is not a shard");
  }
  s->range = BlockOf(s->spec, s->total);
  if (claimed.first != s->range.first || claimed.end != s->range.end) {
    return Status::Corruption("shard header: shard " + SpecName(s->spec) + " of " + Items(s->kind, s->total) +
                              " owns items " + std::to_string(s->range.first) + " to " + std::to_string(s->range.end) +
                              " (end excluded), not " + std::to_string(claimed.first) + " to " + std::to_string(claimed.end));
  }
  return Status::OK();
}

}  // namespace

const char* KindName(Kind kind) { return kind == Kind::kSelfcheck ? "selfcheck" : "reference-build"; }

Status ParseSpec(std::string_view text, Spec* out) {
  const size_t slash = text.find('/');
  Spec spec;
  if (slash == std::string_view::npos || !ParseDecimal(text.substr(0, slash), &spec.index) ||
      !ParseDecimal(text.substr(slash + 1), &spec.count) || spec.index >= spec.count) {
    std::string message = "'";  // built in steps: GCC 12 warns falsely (-Wrestrict) on "'" + std::string
    message.append(text).append("' is not I/N with 0 <= I < N (I counts from 0)");
    return Status::InvalidArgument(message);
  }
  *out = spec;
  return Status::OK();
}

std::string SpecName(const Spec& spec) { return std::to_string(spec.index) + "/" + std::to_string(spec.count); }

Status RangeOf(const Spec& spec, uint64_t total, Range* out) {
  if (spec.count > total) {
    return Status::InvalidArgument(std::to_string(spec.count) + " shards for " + std::to_string(total) +
                                   " items: at most one shard per item");
  }
  *out = BlockOf(spec, total);
  return Status::OK();
}

std::string PathFor(const std::string& stem, const Spec& spec) {
  return stem + ".shard-" + std::to_string(spec.index) + "-of-" + std::to_string(spec.count);
}

std::string HeaderLine(Kind kind, const Spec& spec, uint64_t total, const std::string& run_header) {
  const Range r = BlockOf(spec, total);
  return json{{"format", kFormat},     {"version", kFormatVersion}, {"kind", KindName(kind)},
              {"shard", spec.index},   {"shards", spec.count},      {"total", total},
              {"first", r.first},      {"end", r.end},              {"run", json::parse(run_header)}}
      .dump();
}

Status ReadShard(Env* env, const std::string& path, Shard* out) {
  std::string text;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &text));
  if (text.empty()) return Status::Corruption(path + ": empty, not a pot shard file");
  if (text.back() != '\n') {
    return Status::Corruption(path + ": its last line is cut short (the shard was stopped while writing); rerun the shard");
  }
  Shard s;
  s.path = path;
  size_t begin = text.find('\n');
  POT_RETURN_IF_ERROR(ParseShardHeader(text.substr(0, begin), &s).WithContext(path));
  for (++begin; begin < text.size();) {
    const size_t end = text.find('\n', begin);
    const uint64_t index = s.range.first + s.records.size();
    const std::string at = path + ": line " + std::to_string(s.records.size() + 2);
    if (index == s.range.end) {
      return Status::Corruption(at + ": more records than the " + Items(s.kind, s.range.size()) + " shard " +
                                SpecName(s.spec) + " owns");
    }
    std::string line = text.substr(begin, end - begin);
    if (!HasValue(ParseJson<json>(line), "index", index)) {
      return Status::Corruption(at + ": not the record of item " + std::to_string(index));
    }
    s.records.push_back(std::move(line));
    begin = end + 1;
  }
  if (s.records.size() < s.range.size()) {
    return Status::Corruption(path + ": shard " + SpecName(s.spec) + " is unfinished: " + std::to_string(s.records.size()) +
                              " of its " + Items(s.kind, s.range.size()) + " done; rerun the shard");
  }
  *out = std::move(s);
  return Status::OK();
}

Status ReadShards(Env* env, const std::vector<std::string>& paths, std::vector<Shard>* out) {
  if (paths.empty()) return Status::InvalidArgument("merge needs the shard files");
  std::vector<Shard> shards(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) POT_RETURN_IF_ERROR(ReadShard(env, paths[i], &shards[i]));
  const Shard& first = shards.front();
  // Which of two disagreeing shards is the foreign one is not for pot to guess: both are named.
  for (const Shard& s : shards) {
    auto refuse = [&](const std::string& why) {
      return Status::InvalidArgument(s.path + " (shard " + SpecName(s.spec) + ") and " + first.path + " (shard " +
                                     SpecName(first.spec) + ") " + why);
    };
    if (s.kind != first.kind) {
      return refuse(std::string("are shards of different commands: ") + KindName(s.kind) + " and " + KindName(first.kind));
    }
    if (s.spec.count != first.spec.count) return refuse("are not of the same split");
    if (s.total != first.total || s.run_header != first.run_header) {
      return refuse("come from different runs: their run headers differ at " +
                    (s.total != first.total ? "\"total\"" : FirstDifference(first.run_header, s.run_header)));
    }
  }
  std::stable_sort(shards.begin(), shards.end(),
                   [](const Shard& a, const Shard& b) { return a.spec.index < b.spec.index; });
  for (size_t i = 1; i < shards.size(); ++i) {
    if (shards[i].spec.index == shards[i - 1].spec.index) {
      return Status::InvalidArgument(shards[i].path + ": shard " + SpecName(shards[i].spec) + " is given twice (" +
                                     shards[i - 1].path + " is that shard too)");
    }
  }
  std::string missing;
  uint64_t n_missing = 0;
  size_t next = 0;
  for (uint64_t index = 0; index < first.spec.count; ++index) {
    if (next < shards.size() && shards[next].spec.index == index) {
      ++next;
      continue;
    }
    if (++n_missing <= 8) missing += (missing.empty() ? "" : ", ") + SpecName({index, first.spec.count});
  }
  if (n_missing > 0) {
    return Status::InvalidArgument((n_missing == 1 ? "shard " : "shards ") + missing + (n_missing > 8 ? ", ..." : "") +
                                   (n_missing == 1 ? " is" : " are") + " missing (" + std::to_string(shards.size()) +
                                   " of " + std::to_string(first.spec.count) + " given)");
  }
  *out = std::move(shards);
  return Status::OK();
}

Status MergeSelfcheck(const std::vector<Shard>& shards, selfcheck::Options* options, std::string* method,
                      selfcheck::Summary* summary, std::string* journal) {
  if (shards.empty() || shards.front().kind != Kind::kSelfcheck) return Status::InvalidArgument("not selfcheck shards");
  const Shard& first = shards.front();
  POT_RETURN_IF_ERROR(selfcheck::ParseHeaderLine(first.run_header, options, method).WithContext(first.path));
  if (options->prompts != first.total) {
    return Status::Corruption(first.path + ": the run's header counts " + std::to_string(options->prompts) +
                              " prompts, the shard header " + std::to_string(first.total));
  }
  *summary = {};
  *journal = first.run_header + "\n";
  for (const Shard& s : shards) {
    for (size_t i = 0; i < s.records.size(); ++i) {
      const std::string& line = s.records[i];
      selfcheck::PromptResult r;
      Status st = selfcheck::ParseRecordLine(line, &r);
      // The digest chains the lines' bytes: only the canonical line is the one a run wrote.
      if (st.ok() && selfcheck::RecordLine(r) != line) st = Status::Corruption("selfcheck record is not in canonical form");
      POT_RETURN_IF_ERROR(st.WithContext(s.path + ": line " + std::to_string(i + 2)));
      summary->Add(r, line);
      *journal += line + "\n";
    }
  }
  return Status::OK();
}

Status MergeReference(const std::vector<Shard>& shards, const SigningKey& signer, reference::Header* header,
                      std::string* file) {
  if (shards.empty() || shards.front().kind != Kind::kReferenceBuild) {
    return Status::InvalidArgument("not reference build shards");
  }
  const Shard& first = shards.front();
  POT_RETURN_IF_ERROR(reference::ParseHeader(first.run_header, header).WithContext(first.path));
  if (header->n != first.total) {
    return Status::Corruption(first.path + ": the run's header counts " + std::to_string(header->n) +
                              " challenges, the shard header " + std::to_string(first.total));
  }
  std::vector<std::string> records;
  for (const Shard& s : shards) {
    for (size_t i = 0; i < s.records.size(); ++i) {
      std::string record;
      POT_RETURN_IF_ERROR(
          reference::ParseJournalLine(*header, s.records[i], s.range.first + i, &record).WithContext(s.path));
      records.push_back(std::move(record));
    }
  }
  return reference::Assemble(*header, records, signer, file);
}

Status BuildReferenceShard(Env* env, const reference::BuildOptions& options, const Spec& spec, std::string* path,
                           Range* range, uint64_t* resumed_from) {
  POT_RETURN_IF_ERROR(RangeOf(spec, options.n, range).WithContext("--shard " + SpecName(spec)));
  reference::Header h;
  POT_RETURN_IF_ERROR(reference::BuildHeader(env, options, &h));
  *path = PathFor(options.out_path, spec);
  std::vector<std::string> records;
  return reference::BuildRecords(env, options, h, *path,
                                 HeaderLine(Kind::kReferenceBuild, spec, h.n, reference::HeaderJson(h)), range->first,
                                 range->end, &records, resumed_from);
}

}  // namespace pot::shard
