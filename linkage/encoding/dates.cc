#include "linkage/encoding/dates.h"

#include <array>
#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cohortlink::encoding {
namespace {

constexpr std::array<const char*, 12> kMonthAbbr = {"jan", "feb", "mar", "apr",
                                                    "may", "jun", "jul", "aug",
                                                    "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kMonthFull = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

struct Fields {
  int year = 1900;
  int month = 1;
  int day = 1;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Candidate (length, value) matches of one directive at `text[pos]`, in the
// order Python's regular expression alternation would try them.
std::vector<std::pair<size_t, int>> Candidates(char directive,
                                               absl::string_view text,
                                               size_t pos) {
  std::vector<std::pair<size_t, int>> out;
  auto digits = [&](size_t n) -> int {
    if (pos + n > text.size()) return -1;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!IsDigit(text[pos + i])) return -1;
      v = v * 10 + (text[pos + i] - '0');
    }
    return v;
  };
  switch (directive) {
    case 'Y': {
      int v = digits(4);
      if (v >= 0) out.push_back({4, v});
      break;
    }
    case 'y': {
      int v = digits(2);
      if (v >= 0) out.push_back({2, v < 69 ? 2000 + v : 1900 + v});
      break;
    }
    case 'm': {  // 1[0-2]|0[1-9]|[1-9]
      int two = digits(2);
      if (two >= 10 && two <= 12) out.push_back({2, two});
      if (two >= 1 && two <= 9 && text[pos] == '0') out.push_back({2, two});
      int one = digits(1);
      if (one >= 1 && one <= 9) out.push_back({1, one});
      break;
    }
    case 'd': {  // 3[01]|[12]\d|0[1-9]|[1-9]| [1-9]
      int two = digits(2);
      if (two >= 10 && two <= 31) out.push_back({2, two});
      if (two >= 1 && two <= 9 && text[pos] == '0') out.push_back({2, two});
      int one = digits(1);
      if (one >= 1 && one <= 9) out.push_back({1, one});
      if (pos + 1 < text.size() && text[pos] == ' ' && text[pos + 1] >= '1' &&
          text[pos + 1] <= '9') {
        out.push_back({2, text[pos + 1] - '0'});
      }
      break;
    }
    case 'b':
    case 'B': {
      const auto& names = directive == 'b' ? kMonthAbbr : kMonthFull;
      for (int m = 0; m < 12; ++m) {
        absl::string_view name = names[m];
        if (pos + name.size() <= text.size() &&
            absl::EqualsIgnoreCase(text.substr(pos, name.size()), name)) {
          out.push_back({name.size(), m + 1});
        }
      }
      break;
    }
    default:
      break;
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Backtracking matcher over the format, mirroring Python's regex.
bool Match(absl::string_view fmt, size_t fi, absl::string_view text, size_t ti,
           Fields* f) {
  if (fi == fmt.size()) return ti == text.size();
  char c = fmt[fi];
  if (IsSpace(c)) {
    size_t fj = fi;
    while (fj < fmt.size() && IsSpace(fmt[fj])) ++fj;
    size_t tj = ti;
    while (tj < text.size() && IsSpace(text[tj])) ++tj;
    if (tj == ti) return false;  // \s+ needs at least one
    // \s+ is greedy; try longest first.
    for (size_t end = tj; end > ti; --end) {
      if (Match(fmt, fj, text, end, f)) return true;
    }
    return false;
  }
  if (c == '%' && fi + 1 < fmt.size()) {
    char d = fmt[fi + 1];
    if (d == '%') {
      return ti < text.size() && text[ti] == '%' &&
             Match(fmt, fi + 2, text, ti + 1, f);
    }
    for (auto [len, value] : Candidates(d, text, ti)) {
      Fields saved = *f;
      if (d == 'Y' || d == 'y') f->year = value;
      if (d == 'm' || d == 'b' || d == 'B') f->month = value;
      if (d == 'd') f->day = value;
      if (Match(fmt, fi + 2, text, ti + len, f)) return true;
      *f = saved;
    }
    return false;
  }
  // Literal, matched case-insensitively as Python compiles with IGNORECASE.
  return ti < text.size() &&
         absl::ascii_tolower(static_cast<unsigned char>(text[ti])) ==
             absl::ascii_tolower(static_cast<unsigned char>(c)) &&
         Match(fmt, fi + 1, text, ti + 1, f);
}

}  // namespace

bool IsValidDate(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  int dim = kDays[month - 1];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && leap) dim = 29;
  return day <= dim;
}

absl::Status ValidateDateFormat(absl::string_view format) {
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (i + 1 == format.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("date format '", format, "' ends with a lone '%'"));
    }
    char d = format[++i];
    if (absl::string_view("YymdbB%").find(d) == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "date format '", format, "' uses unsupported directive %",
          std::string(1, d), " (supported: %Y %y %m %d %b %B %%)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Date> ParseDate(absl::string_view text,
                               absl::string_view format) {
  Fields f;
  if (!Match(format, 0, text, 0, &f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' does not match date format '", format, "'"));
  }
  if (!IsValidDate(f.year, f.month, f.day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a valid calendar date"));
  }
  return Date{f.year, f.month, f.day};
}

std::string FormatClkhashDate(const Date& d) {
  return absl::StrFormat("%d%02d%02d", d.year, d.month, d.day);
}

std::string FormatIsoDate(const Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year, d.month, d.day);
}

std::string FormatCompactDate(const Date& d) {
  return absl::StrFormat("%04d%02d%02d", d.year, d.month, d.day);
}

int64_t DaysFromCivil(const Date& d) {
  // Howard Hinnant's days_from_civil.
  int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (d.month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date CivilFromDays(int64_t z) {
  // Howard Hinnant's civil_from_days.
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Date{static_cast<int>(y + (m <= 2)), m, d};
}

int AgeInYears(const Date& birth, const Date& at) {
  int age = at.year - birth.year;
  if (at.month < birth.month ||
      (at.month == birth.month && at.day < birth.day)) {
    --age;
  }
  return age;
}

}  // namespace cohortlink::encoding
