#include "keys/audit_state.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/text.h"

namespace cohortlink::keys {
namespace {

constexpr absl::string_view kMagic = "cohortlink-audit-state-v1";

}  // namespace

absl::StatusOr<AuditState> ParseAuditState(absl::string_view text,
                                           absl::string_view source) {
  auto fail = [&](size_t line, absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat(source, ":", line, ": ", what,
                     " (not an audit state file, or a damaged one)"));
  };
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty()) return fail(1, "empty");
  std::vector<absl::string_view> f = absl::StrSplit(lines[0], ' ');
  AuditState st;
  if (f.size() != 5 || f[0] != kMagic ||
      !absl::SimpleAtoi(f[1], &st.tree_size) ||
      !absl::SimpleAtoi(f[2], &st.timestamp_ms)) {
    return fail(1, absl::StrCat("expected '", kMagic,
                                " <size> <timestamp_ms> <root> <signature>'"));
  }
  // The count is checked against the lines before anything is allocated
  // for it.
  if (st.tree_size != lines.size() - 1) {
    return fail(lines.size(),
                absl::StrCat("the header says ", st.tree_size, " entries; ",
                             lines.size() - 1, " follow"));
  }
  auto hash = [&](absl::string_view hex, size_t bytes, size_t line,
                  std::string* out) -> absl::Status {
    auto b = util::HexDecode(hex);
    if (!b.ok() || b->size() != bytes) {
      return fail(line, absl::StrCat("expected ", bytes, " bytes in hex"));
    }
    *out = *std::move(b);
    return absl::OkStatus();
  };
  if (auto s = hash(f[3], 32, 1, &st.root_hash); !s.ok()) return s;
  if (auto s = hash(f[4], 64, 1, &st.signature); !s.ok()) return s;
  st.leaves.resize(st.tree_size);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (auto s = hash(lines[i], 32, i + 1, &st.leaves[i - 1]); !s.ok())
      return s;
  }
  return st;
}

std::string FormatAuditState(const AuditState& st) {
  std::string text = absl::StrCat(
      kMagic, " ", st.tree_size, " ", st.timestamp_ms, " ",
      util::HexEncode(st.root_hash), " ", util::HexEncode(st.signature), "\n");
  for (const auto& l : st.leaves)
    absl::StrAppend(&text, util::HexEncode(l), "\n");
  return text;
}

}  // namespace cohortlink::keys
