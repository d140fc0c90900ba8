#include "linkage/encoding/hardening.h"

#include <cmath>

#include "linkage/encoding/bloom.h"
#include "util/status_macros.h"

namespace cohortlink::encoding {

std::string Rule90(const std::string& filter) {
  const size_t l = filter.size() * 8;
  std::string out(filter.size(), '\0');
  auto in = reinterpret_cast<const uint8_t*>(filter.data());
  auto o = reinterpret_cast<uint8_t*>(out.data());
  for (size_t i = 0; i < l; ++i) {
    bool left = GetBit(in, (i + l - 1) % l);
    bool right = GetBit(in, (i + 1) % l);
    if (left != right) SetBit(o, i);
  }
  return out;
}

double BlipFlipProbability(double epsilon) {
  return 1.0 / (1.0 + std::exp(epsilon));
}

absl::Status Blip(double epsilon, keys::KeyStream* stream, uint64_t record,
                  uint32_t filter_index, std::string* filter) {
  const size_t l = filter->size() * 8;
  // One uniform 32-bit draw per bit; flip when below p * 2^32.
  const double p = BlipFlipProbability(epsilon);
  const uint64_t threshold = static_cast<uint64_t>(p * 4294967296.0);
  std::string rnd(l * 4, '\0');
  RETURN_IF_ERROR(stream->Fill(record, filter_index,
                               reinterpret_cast<uint8_t*>(rnd.data()),
                               rnd.size()));
  auto f = reinterpret_cast<uint8_t*>(filter->data());
  for (size_t i = 0; i < l; ++i) {
    uint32_t u =
        static_cast<uint8_t>(rnd[4 * i]) |
        static_cast<uint32_t>(static_cast<uint8_t>(rnd[4 * i + 1])) << 8 |
        static_cast<uint32_t>(static_cast<uint8_t>(rnd[4 * i + 2])) << 16 |
        static_cast<uint32_t>(static_cast<uint8_t>(rnd[4 * i + 3])) << 24;
    if (u < threshold) f[i >> 3] ^= static_cast<uint8_t>(0x80u >> (i & 7));
  }
  return absl::OkStatus();
}

absl::StatusOr<Balancer> Balancer::Create(keys::KeyStream* stream,
                                          uint32_t filter_index, size_t bits) {
  const size_t n = 2 * bits;
  std::vector<uint32_t> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
  std::string rnd(n * 8, '\0');
  RETURN_IF_ERROR(stream->Fill(
      0, filter_index, reinterpret_cast<uint8_t*>(rnd.data()), rnd.size()));
  for (size_t i = n - 1; i > 0; --i) {
    uint64_t r = 0;
    for (int b = 0; b < 8; ++b) {
      r |= static_cast<uint64_t>(static_cast<uint8_t>(rnd[8 * i + b]))
           << (8 * b);
    }
    // Modulo bias is below 2^-40 for filters under 2^24 bits.
    size_t j = r % (i + 1);
    std::swap(perm[i], perm[j]);
  }
  return Balancer(std::move(perm));
}

std::string Balancer::Apply(const std::string& filter) const {
  const size_t l = filter.size() * 8;
  std::string out(filter.size() * 2, '\0');
  auto in = reinterpret_cast<const uint8_t*>(filter.data());
  auto o = reinterpret_cast<uint8_t*>(out.data());
  for (size_t j = 0; j < perm_.size(); ++j) {
    uint32_t src = perm_[j];
    bool bit = src < l ? GetBit(in, src) : !GetBit(in, src - l);
    if (bit) SetBit(o, j);
  }
  return out;
}

}  // namespace cohortlink::encoding
