#include "client/chart.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::client {
namespace {

constexpr const char* kColours[] = {"#4c78a8", "#f58518", "#54a24b", "#e45756",
                                    "#72b7b2"};
constexpr std::array<uint8_t, 3> kRgb[] = {{0x4c, 0x78, 0xa8},
                                           {0xf5, 0x85, 0x18},
                                           {0x54, 0xa2, 0x4b},
                                           {0xe4, 0x57, 0x56},
                                           {0x72, 0xb7, 0xb2}};

// Layout shared by both renderers.
struct Layout {
  double lo = 0, hi = 1;
  int label_w = 0, plot_w = 480, row_h = 18, top = 0, width = 0, height = 0;
  double X(double v) const { return label_w + (v - lo) / (hi - lo) * plot_w; }
};

Layout Lay(const Chart& c, int char_w) {
  Layout l;
  size_t longest = 0;
  for (const auto& b : c.bars) longest = std::max(longest, b.label.size());
  l.label_w = static_cast<int>(std::min<size_t>(longest, 40)) * char_w + 30;
  if (c.percent) {
    l.lo = 0;
    l.hi = 1;
  } else {
    for (const auto& b : c.bars) {
      if (b.heading || b.missing) continue;
      l.lo = std::min(l.lo, b.value);
      l.hi = std::max(l.hi, b.value);
    }
    l.lo = std::floor(l.lo) - 1;
    l.hi = std::ceil(l.hi) + 1;
  }
  l.top = c.series.empty() ? 40 : 60;
  l.width = l.label_w + l.plot_w + 90;
  l.height = l.top + static_cast<int>(c.bars.size()) * l.row_h + 40;
  return l;
}

std::string ValueText(const Chart& c, double v) {
  return c.percent ? absl::StrFormat("%.1f%%", 100 * v)
                   : absl::StrFormat("%.2f", v);
}

}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

namespace {

std::string Svg(const Chart& c) {
  Layout l = Lay(c, 7);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
      "<text x=\"10\" y=\"22\" font-size=\"14\">%s</text>\n",
      l.width, l.height, XmlEscape(c.title));
  for (size_t s = 0; s < c.series.size(); ++s) {
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%d\" y=\"34\" width=\"10\" height=\"10\" "
                          "fill=\"%s\"/><text x=\"%d\" y=\"43\">%s</text>\n",
                          10 + s * 200, kColours[s % 5], 24 + s * 200,
                          XmlEscape(c.series[s]));
  }
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const ChartBar& b = c.bars[i];
    int y = l.top + static_cast<int>(i) * l.row_h;
    if (b.heading) {
      absl::StrAppendFormat(
          &svg, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n",
          y + 13, XmlEscape(b.label));
      continue;
    }
    absl::StrAppendFormat(&svg, "<text x=\"24\" y=\"%d\">%s</text>\n", y + 13,
                          XmlEscape(b.label));
    if (b.missing) {
      absl::StrAppendFormat(
          &svg, "<text x=\"%.1f\" y=\"%d\" fill=\"#888\">suppressed</text>\n",
          l.X(0) + 4, y + 13);
      continue;
    }
    double x0 = l.X(std::min(0.0, b.value)), x1 = l.X(std::max(0.0, b.value));
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
        "fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%d\" fill=\"#333\">%s</text>\n",
        x0, y + 3, std::max(1.0, x1 - x0), l.row_h - 6, kColours[b.series % 5],
        x1 + 4, y + 13, ValueText(c, b.value));
  }
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                        "stroke=\"#000\"/>\n</svg>\n",
                        l.X(0), l.top, l.X(0), l.height - 30);
  return svg;
}

// A 5x7 pixel font for the characters charts use ('#' = ink). Capitals
// are drawn as small letters; anything else as '?'.
const absl::flat_hash_map<char, std::array<const char*, 7>>& Font() {
  static const auto* kFont = new absl::flat_hash_map<
      char, std::array<const char*, 7>>{
      {' ', {".....", ".....", ".....", ".....", ".....", ".....", "....."}},
      {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
      {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
      {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
      {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
      {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
      {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
      {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
      {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
      {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
      {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
      {'a', {".....", ".....", ".###.", "....#", ".####", "#...#", ".####"}},
      {'b', {"#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."}},
      {'c', {".....", ".....", ".###.", "#....", "#....", "#...#", ".###."}},
      {'d', {"....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"}},
      {'e', {".....", ".....", ".###.", "#...#", "#####", "#....", ".###."}},
      {'f', {"..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."}},
      {'g', {".....", ".####", "#...#", "#...#", ".####", "....#", ".###."}},
      {'h', {"#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"}},
      {'i', {"..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."}},
      {'j', {"...#.", ".....", "..##.", "...#.", "...#.", "#..#.", ".##.."}},
      {'k', {"#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."}},
      {'l', {".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
      {'m', {".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"}},
      {'n', {".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"}},
      {'o', {".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."}},
      {'p', {".....", ".....", "####.", "#...#", "####.", "#....", "#...."}},
      {'q', {".....", ".....", ".##.#", "#..##", ".####", "....#", "....#"}},
      {'r', {".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."}},
      {'s', {".....", ".....", ".###.", "#....", ".###.", "....#", "####."}},
      {'t', {".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##."}},
      {'u', {".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"}},
      {'v', {".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
      {'w', {".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."}},
      {'x', {".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"}},
      {'y', {".....", ".....", "#...#", "#...#", ".####", "....#", ".###."}},
      {'z', {".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"}},
      {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
      {',', {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."}},
      {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
      {'%', {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"}},
      {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
      {'+', {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."}},
      {'_', {".....", ".....", ".....", ".....", ".....", ".....", "#####"}},
      {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
      {'>', {".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."}},
      {'<', {"...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."}},
      {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
      {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
      {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
      {'[', {".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."}},
      {']', {".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."}},
      {'?', {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}},
  };
  return *kFont;
}

class Canvas {
 public:
  Canvas(int w, int h)
      : w_(w), h_(h), rgb_(static_cast<size_t>(w) * h * 3, '\xff') {}
  void Fill(int x, int y, int w, int h, std::array<uint8_t, 3> c) {
    for (int j = std::max(0, y); j < std::min(h_, y + h); ++j)
      for (int i = std::max(0, x); i < std::min(w_, x + w); ++i)
        for (int k = 0; k < 3; ++k)
          rgb_[(static_cast<size_t>(j) * w_ + i) * 3 + k] =
              static_cast<char>(c[k]);
  }
  // Text with its top-left corner at (x, y), each font pixel 1x1; bold
  // doubles the strokes.
  void Text(int x, int y, const std::string& s, std::array<uint8_t, 3> c,
            bool bold = false) {
    const auto& font = Font();
    for (char ch : s) {
      char k = absl::ascii_tolower(static_cast<unsigned char>(ch));
      auto it = font.find(k);
      if (it == font.end()) it = font.find('?');
      for (int row = 0; row < 7; ++row)
        for (int col = 0; col < 5; ++col)
          if (it->second[row][col] == '#') {
            Fill(x + col, y + row, bold ? 2 : 1, 1, c);
          }
      x += 6;
    }
  }
  const std::string& rgb() const { return rgb_; }

 private:
  int w_, h_;
  std::string rgb_;
};

std::string Png(const Chart& c) {
  Layout l = Lay(c, 6);
  Canvas cv(l.width, l.height);
  const std::array<uint8_t, 3> ink{0x22, 0x22, 0x22}, grey{0x88, 0x88, 0x88};
  cv.Text(10, 12, c.title, ink, true);
  for (size_t s = 0; s < c.series.size(); ++s) {
    cv.Fill(10 + static_cast<int>(s) * 200, 34, 10, 10, kRgb[s % 5]);
    cv.Text(24 + static_cast<int>(s) * 200, 36, c.series[s], ink);
  }
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const ChartBar& b = c.bars[i];
    int y = l.top + static_cast<int>(i) * l.row_h;
    if (b.heading) {
      cv.Text(10, y + 6, b.label, ink, true);
      continue;
    }
    cv.Text(24, y + 6, b.label.substr(0, 40), ink);
    if (b.missing) {
      cv.Text(static_cast<int>(l.X(0)) + 4, y + 6, "suppressed", grey);
      continue;
    }
    int x0 = static_cast<int>(l.X(std::min(0.0, b.value)));
    int x1 = static_cast<int>(l.X(std::max(0.0, b.value)));
    cv.Fill(x0, y + 3, std::max(1, x1 - x0), l.row_h - 6, kRgb[b.series % 5]);
    cv.Text(x1 + 4, y + 6, ValueText(c, b.value), ink);
  }
  cv.Fill(static_cast<int>(l.X(0)), l.top, 1, l.height - 30 - l.top, ink);
  return EncodePng(l.width, l.height, cv.rgb());
}

uint32_t Crc32(const std::string& data, uint32_t crc = 0) {
  static const auto* kTable = [] {
    auto* t = new std::array<uint32_t, 256>;
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      (*t)[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char ch : data) crc = (*kTable)[(crc ^ ch) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void Be32(uint32_t v, std::string* out) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>(v >> s));
}

void Chunk(const char* type, const std::string& data, std::string* out) {
  Be32(static_cast<uint32_t>(data.size()), out);
  std::string body = std::string(type, 4) + data;
  out->append(body);
  Be32(Crc32(body), out);
}

}  // namespace

std::string ChartSvg(const Chart& chart) { return Svg(chart); }

std::string EncodePng(int width, int height, const std::string& rgb) {
  std::string raw;  // filter byte 0 before each row
  raw.reserve(rgb.size() + height);
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(rgb, static_cast<size_t>(y) * width * 3,
               static_cast<size_t>(width) * 3);
  }
  std::string z = "\x78\x01";  // zlib header, no compression
  for (size_t p = 0; p < raw.size() || p == 0; p += 65535) {
    size_t n = std::min<size_t>(65535, raw.size() - p);
    z.push_back(p + n >= raw.size() ? '\x01' : '\x00');  // final block?
    z.push_back(static_cast<char>(n & 0xff));
    z.push_back(static_cast<char>(n >> 8));
    z.push_back(static_cast<char>(~n & 0xff));
    z.push_back(static_cast<char>((~n >> 8) & 0xff));
    z.append(raw, p, n);
    if (raw.empty()) break;
  }
  uint32_t a = 1, b = 0;  // Adler-32
  for (unsigned char ch : raw) {
    a = (a + ch) % 65521;
    b = (b + a) % 65521;
  }
  Be32(b << 16 | a, &z);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  Be32(static_cast<uint32_t>(width), &ihdr);
  Be32(static_cast<uint32_t>(height), &ihdr);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  Chunk("IHDR", ihdr, &png);
  Chunk("IDAT", z, &png);
  Chunk("IEND", "", &png);
  return png;
}

absl::Status WriteChart(const Chart& chart, const std::string& path) {
  auto ends = [&](const char* ext) {
    size_t n = std::strlen(ext);
    return path.size() > n &&
           absl::AsciiStrToLower(path.substr(path.size() - n)) == ext;
  };
  std::string bytes;
  if (ends(".svg")) {
    bytes = Svg(chart);
  } else if (ends(".png")) {
    bytes = Png(chart);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--chart ", path, ": the name must end in .svg or .png"));
  }
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(path));
  RETURN_IF_ERROR(f->Write(bytes));
  return f->Commit();
}

}  // namespace cohortlink::client
