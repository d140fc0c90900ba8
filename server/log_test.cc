#include "server/log.h"

#include <cmath>

#include "gtest/gtest.h"

namespace cohortlink::server {
namespace {

TEST(LogTest, LinesAreJsonWithMillisecondsAndTypedFields) {
  absl::Time t = absl::FromUnixMillis(1'750'000'000'123);
  EXPECT_EQ(FormatLogLine(t, LogLevel::kWarning, "linkage run \"x\"",
                          {{"generation", uint64_t{3}},
                           {"seconds", 1.5},
                           {"tls", true},
                           {"kind", "full relink"},
                           {"ratio", std::nan("")}}),
            "{\"time\":\"2025-06-15T15:06:40.123Z\",\"level\":\"warning\","
            "\"msg\":\"linkage run \\\"x\\\"\",\"generation\":3,"
            "\"seconds\":1.5,\"tls\":true,\"kind\":\"full relink\","
            "\"ratio\":null}");
}

TEST(LogTest, LevelsParseAndUnknownOnesAreRefused) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_FALSE(ParseLogLevel("INFO").ok());
}

}  // namespace
}  // namespace cohortlink::server
