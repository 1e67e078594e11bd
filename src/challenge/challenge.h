// challenge: prompts fixed before a run (committed), unpredictable without the secret key, and
// regenerable by anyone once the key is revealed. Byte-exact definitions: docs/formats.md, "Challenges".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "env/env.h"

namespace pot::challenge {

inline constexpr size_t kKeyBytes = 32;

// A family and the parameters that fix its output. params is part of the commitment:
//   templates: "v1" (the template set's version)
//   corpus:    SHA-256 (hex) of the corpus file's bytes, so the commitment binds the corpus
//   legacy:    the Python system's run id
struct Family {
  std::string name;
  std::string params;
};

struct Challenge {
  uint64_t index = 0;
  std::string family;
  std::string prompt;
  Digest tag{};  // HMAC-SHA256 the prompt was derived from
};

// Canonical bytes of a challenge (a transcript leaf later):
//   lp("pot.challenge.v1") || u64le(index) || lp(family) || lp(prompt) || tag
std::string Encode(const Challenge& c);

// Public commitment to (key, family, params, n_max):
//   SHA-256( lp("pot.commit.v1") || lp(key) || lp(family) || lp(params) || u64le(n_max) )
Digest Commit(std::string_view key, const Family& family, uint64_t n_max);

// Fixes a family's parameters: reads and hashes the corpus, or takes the run id.
Status ResolveFamily(Env* env, const std::string& name, const std::string& corpus_path, const std::string& run_id,
                     Family* out);

class Generator {
 public:
  virtual ~Generator() = default;
  virtual Status Generate(uint64_t index, Challenge* out) const = 0;
};

// key: the raw 32 key bytes. corpus_path is read for the corpus family and must hash to family.params.
Status NewGenerator(Env* env, std::string_view key, const Family& family, const std::string& corpus_path,
                    std::unique_ptr<Generator>* out);

// The Python system's published "commitment" for n challenges (docs/formats.md); it hides nothing, and is
// reproduced only so its runs can be audited.
std::string LegacyCommitment(std::string_view key_hex, std::string_view run_id, uint64_t n);

// Key files (JSON, mode 0600): the secret key with the family, params, n_max and commitment it was made for.
struct KeyFile {
  std::string key;  // raw bytes
  Family family;
  uint64_t n_max = 0;
  Digest commitment{};
};
// Writes a new key file, mode 0600 from its first byte; an existing file at path is replaced only if asked.
Status WriteKeyFile(Env* env, const std::string& path, const KeyFile& k, bool replace = false);
// Reads a key file, warning on stderr when its mode lets others read it (WarnIfUnprotectedKey).
Status ReadKeyFile(Env* env, const std::string& path, KeyFile* out);

}  // namespace pot::challenge
