#include "client/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"
#include "client/cli_util.h"

namespace cohortlink::client {

ProgressBar::ProgressBar(std::string label, uint64_t total_bytes)
    : label_(std::move(label)),
      total_(total_bytes),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t items, uint64_t bytes) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  Draw(items, bytes);
}

void ProgressBar::Draw(uint64_t items, uint64_t bytes) {
  double secs = std::chrono::duration<double>(last_ - start_).count();
  double rate = secs > 0 ? items / secs : 0;
  std::string bar;
  if (total_ > 0) {
    double frac = std::min(1.0, static_cast<double>(bytes) / total_);
    int width = 30, done = static_cast<int>(frac * width);
    bar = absl::StrFormat("[%s%s] %3d%% ", std::string(done, '='),
                          std::string(width - done, ' '),
                          static_cast<int>(frac * 100));
  }
  std::fprintf(stderr, "\r%s %s%s records  %s/s\x1b[K", label_.c_str(),
               bar.c_str(), WithThousands(items).c_str(),
               WithThousands(static_cast<uint64_t>(rate)).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace cohortlink::client
