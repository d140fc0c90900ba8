#ifndef COHORTLINK_CLIENT_CHART_H_
#define COHORTLINK_CLIENT_CHART_H_

// Horizontal bar charts for `model show --chart` and `query --chart`, as
// SVG (vector, any browser) or PNG (a raster with a built-in 5x7 pixel
// font; no further dependency), chosen by the file's extension.

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace cohortlink::client {

struct ChartBar {
  std::string label;
  double value = 0;
  int series = 0;        // colour
  bool heading = false;  // a bold label row without a bar
  bool missing = false;  // drawn as the word "suppressed"
};

struct Chart {
  std::string title;
  std::vector<std::string> series;  // legend (may be empty)
  std::vector<ChartBar> bars;
  bool percent = false;  // values are shares, shown as 0-100 %
};

// `s` with <, >, & and " escaped for XML and HTML.
std::string XmlEscape(const std::string& s);

// The chart as an SVG document (also for embedding in HTML).
std::string ChartSvg(const Chart& chart);

// Writes `chart` to `path` (.svg or .png) atomically.
absl::Status WriteChart(const Chart& chart, const std::string& path);

// The PNG encoding of an RGB image (width * height * 3 bytes), with
// uncompressed (stored) deflate blocks. Exposed for tests.
std::string EncodePng(int width, int height, const std::string& rgb);

}  // namespace cohortlink::client

#endif  // COHORTLINK_CLIENT_CHART_H_
