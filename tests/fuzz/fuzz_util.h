// What the fuzz targets share: the invariant check that turns a broken promise into a finding, the input as
// a file in an in-memory Env (no disk I/O per input), and a fixed signing key (RFC 8032's first test key),
// so a finding reproduces byte for byte.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "env/env.h"

namespace pot::fuzz {

// Aborts (the fuzzer reports it, with the input) when an accepted input breaks a promise of its parser.
inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "accepted input breaks invariant: %s\n", what);
    std::abort();
  }
}

inline std::string_view Bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline void WriteFile(Env* env, const std::string& path, std::string_view bytes) {
  std::unique_ptr<WritableFile> file;
  Check(env->NewWritableFile(path, &file).ok() && file->Append(bytes).ok() && file->Close().ok(), "MemEnv write");
}

inline std::string ReadFile(Env* env, const std::string& path) {
  std::string bytes;
  Check(ReadFileToString(env, path, &bytes).ok(), "MemEnv read");
  return bytes;
}

inline const SigningKey& TestSigningKey() {
  static const SigningKey key = [] {
    auto env = NewMemEnv();
    WriteFile(env.get(), "test.key",
              "-----BEGIN PRIVATE KEY-----\n"
              "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
              "-----END PRIVATE KEY-----\n");
    SigningKey k;
    Check(ReadSigningKey(env.get(), "test.key", &k).ok(), "the test key parses");
    return k;
  }();
  return key;
}

}  // namespace pot::fuzz
