#ifndef COHORTLINK_KEYS_MERKLE_H_
#define COHORTLINK_KEYS_MERKLE_H_

// Merkle trees exactly as RFC 6962 (Certificate Transparency) section 2.1
// defines them, with the proof verification of RFC 9162 section 2.1.3-2.1.4:
// leaf hash SHA-256(0x00 || data), node hash SHA-256(0x01 || left ||
// right), the empty tree's hash SHA-256(""). Hashes are 32-byte strings.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cohortlink::keys {

std::string MerkleLeafHash(absl::string_view data);
std::string MerkleNodeHash(absl::string_view left, absl::string_view right);

// MTH(D[n]) over leaf hashes.
std::string MerkleRoot(absl::Span<const std::string> leaves);
// PATH(index, D[n]). REQUIRES: index < leaves.size().
std::vector<std::string> MerkleInclusionProof(
    size_t index, absl::Span<const std::string> leaves);
// PROOF(m, D[n]). REQUIRES: 0 < m <= leaves.size().
std::vector<std::string> MerkleConsistencyProof(
    size_t m, absl::Span<const std::string> leaves);

bool VerifyMerkleInclusion(size_t index, size_t size,
                           absl::string_view leaf_hash,
                           absl::Span<const std::string> proof,
                           absl::string_view root);
bool VerifyMerkleConsistency(size_t first, size_t second,
                             absl::Span<const std::string> proof,
                             absl::string_view first_root,
                             absl::string_view second_root);

// An append-only list of leaf hashes with its roots and proofs.
class MerkleLog {
 public:
  void Append(std::string leaf_hash) {
    leaves_.push_back(std::move(leaf_hash));
  }
  size_t size() const { return leaves_.size(); }
  const std::string& leaf(size_t i) const { return leaves_[i]; }
  // The root of the first `size` leaves.
  std::string Root(size_t size) const;
  std::vector<std::string> InclusionProof(size_t index, size_t size) const;
  std::vector<std::string> ConsistencyProof(size_t first, size_t second) const;

 private:
  std::vector<std::string> leaves_;
};

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_MERKLE_H_
