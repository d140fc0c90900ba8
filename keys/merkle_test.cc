// RFC 6962 test vectors (the Certificate Transparency reference tree: the
// eight inputs below, their tree heads for sizes 0-8, and published
// inclusion and consistency proofs), and properties on random trees.

#include "keys/merkle.h"

#include <random>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace cohortlink::keys {
namespace {

std::string Unhex(absl::string_view h) { return absl::HexStringToBytes(h); }
std::string Hex(absl::string_view b) { return absl::BytesToHexString(b); }

std::vector<std::string> Leaves() {
  std::vector<std::string> out;
  for (const char* h :
       {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f"}) {
    out.push_back(MerkleLeafHash(Unhex(h)));
  }
  return out;
}

const char* kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

TEST(MerkleTest, TreeHeadsMatchRfc6962) {
  auto leaves = Leaves();
  for (size_t n = 0; n <= 8; ++n)
    EXPECT_EQ(Hex(MerkleRoot(absl::MakeConstSpan(leaves).subspan(0, n))),
              kRoots[n])
        << n;
}

struct ProofVector {
  size_t a, b;  // inclusion: 1-based leaf, size; consistency: sizes
  std::vector<const char*> proof;
};

TEST(MerkleTest, InclusionProofsMatchRfc6962) {
  auto leaves = Leaves();
  const ProofVector kVectors[] = {
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {3,
       3,
       {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {2,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}}};
  for (const auto& v : kVectors) {
    auto d = absl::MakeConstSpan(leaves).subspan(0, v.b);
    auto proof = MerkleInclusionProof(v.a - 1, d);
    ASSERT_EQ(proof.size(), v.proof.size());
    for (size_t i = 0; i < proof.size(); ++i)
      EXPECT_EQ(Hex(proof[i]), v.proof[i]);
    EXPECT_TRUE(VerifyMerkleInclusion(v.a - 1, v.b, leaves[v.a - 1], proof,
                                      Unhex(kRoots[v.b])));
    EXPECT_FALSE(VerifyMerkleInclusion(v.a - 1, v.b, leaves[v.a - 1], proof,
                                       Unhex(kRoots[0])));
  }
}

TEST(MerkleTest, ConsistencyProofsMatchRfc6962) {
  auto leaves = Leaves();
  const ProofVector kVectors[] = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}}};
  for (const auto& v : kVectors) {
    auto proof = MerkleConsistencyProof(
        v.a, absl::MakeConstSpan(leaves).subspan(0, v.b));
    ASSERT_EQ(proof.size(), v.proof.size()) << v.a << "->" << v.b;
    for (size_t i = 0; i < proof.size(); ++i)
      EXPECT_EQ(Hex(proof[i]), v.proof[i]);
    EXPECT_TRUE(VerifyMerkleConsistency(v.a, v.b, proof, Unhex(kRoots[v.a]),
                                        Unhex(kRoots[v.b])));
  }
}

TEST(MerkleTest, EveryProofVerifiesAndTamperingFails) {
  std::mt19937_64 rng(6962);
  MerkleLog log;
  for (int i = 0; i < 70; ++i)
    log.Append(MerkleLeafHash(std::to_string(rng())));
  for (size_t n = 1; n <= log.size(); ++n) {
    const std::string root = log.Root(n);
    for (size_t i = 0; i < n; ++i) {
      auto proof = log.InclusionProof(i, n);
      ASSERT_TRUE(VerifyMerkleInclusion(i, n, log.leaf(i), proof, root));
      std::string bad = log.leaf(i);
      bad[0] ^= 1;
      EXPECT_FALSE(VerifyMerkleInclusion(i, n, bad, proof, root));
      if (n > 1) {  // the right leaf in the wrong place
        EXPECT_FALSE(
            VerifyMerkleInclusion((i + 1) % n, n, log.leaf(i), proof, root));
      }
    }
    for (size_t m = 1; m <= n; ++m) {
      auto proof = log.ConsistencyProof(m, n);
      ASSERT_TRUE(VerifyMerkleConsistency(m, n, proof, log.Root(m), root))
          << m << "->" << n;
      if (m < n) {
        std::string bad = log.Root(m);
        bad[5] ^= 1;
        EXPECT_FALSE(VerifyMerkleConsistency(m, n, proof, bad, root));
        if (proof.size() >= 2) {  // a reordered pair
          std::swap(proof[0], proof[1]);
          EXPECT_FALSE(VerifyMerkleConsistency(m, n, proof, log.Root(m), root));
        }
      }
    }
  }
}

}  // namespace
}  // namespace cohortlink::keys
