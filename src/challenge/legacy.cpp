// The Python PoT system's `lm:templates` generator, reproduced byte for byte from the specification in
// shared/vectors/pot-legacy (docs/formats.md summarises it), so that its published runs can be re-derived.
// Its quirks (ungrammatical prompts, a commitment that hides nothing) are reproduced on purpose.
#include <array>
#include <map>

#include "challenge/challenge.h"
#include "crypto/hmac.h"

namespace pot::challenge {
namespace {

std::string Be32(uint32_t c) {
  return {static_cast<char>(c >> 24), static_cast<char>(c >> 16), static_cast<char>(c >> 8), static_cast<char>(c)};
}

// prf_bytes(K, info, L) = first L bytes of T1 || T2 || ..., Tc = HMAC(K, BE32(c) || info).
std::string PrfBytes(std::string_view key, std::string_view info, size_t n) {
  std::string out;
  for (uint32_t c = 1; out.size() < n; ++c) out += AsBytes(HmacSha256(key, Be32(c) + std::string(info)));
  return out.substr(0, n);
}

// integer(K, info, lo, hi): that system's rejection sampler, two big-endian candidates per offset.
uint64_t Integer(std::string_view key, const std::string& info, uint64_t lo, uint64_t hi) {
  const uint64_t range = hi - lo;
  const int bits = 64 - __builtin_clzll(range);
  const size_t bpi = static_cast<size_t>((bits + 7) / 8 + 1);
  const unsigned __int128 space = static_cast<unsigned __int128>(1) << (8 * bpi);
  const unsigned __int128 limit = space / range * range;
  for (uint32_t offset = 0;; ++offset) {
    const std::string buf = PrfBytes(key, info + Be32(offset), 2 * bpi);
    for (size_t k = 0; k < 2; ++k) {
      unsigned __int128 v = 0;
      for (size_t b = 0; b < bpi; ++b) v = v << 8 | static_cast<uint8_t>(buf[k * bpi + b]);
      if (v < limit) return lo + static_cast<uint64_t>(v % range);
    }
  }
}

const std::array<std::string_view, 8> kLegacyTemplates = {
    "The {adjective} {subject} {verb} the {object}.",
    "{subject} {verb} {adjective} {object}.",
    "A {adjective} {subject} will {verb} the {object}.",
    "The {subject} {verb} {object} {adverb}.",
    "{adjective} {subject} {adverb} {verb} {object}.",
    "When the {subject} {verb}, the {object} becomes {adjective}.",
    "The {object} was {verb_past} by the {adjective} {subject}.",
    "{subject} and {subject2} {verb} the {adjective} {object}.",
};

const std::map<std::string, std::vector<std::string>, std::less<>>& LegacySlots() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> slots = {
      {"subject", {"cat", "dog", "bird", "robot", "scientist", "artist", "teacher", "student"}},
      {"subject2", {"mouse", "rabbit", "engineer", "doctor", "writer", "musician"}},
      {"verb", {"chases", "observes", "creates", "discovers", "analyzes", "transforms", "inspects", "measures"}},
      {"verb_past", {"created", "discovered", "analyzed", "transformed", "observed", "measured"}},
      {"object", {"ball", "puzzle", "painting", "equation", "melody", "story", "experiment", "pattern"}},
      {"adjective", {"clever", "curious", "colorful", "mysterious", "elegant", "complex", "simple", "unusual"}},
      {"adverb", {"quickly", "carefully", "quietly", "gracefully", "methodically", "suddenly", "slowly", "precisely"}},
  };
  return slots;
}

class LegacyGenerator final : public Generator {
 public:
  LegacyGenerator(std::string master, Family family) : family_(std::move(family)) {
    const std::string nonce = std::string(AsBytes(Sha256Of(family_.params))).substr(0, 16);
    family_key_ = std::string(AsBytes(HmacSha256(master, "challenge:lm:templates" + nonce)));
    salt_ = ToHex(HmacSha256(master, "salt" + nonce).data(), 16);
  }

  Status Generate(uint64_t index, Challenge* out) const override {
    const std::string p = "[('index', " + std::to_string(index) + ")]";
    const std::string seed = PrfBytes(family_key_, AsBytes(Sha256Of(p)), 32);
    const std::string info = "challenge_0_" + salt_;
    const std::string_view tmpl = kLegacyTemplates[Integer(seed, info + ":template", 0, kLegacyTemplates.size())];
    std::string prompt;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      if (tmpl[i] != '{') {
        prompt.push_back(tmpl[i]);
        continue;
      }
      const size_t close = tmpl.find('}', i);
      const std::string slot(tmpl.substr(i + 1, close - i - 1));
      const auto& values = LegacySlots().find(slot)->second;
      prompt += values[Integer(seed, info + ":slot_" + slot, 0, values.size())];
      i = close;
    }
    out->index = index;
    out->family = family_.name;
    out->prompt = std::move(prompt);
    std::copy(seed.begin(), seed.end(), out->tag.begin());
    return Status::OK();
  }

 private:
  Family family_;
  std::string family_key_;
  std::string salt_;
};

}  // namespace

Status NewLegacyGenerator(std::string_view key, const Family& family, std::unique_ptr<Generator>* out) {
  *out = std::make_unique<LegacyGenerator>(std::string(key), family);
  return Status::OK();
}

std::string LegacyCommitment(std::string_view key_hex, std::string_view run_id, uint64_t n) {
  std::string list = "[";
  for (uint64_t i = 0; i < n; ++i) {
    if (i > 0) list += ", ";
    list.append(1, '"').append(ToHex(HmacSha256(key_hex, std::string(run_id) + "_" + std::to_string(i)))).append(1, '"');
  }
  list += "]";
  return ToHex(Sha256Of(list));
}

}  // namespace pot::challenge
