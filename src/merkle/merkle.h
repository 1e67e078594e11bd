// merkle: RFC 6962 / RFC 9162 Merkle tree hashes with inclusion and consistency proofs (SHA-256).
//   leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right),
//   the root of n leaves splits at the largest power of two below n; the empty tree's root is SHA-256("").
// Hashes are raw byte strings (32 bytes when well-formed); verifiers reject malformed input rather than
// trusting it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace pot::merkle {

std::string LeafHash(std::string_view data);
std::string NodeHash(std::string_view left, std::string_view right);

// The Merkle tree hash over leaf hashes (already hashed with LeafHash).
std::string Root(const std::vector<std::string>& leaf_hashes);

// The audit path for leaf `index`, and the proof that the first `old_size` leaves are a prefix.
std::vector<std::string> InclusionProof(const std::vector<std::string>& leaf_hashes, uint64_t index);
std::vector<std::string> ConsistencyProof(const std::vector<std::string>& leaf_hashes, uint64_t old_size);

// OK when proof shows leaf_hash at index in the tree of tree_size leaves with this root.
Status VerifyInclusion(uint64_t index, uint64_t tree_size, std::string_view leaf_hash,
                       const std::vector<std::string>& proof, std::string_view root);
// OK when the tree (size1, root1) is a prefix of (size2, root2). A proof from the empty tree proves
// nothing and is rejected.
Status VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<std::string>& proof,
                         std::string_view root1, std::string_view root2);

}  // namespace pot::merkle
