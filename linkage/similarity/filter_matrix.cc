#include "linkage/similarity/filter_matrix.h"

#include <cstring>

#include "linkage/similarity/kernels.h"

namespace cohortlink::similarity {

void AlignedWords::Resize(size_t n) {
  if (n > capacity_) {
    size_t cap = capacity_ == 0 ? 1024 : capacity_;
    while (cap < n) cap *= 2;
    auto* p = static_cast<uint64_t*>(
        ::operator new[](cap * sizeof(uint64_t), std::align_val_t(64)));
    if (size_ > 0) std::memcpy(p, data_.get(), size_ * sizeof(uint64_t));
    data_.reset(p);
    capacity_ = cap;
  }
  if (n > size_)
    std::memset(data_.get() + size_, 0, (n - size_) * sizeof(uint64_t));
  size_ = n;
}

FilterMatrix::FilterMatrix(size_t bits, std::vector<SegmentWords> segments)
    : words_(bits / 64),
      stride_((bits / 64 + 7) / 8 * 8),
      nseg_(segments.size()),
      segments_(std::move(segments)) {}

void FilterMatrix::Reserve(size_t n) {
  if (n * stride_ > data_.size()) {
    size_t keep = count_ * stride_;
    data_.Resize(n * stride_);
    data_.Resize(keep);
  }
  counts_.reserve(n * (nseg_ + 1));
}

void FilterMatrix::Truncate(size_t n) {
  if (n >= count_) return;
  count_ = n;
  data_.Resize(n * stride_);
  counts_.resize(n * (nseg_ + 1));
}

void FilterMatrix::Add(absl::string_view bytes) {
  data_.Resize((count_ + 1) * stride_);
  uint64_t* row = data_.data() + count_ * stride_;
  std::memcpy(row, bytes.data(), std::min(bytes.size(), words_ * 8));
  const KernelTable& k = BestKernels();
  counts_.push_back(k.count(row, words_));
  for (const SegmentWords& s : segments_)
    counts_.push_back(k.count(row + s.begin, s.end - s.begin));
  ++count_;
}

}  // namespace cohortlink::similarity
