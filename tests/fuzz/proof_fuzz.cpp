// The tensor inclusion proof as pot proof verify reads and checks it: ProofFromJson, then the RFC 6962
// inclusion check over the recomputed leaf. An accepted proof reads back unchanged from pot's rendering.
#include <string>

#include "fuzz_util.h"
#include "manifest/manifest.h"
#include "merkle/merkle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(pot::fuzz::Bytes(data, size));
  pot::manifest::TensorProof p;
  const pot::Status s = pot::manifest::ProofFromJson(text, "input", &p);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
    return 0;
  }
  const std::string leaf = pot::merkle::LeafHash(pot::manifest::TensorLeafData(p.tensor));
  const bool valid = pot::merkle::VerifyInclusion(p.leaf_index, p.tree_size, leaf, p.path, p.root).ok();
  const std::string written = pot::manifest::ProofToJson(p);
  pot::manifest::TensorProof again;
  pot::fuzz::Check(pot::manifest::ProofFromJson(written, "rewritten", &again).ok(), "pot's rendering of a proof parses");
  pot::fuzz::Check(pot::manifest::ProofToJson(again) == written, "an accepted proof round-trips");
  pot::fuzz::Check(pot::merkle::VerifyInclusion(again.leaf_index, again.tree_size, leaf, again.path, again.root).ok() == valid,
                   "the rendering verifies exactly when the input did");
  return 0;
}
