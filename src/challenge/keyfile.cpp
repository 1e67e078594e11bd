#include <nlohmann/json.hpp>

#include "challenge/challenge.h"
#include "crypto/hmac.h"
#include "util/json.h"

namespace pot::challenge {

Status WriteKeyFile(Env* env, const std::string& path, const KeyFile& k, bool replace) {
  nlohmann::ordered_json j = {{"format", "pot.challenge-key"}, {"version", 1},
                              {"key_hex", ToHex(reinterpret_cast<const uint8_t*>(k.key.data()), k.key.size())},
                              {"family", k.family.name}, {"params", k.family.params}, {"n_max", k.n_max},
                              {"commitment", ToHex(k.commitment)}};
  return WriteFileAtomically(env, path, j.dump(2) + "\n", WriteOptions{.mode = 0600, .replace = replace});
}

Status ReadKeyFile(Env* env, const std::string& path, KeyFile* out) {
  std::string text;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &text));
  const auto j = ParseJson<nlohmann::json>(text);
  auto bad = [&](const std::string& what) { return Status::Corruption(path + ": not a pot key file (" + what + ")"); };
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  if (!HasValue(j, "format", "pot.challenge-key")) return bad("format");
  if (!HasValue(j, "version", 1)) return Status::Unsupported(path + ": unknown key file version");
  for (const char* field : {"key_hex", "family", "params", "commitment"}) {
    if (!j.contains(field) || !j[field].is_string()) return bad(std::string("missing ") + field);
  }
  if (!j.contains("n_max") || !j["n_max"].is_number_unsigned()) return bad("missing n_max");
  KeyFile k;
  std::string commitment;
  if (!FromHex(j["key_hex"].get<std::string>(), &k.key) || k.key.size() != kKeyBytes) return bad("key_hex");
  if (!FromHex(j["commitment"].get<std::string>(), &commitment) || commitment.size() != 32) return bad("commitment");
  k.family = {j["family"], j["params"]};
  k.n_max = j["n_max"];
  std::copy(commitment.begin(), commitment.end(), k.commitment.begin());
  // The file must be self-consistent: a key edited after the commitment was published is caught here.
  if (Commit(k.key, k.family, k.n_max) != k.commitment) {
    return Status::Corruption(path + ": the key does not match the commitment stored with it");
  }
  WarnIfUnprotectedKey(env, path);  // a file that is not a key holds no secret to warn about
  *out = std::move(k);
  return Status::OK();
}

}  // namespace pot::challenge
