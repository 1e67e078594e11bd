#include "challenge/challenge.h"

#include <nlohmann/json.hpp>

#include "challenge/templates_v1.h"
#include "crypto/hmac.h"
#include "text/text.h"

namespace pot::challenge {
namespace {

// Uniform integer in [0, n) from the tag, independent per label. Rejection sampling on 64-bit words:
// words at or above the largest multiple of n are discarded, so no residue is favoured.
//   block_c = HMAC(tag, lp("pot.draw.v1") || lp(label) || u64le(c)), c = 0, 1, ...; words = its four u64le.
uint64_t Draw(const Digest& tag, std::string_view label, uint64_t n) {
  const uint64_t excess = (UINT64_MAX % n + 1) % n;  // 2^64 mod n
  const std::string prefix = Lp("pot.draw.v1") + Lp(label);
  for (uint64_t c = 0;; ++c) {
    const Digest block = HmacSha256(AsBytes(tag), prefix + U64Le(c));
    for (int w = 0; w < 4; ++w) {
      uint64_t v = 0;
      for (int b = 0; b < 8; ++b) v |= static_cast<uint64_t>(block[8 * w + b]) << (8 * b);
      if (excess == 0 || v <= UINT64_MAX - excess) return v % n;
    }
  }
}

Digest Tag(std::string_view key, const Family& family, uint64_t index) {
  return HmacSha256(key, Lp("pot.challenge.v1") + Lp(family.name) + Lp(family.params) + U64Le(index));
}

std::string_view Article(std::string_view word) {
  return std::string_view("aeiou").find(word.front()) != std::string_view::npos ? "an" : "a";
}

template <typename List>
std::string_view Pick(const Digest& tag, std::string_view label, const List& list) {
  return list[Draw(tag, label, list.size())];
}

// Renders one templates-v1 prompt: every {slot} is drawn from the tag with the slot's name as label.
std::string RenderTemplate(const Digest& tag) {
  namespace t = templates_v1;
  const std::string_view tmpl = t::kTemplates[Draw(tag, "template", t::kTemplates.size())];
  const t::Verb verb = t::kVerbs[Draw(tag, "verb", t::kVerbs.size())];
  auto word = [&](std::string_view slot) -> std::string {
    if (slot == "tone") return std::string(Pick(tag, slot, t::kTones));
    if (slot == "genre") return std::string(Pick(tag, slot, t::kGenres));
    if (slot == "count") return std::string(Pick(tag, slot, t::kCounts));
    if (slot == "place") return std::string(Pick(tag, slot, t::kPlaces));
    if (slot == "time") return std::string(Pick(tag, "time", t::kTimes));
    if (slot == "Time") {
      std::string s(Pick(tag, "time", t::kTimes));
      s[0] = static_cast<char>(s[0] - 'a' + 'A');
      return s;
    }
    if (slot == "adj" || slot == "adj2") return std::string(Pick(tag, slot, t::kAdjectives));
    if (slot == "thing") return std::string(Pick(tag, slot, t::kThingAdjectives));
    if (slot == "subject" || slot == "subject2") return std::string(Pick(tag, slot, t::kSubjects));
    if (slot == "object") return std::string(Pick(tag, slot, t::kObjects));
    if (slot == "verb.base") return std::string(verb.base);
    if (slot == "verb.third") return std::string(verb.third);
    if (slot == "verb.past") return std::string(verb.past);
    return "{" + std::string(slot) + "}";  // unreachable for the fixed templates; a test renders them all
  };
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '{') {
      out.push_back(tmpl[i]);
      continue;
    }
    const size_t close = tmpl.find('}', i);
    std::string_view slot = tmpl.substr(i + 1, close - i - 1);
    if (slot.rfind("a ", 0) == 0) {
      const std::string w = word(slot.substr(2));
      out.append(Article(w)).append(" ").append(w);
    } else {
      out.append(word(slot));
    }
    i = close;
  }
  return out;
}

class TemplatesGenerator final : public Generator {
 public:
  TemplatesGenerator(std::string key, Family family) : key_(std::move(key)), family_(std::move(family)) {}
  Status Generate(uint64_t index, Challenge* out) const override {
    out->index = index;
    out->family = family_.name;
    out->tag = Tag(key_, family_, index);
    out->prompt = RenderTemplate(out->tag);
    return Status::OK();
  }

 private:
  std::string key_;
  Family family_;
};

class CorpusGenerator final : public Generator {
 public:
  CorpusGenerator(std::string key, Family family, std::vector<std::string> prompts)
      : key_(std::move(key)), family_(std::move(family)), prompts_(std::move(prompts)) {}
  Status Generate(uint64_t index, Challenge* out) const override {
    out->index = index;
    out->family = family_.name;
    out->tag = Tag(key_, family_, index);
    out->prompt = prompts_[Draw(out->tag, "corpus", prompts_.size())];
    return Status::OK();
  }

 private:
  std::string key_;
  Family family_;
  std::vector<std::string> prompts_;
};

// One prompt per non-empty line; in a .jsonl file each line is an object whose "prompt" is the prompt.
// A prompt is text: a line that is not UTF-8 is refused, so what the transcript records (and pot audit
// compares) is the prompt the models were given, byte for byte (docs/formats.md, "Strings that are not UTF-8").
Status ParseCorpus(const std::string& path, const std::string& text, std::vector<std::string>* prompts) {
  const bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!text::IsValidUtf8(line)) {
      return Status::Corruption(path + ":" + std::to_string(line_no) + ": not UTF-8 text");
    }
    if (!jsonl) {
      prompts->push_back(line);
      continue;
    }
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("prompt") || !j["prompt"].is_string()) {
      return Status::Corruption(path + ":" + std::to_string(line_no) + ": not a JSON object with a \"prompt\" string");
    }
    prompts->push_back(j["prompt"].get<std::string>());
  }
  if (prompts->empty()) return Status::Corruption(path + ": the corpus holds no prompts");
  return Status::OK();
}

}  // namespace

Status NewLegacyGenerator(std::string_view key, const Family& family, std::unique_ptr<Generator>* out);

std::string Encode(const Challenge& c) {
  return Lp("pot.challenge.v1") + U64Le(c.index) + Lp(c.family) + Lp(c.prompt) + std::string(AsBytes(c.tag));
}

Digest Commit(std::string_view key, const Family& family, uint64_t n_max) {
  return Sha256Of(Lp("pot.commit.v1") + Lp(key) + Lp(family.name) + Lp(family.params) + U64Le(n_max));
}

Status ResolveFamily(Env* env, const std::string& name, const std::string& corpus_path, const std::string& run_id,
                     Family* out) {
  out->name = name;
  if (name == "templates") {
    out->params = "v1";
  } else if (name == "corpus") {
    if (corpus_path.empty()) return Status::InvalidArgument("the corpus family needs --corpus FILE");
    std::string text;
    POT_RETURN_IF_ERROR(ReadFileToString(env, corpus_path, &text));
    out->params = ToHex(Sha256Of(text));
  } else if (name == "legacy") {
    if (run_id.empty()) return Status::InvalidArgument("the legacy family needs --run-id ID");
    // The run id is committed to and written into JSON key files; as text it reads back as it was given.
    if (!text::IsValidUtf8(run_id)) return Status::InvalidArgument("the run id is not UTF-8 text");
    out->params = run_id;
  } else {
    return Status::InvalidArgument("unknown challenge family '" + name + "' (templates, corpus, legacy)");
  }
  return Status::OK();
}

Status NewGenerator(Env* env, std::string_view key, const Family& family, const std::string& corpus_path,
                    std::unique_ptr<Generator>* out) {
  if (key.size() != kKeyBytes) return Status::InvalidArgument("a challenge key is 32 bytes (64 hex digits)");
  if (family.name == "templates") {
    if (family.params != "v1") return Status::Unsupported("unknown templates version '" + family.params + "'");
    *out = std::make_unique<TemplatesGenerator>(std::string(key), family);
    return Status::OK();
  }
  if (family.name == "corpus") {
    std::string text;
    POT_RETURN_IF_ERROR(ReadFileToString(env, corpus_path, &text));
    if (ToHex(Sha256Of(text)) != family.params) {
      return Status::InvalidArgument(corpus_path + ": this corpus is not the one the challenges were committed to");
    }
    std::vector<std::string> prompts;
    POT_RETURN_IF_ERROR(ParseCorpus(corpus_path, text, &prompts));
    *out = std::make_unique<CorpusGenerator>(std::string(key), family, std::move(prompts));
    return Status::OK();
  }
  if (family.name == "legacy") return NewLegacyGenerator(key, family, out);
  return Status::InvalidArgument("unknown challenge family '" + family.name + "'");
}

}  // namespace pot::challenge
