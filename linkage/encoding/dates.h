#ifndef COHORTLINK_LINKAGE_ENCODING_DATES_H_
#define COHORTLINK_LINKAGE_ENCODING_DATES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  bool operator==(const Date&) const = default;
};

bool IsValidDate(int year, int month, int day);

// Checks that `format` only uses the directives ParseDate understands:
// %Y %y %m %d %b %B %% and literal text (whitespace matches any run of
// whitespace). INVALID_ARGUMENT names the offending directive.
absl::Status ValidateDateFormat(absl::string_view format);

// Parses `text` as Python's datetime.strptime(text, format) does for the
// supported directives: %Y is exactly four digits, %m and %d accept one or
// two digits (and %d a leading space), %y maps 69-99 to 19xx and 00-68 to
// 20xx, month names match case-insensitively, and the whole text must be
// consumed. Rejects impossible dates (30 February, year 0).
absl::StatusOr<Date> ParseDate(absl::string_view text,
                               absl::string_view format);

// "%Y%m%d" as CPython's strftime prints it on Linux: the year is not
// zero-padded (year 123 gives "1230112"), which is what clkhash hashes.
std::string FormatClkhashDate(const Date& d);
// "YYYY-MM-DD" (ISO 8601, four-digit year).
std::string FormatIsoDate(const Date& d);
// "YYYYMMDD" (four-digit year).
std::string FormatCompactDate(const Date& d);

// Days since 1970-01-01 (proleptic Gregorian), and back.
int64_t DaysFromCivil(const Date& d);
Date CivilFromDays(int64_t days);
// Completed years of age on `at` for someone born on `birth`.
int AgeInYears(const Date& birth, const Date& at);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_DATES_H_
