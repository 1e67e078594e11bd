#include "merkle/merkle.h"

#include "crypto/sha256.h"

namespace pot::merkle {
namespace {

constexpr size_t kHashSize = 32;

std::string Str(const Digest& d) { return std::string(reinterpret_cast<const char*>(d.data()), d.size()); }

uint64_t LargestPowerOfTwoBelow(uint64_t n) {  // n >= 2
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

using Leaves = std::vector<std::string>;

std::string RootOf(const Leaves& leaves, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return Str(Sha256Of(""));
  if (n == 1) return leaves[begin];
  const size_t k = LargestPowerOfTwoBelow(n);
  return NodeHash(RootOf(leaves, begin, begin + k), RootOf(leaves, begin + k, end));
}

// RFC 6962 2.1.1: PATH(m, D[n]).
void Path(const Leaves& leaves, size_t begin, size_t end, uint64_t m, std::vector<std::string>* out) {
  const size_t n = end - begin;
  if (n <= 1) return;
  const size_t k = LargestPowerOfTwoBelow(n);
  if (m < k) {
    Path(leaves, begin, begin + k, m, out);
    out->push_back(RootOf(leaves, begin + k, end));
  } else {
    Path(leaves, begin + k, end, m - k, out);
    out->push_back(RootOf(leaves, begin, begin + k));
  }
}

// RFC 6962 2.1.2: SUBPROOF(m, D[n], b).
void Subproof(const Leaves& leaves, size_t begin, size_t end, uint64_t m, bool complete, std::vector<std::string>* out) {
  const size_t n = end - begin;
  if (m == n) {
    if (!complete) out->push_back(RootOf(leaves, begin, end));
    return;
  }
  const size_t k = LargestPowerOfTwoBelow(n);
  if (m <= k) {
    Subproof(leaves, begin, begin + k, m, complete, out);
    out->push_back(RootOf(leaves, begin + k, end));
  } else {
    Subproof(leaves, begin + k, end, m - k, false, out);
    out->push_back(RootOf(leaves, begin, begin + k));
  }
}

Status Fail(const std::string& why) { return Status::Corruption("Merkle proof rejected: " + why); }

Status CheckProofHashes(const std::vector<std::string>& proof) {
  for (const auto& p : proof) {
    if (p.size() != kHashSize) return Fail("a proof hash is not 32 bytes");
  }
  return Status::OK();
}

}  // namespace

std::string LeafHash(std::string_view data) {
  Sha256 h;
  const uint8_t prefix = 0x00;
  h.Update(&prefix, 1);
  h.Update(data);
  return Str(h.Final());
}

std::string NodeHash(std::string_view left, std::string_view right) {
  Sha256 h;
  const uint8_t prefix = 0x01;
  h.Update(&prefix, 1);
  h.Update(left);
  h.Update(right);
  return Str(h.Final());
}

std::string Root(const Leaves& leaf_hashes) { return RootOf(leaf_hashes, 0, leaf_hashes.size()); }

std::vector<std::string> InclusionProof(const Leaves& leaf_hashes, uint64_t index) {
  std::vector<std::string> out;
  if (index < leaf_hashes.size()) Path(leaf_hashes, 0, leaf_hashes.size(), index, &out);
  return out;
}

std::vector<std::string> ConsistencyProof(const Leaves& leaf_hashes, uint64_t old_size) {
  std::vector<std::string> out;
  if (old_size > 0 && old_size < leaf_hashes.size()) Subproof(leaf_hashes, 0, leaf_hashes.size(), old_size, true, &out);
  return out;
}

// RFC 9162 2.1.3.2.
Status VerifyInclusion(uint64_t index, uint64_t tree_size, std::string_view leaf_hash,
                       const std::vector<std::string>& proof, std::string_view root) {
  if (index >= tree_size) return Fail("leaf index " + std::to_string(index) + " outside a tree of size " + std::to_string(tree_size));
  if (leaf_hash.size() != kHashSize) return Fail("the leaf hash is not 32 bytes");
  POT_RETURN_IF_ERROR(CheckProofHashes(proof));
  uint64_t fn = index, sn = tree_size - 1;
  std::string r(leaf_hash);
  for (const auto& p : proof) {
    if (sn == 0) return Fail("the proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail("the proof is shorter than the tree is deep");
  if (r != root) return Fail("the computed root differs from the expected root");
  return Status::OK();
}

// RFC 9162 2.1.4.2.
Status VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<std::string>& proof,
                         std::string_view root1, std::string_view root2) {
  if (size1 > size2) return Fail("the old tree is larger than the new one");
  if (size1 == 0) return Fail("a consistency proof from the empty tree proves nothing");
  if (size1 == size2) {
    if (!proof.empty()) return Fail("trees of equal size need an empty proof");
    if (root1 != root2) return Fail("trees of equal size have different roots");
    return Status::OK();
  }
  if (proof.empty()) return Fail("empty proof between different sizes");
  POT_RETURN_IF_ERROR(CheckProofHashes(proof));
  std::vector<std::string> path = proof;
  if ((size1 & (size1 - 1)) == 0) path.insert(path.begin(), std::string(root1));
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return Fail("the proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail("the proof is too short");
  if (fr != root1) return Fail("the old root does not match");
  if (sr != root2) return Fail("the new root does not match");
  return Status::OK();
}

}  // namespace pot::merkle
