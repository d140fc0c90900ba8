#include "keys/merkle.h"

#include "absl/strings/str_cat.h"
#include "keys/mac.h"

namespace cohortlink::keys {
namespace {

// The largest power of two smaller than n (n >= 2).
size_t SplitPoint(size_t n) {
  size_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

void Path(size_t m, absl::Span<const std::string> d,
          std::vector<std::string>* out) {
  if (d.size() <= 1) return;
  size_t k = SplitPoint(d.size());
  if (m < k) {
    Path(m, d.subspan(0, k), out);
    out->push_back(MerkleRoot(d.subspan(k)));
  } else {
    Path(m - k, d.subspan(k), out);
    out->push_back(MerkleRoot(d.subspan(0, k)));
  }
}

void Subproof(size_t m, absl::Span<const std::string> d, bool complete,
              std::vector<std::string>* out) {
  const size_t n = d.size();
  if (m == n) {
    if (!complete) out->push_back(MerkleRoot(d));
    return;
  }
  size_t k = SplitPoint(n);
  if (m <= k) {
    Subproof(m, d.subspan(0, k), complete, out);
    out->push_back(MerkleRoot(d.subspan(k)));
  } else {
    Subproof(m - k, d.subspan(k), false, out);
    out->push_back(MerkleRoot(d.subspan(0, k)));
  }
}

}  // namespace

std::string MerkleLeafHash(absl::string_view data) {
  return Sha256::Digest(absl::StrCat(std::string(1, '\0'), data));
}

std::string MerkleNodeHash(absl::string_view left, absl::string_view right) {
  return Sha256::Digest(absl::StrCat("\x01", left, right));
}

std::string MerkleRoot(absl::Span<const std::string> d) {
  if (d.empty()) return Sha256::Digest("");
  if (d.size() == 1) return d[0];
  size_t k = SplitPoint(d.size());
  return MerkleNodeHash(MerkleRoot(d.subspan(0, k)), MerkleRoot(d.subspan(k)));
}

std::vector<std::string> MerkleInclusionProof(
    size_t index, absl::Span<const std::string> leaves) {
  std::vector<std::string> out;
  Path(index, leaves, &out);
  return out;
}

std::vector<std::string> MerkleConsistencyProof(
    size_t m, absl::Span<const std::string> leaves) {
  std::vector<std::string> out;
  Subproof(m, leaves, true, &out);
  return out;
}

bool VerifyMerkleInclusion(size_t index, size_t size,
                           absl::string_view leaf_hash,
                           absl::Span<const std::string> proof,
                           absl::string_view root) {
  if (index >= size) return false;
  size_t fn = index, sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = MerkleNodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyMerkleConsistency(size_t first, size_t second,
                             absl::Span<const std::string> proof,
                             absl::string_view first_root,
                             absl::string_view second_root) {
  if (first == 0 || first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  std::vector<std::string> path(proof.begin(), proof.end());
  if ((first & (first - 1)) == 0)
    path.insert(path.begin(), std::string(first_root));
  if (path.empty()) return false;
  size_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

std::string MerkleLog::Root(size_t size) const {
  return MerkleRoot(absl::MakeConstSpan(leaves_).subspan(0, size));
}

std::vector<std::string> MerkleLog::InclusionProof(size_t index,
                                                   size_t size) const {
  return MerkleInclusionProof(index,
                              absl::MakeConstSpan(leaves_).subspan(0, size));
}

std::vector<std::string> MerkleLog::ConsistencyProof(size_t first,
                                                     size_t second) const {
  return MerkleConsistencyProof(
      first, absl::MakeConstSpan(leaves_).subspan(0, second));
}

}  // namespace cohortlink::keys
