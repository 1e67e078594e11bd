// Key files, read through the in-memory Env: the first byte picks the reader, the rest is the file.
//   'c' challenge key file (ReadKeyFile): an accepted one is self-consistent and rewrites to itself;
//   'p' public key (ReadPublicKey): 32 raw bytes, and pot's PEM of them reads back to the same;
//   anything else, private signing key (ReadSigningKey): its derived public key verifies its signatures.
#include <string>

#include "challenge/challenge.h"
#include "crypto/ed25519.h"
#include "fuzz_util.h"

namespace {

void ChallengeKey(pot::Env* env) {
  pot::challenge::KeyFile k;
  if (!pot::challenge::ReadKeyFile(env, "in", &k).ok()) return;
  pot::fuzz::Check(k.key.size() == pot::challenge::kKeyBytes, "key size");
  pot::fuzz::Check(pot::challenge::Commit(k.key, k.family, k.n_max) == k.commitment, "the key matches its commitment");
  pot::fuzz::Check(pot::challenge::WriteKeyFile(env, "again", k).ok(), "an accepted key file rewrites");
  pot::challenge::KeyFile again;
  pot::fuzz::Check(pot::challenge::ReadKeyFile(env, "again", &again).ok(), "pot's key file reads back");
  pot::fuzz::Check(again.key == k.key && again.family.name == k.family.name && again.family.params == k.family.params &&
                       again.n_max == k.n_max && again.commitment == k.commitment,
                   "a key file round-trips");
}

void PublicKey(pot::Env* env) {
  std::string raw;
  if (!pot::ReadPublicKey(env, "in", &raw).ok()) return;
  pot::fuzz::Check(raw.size() == 32, "an Ed25519 public key is 32 bytes");
  pot::fuzz::WriteFile(env, "again", pot::PublicKeyPem(raw));
  std::string again;
  pot::fuzz::Check(pot::ReadPublicKey(env, "again", &again).ok() && again == raw, "a public key round-trips");
}

void SigningKey(pot::Env* env) {
  pot::SigningKey key;
  if (!pot::ReadSigningKey(env, "in", &key).ok()) return;
  pot::fuzz::Check(key.public_raw.size() == 32, "an Ed25519 public key is 32 bytes");
  std::string signature;
  pot::fuzz::Check(pot::Sign(key, "message", &signature).ok(), "an accepted key signs");
  pot::fuzz::Check(pot::VerifySignature(key.public_raw, "message", signature).ok(), "its public key verifies it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto env = pot::NewMemEnv();
  pot::fuzz::WriteFile(env.get(), "in", pot::fuzz::Bytes(data + 1, size - 1));
  switch (data[0]) {
    case 'c': ChallengeKey(env.get()); break;
    case 'p': PublicKey(env.get()); break;
    default: SigningKey(env.get()); break;
  }
  return 0;
}
