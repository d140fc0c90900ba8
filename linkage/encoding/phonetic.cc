#include "linkage/encoding/phonetic.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "linkage/encoding/normalise.h"
#include "linkage/encoding/unicode.h"

namespace cohortlink::encoding {
namespace {

// Upper-case ASCII letters of `name` (folded when not ASCII).
std::string Letters(absl::string_view name) {
  std::string folded = IsAscii(name) ? std::string(name) : FoldText(name);
  std::string out;
  for (char c : folded) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

char SoundexCode(char c) {
  switch (c) {
    case 'B':
    case 'F':
    case 'P':
    case 'V':
      return '1';
    case 'C':
    case 'G':
    case 'J':
    case 'K':
    case 'Q':
    case 'S':
    case 'X':
    case 'Z':
      return '2';
    case 'D':
    case 'T':
      return '3';
    case 'L':
      return '4';
    case 'M':
    case 'N':
      return '5';
    case 'R':
      return '6';
    case 'H':
    case 'W':
      return '-';  // transparent
    default:
      return '0';  // vowel: separates
  }
}

bool IsVowel(char c) {
  return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

}  // namespace

std::string Soundex(absl::string_view name) {
  std::string s = Letters(name);
  if (s.empty()) return "";
  std::string out(1, s[0]);
  char last = SoundexCode(s[0]);
  for (size_t i = 1; i < s.size() && out.size() < 4; ++i) {
    char code = SoundexCode(s[i]);
    if (code == '-') continue;
    if (code != '0' && code != last) out.push_back(code);
    last = code;
  }
  out.resize(4, '0');
  return out;
}

std::string Nysiis(absl::string_view input) {
  std::string n = Letters(input);
  if (n.empty()) return "";
  auto starts = [&](absl::string_view p) { return absl::StartsWith(n, p); };
  auto ends = [&](absl::string_view p) { return absl::EndsWith(n, p); };
  if (starts("MAC")) {
    n.replace(0, 3, "MCC");
  } else if (starts("KN")) {
    n.replace(0, 2, "NN");
  } else if (starts("K")) {
    n[0] = 'C';
  } else if (starts("PH") || starts("PF")) {
    n.replace(0, 2, "FF");
  } else if (starts("SCH")) {
    n.replace(0, 3, "SSS");
  }
  if (ends("EE") || ends("IE")) {
    n.replace(n.size() - 2, 2, "Y");
  } else if (ends("DT") || ends("RT") || ends("RD") || ends("NT") ||
             ends("ND")) {
    n.replace(n.size() - 2, 2, "D");
  }
  std::string key(1, n[0]);
  for (size_t i = 1; i < n.size(); ++i) {
    absl::string_view rest = absl::string_view(n).substr(i);
    if (absl::StartsWith(rest, "EV")) {
      n.replace(i, 2, "AF");
    } else if (IsVowel(n[i])) {
      n[i] = 'A';
    } else if (n[i] == 'Q') {
      n[i] = 'G';
    } else if (n[i] == 'Z') {
      n[i] = 'S';
    } else if (n[i] == 'M') {
      n[i] = 'N';
    } else if (absl::StartsWith(rest, "KN")) {
      n[i] = 'N';
    } else if (n[i] == 'K') {
      n[i] = 'C';
    } else if (absl::StartsWith(rest, "SCH")) {
      n.replace(i, 3, "SSS");
    } else if (absl::StartsWith(rest, "PH")) {
      n.replace(i, 2, "FF");
    } else if (n[i] == 'H') {
      bool next_non_vowel = i + 1 < n.size() && !IsVowel(n[i + 1]);
      if (!IsVowel(n[i - 1]) || next_non_vowel || i + 1 == n.size()) {
        n[i] = n[i - 1];
      }
    } else if (n[i] == 'W' && IsVowel(n[i - 1])) {
      n[i] = n[i - 1];
    }
    if (n[i] != key.back()) key.push_back(n[i]);
  }
  if (key.size() > 1 && key.back() == 'S') key.pop_back();
  if (key.size() > 2 && absl::EndsWith(key, "AY")) {
    key.replace(key.size() - 2, 2, "Y");
  }
  if (key.size() > 1 && key.back() == 'A') key.pop_back();
  if (key.size() > 6) key.resize(6);
  return key;
}

}  // namespace cohortlink::encoding
