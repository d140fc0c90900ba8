#ifndef COHORTLINK_CLIENT_PROGRESS_H_
#define COHORTLINK_CLIENT_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace cohortlink::client {

// A one-line progress bar on stderr, drawn only when stderr is a terminal
// (so logs and pipes stay clean) and at most ten times a second.
// Not thread-safe: update it from one thread.
class ProgressBar {
 public:
  // `total_bytes` 0 means unknown (then only counts are shown).
  ProgressBar(std::string label, uint64_t total_bytes);
  ~ProgressBar();
  void Update(uint64_t items, uint64_t bytes);
  // Clears the line.
  void Finish();
  bool enabled() const { return enabled_; }

 private:
  void Draw(uint64_t items, uint64_t bytes);
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace cohortlink::client

#endif  // COHORTLINK_CLIENT_PROGRESS_H_
