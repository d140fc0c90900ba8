#include "client/chart.h"

#include "gtest/gtest.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink::client {
namespace {

TEST(ChartTest, PngHasTheStandardStructure) {
  std::string rgb(3 * 4 * 2, '\x7f');
  std::string png = EncodePng(4, 2, rgb);
  ASSERT_GE(png.size(), 8u + 25 + 12);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(png.substr(16, 8), std::string("\0\0\0\x04\0\0\0\x02", 8));
  // IEND with its fixed CRC ends every PNG.
  EXPECT_EQ(png.substr(png.size() - 12),
            std::string("\0\0\0\0IEND\xae\x42\x60\x82", 12));
  // IHDR's CRC as zlib.crc32 computes it for this header.
  EXPECT_EQ(png.substr(29, 4), std::string("\xf0\xca\xea\x34", 4));
}

TEST(ChartTest, WritesSvgOrPngByExtension) {
  util::TempDir tmp("chart_test");
  Chart c;
  c.title = "Rates <&>";
  c.percent = true;
  c.series = {"outcome"};
  c.bars = {
      {"all", 0, 0, true}, {"outcome", 0.42}, {"hidden", 0, 0, false, true}};
  ASSERT_TRUE(WriteChart(c, tmp.File("c.svg")).ok());
  auto svg = util::ReadFile(tmp.File("c.svg"));
  ASSERT_TRUE(svg.ok());
  EXPECT_NE(svg->find("Rates &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg->find("42.0%"), std::string::npos);
  EXPECT_NE(svg->find("suppressed"), std::string::npos);
  ASSERT_TRUE(WriteChart(c, tmp.File("c.PNG")).ok());
  auto png = util::ReadFile(tmp.File("c.PNG"));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png->substr(1, 3), "PNG");
  auto bad = WriteChart(c, tmp.File("c.gif"));
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("must end in .svg or .png"), std::string::npos);
}

}  // namespace
}  // namespace cohortlink::client
