// The weight manifest as pot hash --check and pot proof tensor read it (manifest::FromJson). An accepted
// manifest's roots are its entries' roots, and pot's rendering of it (ToJson) reads back to the same.
#include <string>

#include "fuzz_util.h"
#include "manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(pot::fuzz::Bytes(data, size));
  pot::manifest::Manifest m;
  const pot::Status s = pot::manifest::FromJson(text, "input", &m);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
    return 0;
  }
  pot::fuzz::Check(!m.shards.empty(), "a manifest has a shard");
  pot::manifest::Manifest recomputed = m;
  pot::manifest::ComputeRoots(&recomputed);
  pot::fuzz::Check(recomputed.root == m.root && recomputed.weights_root == m.weights_root, "roots match the entries");
  const std::string written = pot::manifest::ToJson(m);
  pot::manifest::Manifest again;
  pot::fuzz::Check(pot::manifest::FromJson(written, "rewritten", &again).ok(), "pot's rendering of a manifest parses");
  pot::fuzz::Check(pot::manifest::ToJson(again) == written, "an accepted manifest round-trips through ToJson");
  return 0;
}
