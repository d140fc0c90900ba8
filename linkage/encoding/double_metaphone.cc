// Double Metaphone (Lawrence Philips, "The Double Metaphone Search
// Algorithm", C/C++ Users Journal, June 2000). Rule order follows the
// original; codes are truncated to four characters.

#include <initializer_list>
#include <string>

#include "absl/strings/ascii.h"
#include "linkage/encoding/normalise.h"
#include "linkage/encoding/phonetic.h"
#include "linkage/encoding/unicode.h"

namespace cohortlink::encoding {
namespace {

class DoubleMetaphoneEncoder {
 public:
  explicit DoubleMetaphoneEncoder(std::string word) : w_(std::move(word)) {
    len_ = static_cast<int>(w_.size());
    slavo_germanic_ = w_.find('W') != std::string::npos ||
                      w_.find('K') != std::string::npos ||
                      w_.find("CZ") != std::string::npos ||
                      w_.find("WITZ") != std::string::npos;
  }

  std::pair<std::string, std::string> Run() {
    int i = 0;
    if (Is(0, 2, {"GN", "KN", "PN", "WR", "PS"})) i = 1;
    if (At(0) == 'X') {
      Add("S");
      i = 1;
    }
    while ((pri_.size() < kMax || alt_.size() < kMax) && i < len_) {
      char c = At(i);
      switch (c) {
        case 'A':
        case 'E':
        case 'I':
        case 'O':
        case 'U':
        case 'Y':
          if (i == 0) Add("A");
          ++i;
          break;
        case 'B':
          Add("P");
          i += At(i + 1) == 'B' ? 2 : 1;
          break;
        case 'C':
          i = C(i);
          break;
        case 'D':
          i = D(i);
          break;
        case 'F':
          Add("F");
          i += At(i + 1) == 'F' ? 2 : 1;
          break;
        case 'G':
          i = G(i);
          break;
        case 'H':
          i = H(i);
          break;
        case 'J':
          i = J(i);
          break;
        case 'K':
          Add("K");
          i += At(i + 1) == 'K' ? 2 : 1;
          break;
        case 'L':
          i = L(i);
          break;
        case 'M':
          Add("M");
          i += ConditionM0(i) ? 2 : 1;
          break;
        case 'N':
          Add("N");
          i += At(i + 1) == 'N' ? 2 : 1;
          break;
        case 'P':
          i = P(i);
          break;
        case 'Q':
          Add("K");
          i += At(i + 1) == 'Q' ? 2 : 1;
          break;
        case 'R':
          i = R(i);
          break;
        case 'S':
          i = S(i);
          break;
        case 'T':
          i = T(i);
          break;
        case 'V':
          Add("F");
          i += At(i + 1) == 'V' ? 2 : 1;
          break;
        case 'W':
          i = W(i);
          break;
        case 'X':
          i = X(i);
          break;
        case 'Z':
          i = Z(i);
          break;
        default:
          ++i;
          break;
      }
    }
    if (pri_.size() > kMax) pri_.resize(kMax);
    if (alt_.size() > kMax) alt_.resize(kMax);
    return {pri_, alt_};
  }

 private:
  static constexpr size_t kMax = 4;

  char At(int i) const { return i < 0 || i >= len_ ? '\0' : w_[i]; }
  bool Vowel(int i) const {
    char c = At(i);
    return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U' || c == 'Y';
  }
  bool Is(int start, int n, std::initializer_list<const char*> options) const {
    if (start < 0 || start + n > len_) return false;
    for (const char* o : options) {
      if (w_.compare(start, n, o) == 0) return true;
    }
    return false;
  }
  void Add(const char* both) { Add(both, both); }
  void Add(const char* p, const char* a) {
    pri_ += p;
    alt_ += a;
  }
  void AddAlt(const char* a) { alt_ += a; }

  bool ConditionC0(int i) const {
    if (Is(i, 4, {"CHIA"})) return true;
    if (i <= 1 || Vowel(i - 2) || !Is(i - 1, 3, {"ACH"})) return false;
    char c = At(i + 2);
    return (c != 'I' && c != 'E') || Is(i - 2, 6, {"BACHER", "MACHER"});
  }
  bool ConditionCh0(int i) const {
    if (i != 0) return false;
    if (!Is(i + 1, 5, {"HARAC", "HARIS"}) &&
        !Is(i + 1, 3, {"HOR", "HYM", "HIA", "HEM"})) {
      return false;
    }
    return !Is(0, 5, {"CHORE"});
  }
  bool ConditionCh1(int i) const {
    return Is(0, 4, {"VAN ", "VON "}) || Is(0, 3, {"SCH"}) ||
           Is(i - 2, 6, {"ORCHES", "ARCHIT", "ORCHID"}) ||
           Is(i + 2, 1, {"T", "S"}) ||
           ((Is(i - 1, 1, {"A", "O", "U", "E"}) || i == 0) &&
            (Is(i + 2, 1, {"L", "R", "N", "M", "B", "H", "F", "V", "W", " "}) ||
             i + 1 == len_ - 1));
  }
  bool ConditionL0(int i) const {
    if (i == len_ - 3 && Is(i - 1, 4, {"ILLO", "ILLA", "ALLE"})) return true;
    return (Is(len_ - 2, 2, {"AS", "OS"}) || Is(len_ - 1, 1, {"A", "O"})) &&
           Is(i - 1, 4, {"ALLE"});
  }
  bool ConditionM0(int i) const {
    if (At(i + 1) == 'M') return true;
    return Is(i - 1, 3, {"UMB"}) && (i + 1 == len_ - 1 || Is(i + 2, 2, {"ER"}));
  }

  int C(int i) {
    if (ConditionC0(i)) {
      Add("K");
      return i + 2;
    }
    if (i == 0 && Is(i, 6, {"CAESAR"})) {
      Add("S");
      return i + 2;
    }
    if (Is(i, 2, {"CH"})) return Ch(i);
    if (Is(i, 2, {"CZ"}) && !Is(i - 2, 4, {"WICZ"})) {
      Add("S", "X");
      return i + 2;
    }
    if (Is(i + 1, 3, {"CIA"})) {
      Add("X");
      return i + 3;
    }
    if (Is(i, 2, {"CC"}) && !(i == 1 && At(0) == 'M')) return Cc(i);
    if (Is(i, 2, {"CK", "CG", "CQ"})) {
      Add("K");
      return i + 2;
    }
    if (Is(i, 2, {"CI", "CE", "CY"})) {
      if (Is(i, 3, {"CIO", "CIE", "CIA"})) {
        Add("S", "X");
      } else {
        Add("S");
      }
      return i + 2;
    }
    Add("K");
    if (Is(i + 1, 2, {" C", " Q", " G"})) return i + 3;
    if (Is(i + 1, 1, {"C", "K", "Q"}) && !Is(i + 1, 2, {"CE", "CI"})) {
      return i + 2;
    }
    return i + 1;
  }
  int Ch(int i) {
    if (i > 0 && Is(i, 4, {"CHAE"})) {
      Add("K", "X");
    } else if (ConditionCh0(i) || ConditionCh1(i)) {
      Add("K");
    } else if (i > 0) {
      if (Is(0, 2, {"MC"})) {
        Add("K");
      } else {
        Add("X", "K");
      }
    } else {
      Add("X");
    }
    return i + 2;
  }
  int Cc(int i) {
    if (Is(i + 2, 1, {"I", "E", "H"}) && !Is(i + 2, 2, {"HU"})) {
      if ((i == 1 && At(i - 1) == 'A') || Is(i - 1, 5, {"UCCEE", "UCCES"})) {
        Add("KS");
      } else {
        Add("X");
      }
      return i + 3;
    }
    Add("K");
    return i + 2;
  }
  int D(int i) {
    if (Is(i, 2, {"DG"})) {
      if (Is(i + 2, 1, {"I", "E", "Y"})) {
        Add("J");
        return i + 3;
      }
      Add("TK");
      return i + 2;
    }
    Add("T");
    return Is(i, 2, {"DT", "DD"}) ? i + 2 : i + 1;
  }
  int G(int i) {
    if (At(i + 1) == 'H') return Gh(i);
    if (At(i + 1) == 'N') {
      if (i == 1 && Vowel(0) && !slavo_germanic_) {
        Add("KN", "N");
      } else if (!Is(i + 2, 2, {"EY"}) && At(i + 1) != 'Y' &&
                 !slavo_germanic_) {
        Add("N", "KN");
      } else {
        Add("KN");
      }
      return i + 2;
    }
    if (Is(i + 1, 2, {"LI"}) && !slavo_germanic_) {
      Add("KL", "L");
      return i + 2;
    }
    if (i == 0 && (At(i + 1) == 'Y' || Is(i + 1, 2,
                                          {"ES", "EP", "EB", "EL", "EY", "IB",
                                           "IL", "IN", "IE", "EI", "ER"}))) {
      Add("K", "J");
      return i + 2;
    }
    if ((Is(i + 1, 2, {"ER"}) || At(i + 1) == 'Y') &&
        !Is(0, 6, {"DANGER", "RANGER", "MANGER"}) &&
        !Is(i - 1, 1, {"E", "I"}) && !Is(i - 1, 3, {"RGY", "OGY"})) {
      Add("K", "J");
      return i + 2;
    }
    if (Is(i + 1, 1, {"E", "I", "Y"}) || Is(i - 1, 4, {"AGGI", "OGGI"})) {
      if (Is(0, 4, {"VAN ", "VON "}) || Is(0, 3, {"SCH"}) ||
          Is(i + 1, 2, {"ET"})) {
        Add("K");
      } else if (Is(i + 1, 3, {"IER"})) {
        Add("J");
      } else {
        Add("J", "K");
      }
      return i + 2;
    }
    Add("K");
    return At(i + 1) == 'G' ? i + 2 : i + 1;
  }
  int Gh(int i) {
    if (i > 0 && !Vowel(i - 1)) {
      Add("K");
      return i + 2;
    }
    if (i == 0) {
      Add(At(i + 2) == 'I' ? "J" : "K");
      return i + 2;
    }
    if ((i > 1 && Is(i - 2, 1, {"B", "H", "D"})) ||
        (i > 2 && Is(i - 3, 1, {"B", "H", "D"})) ||
        (i > 3 && Is(i - 4, 1, {"B", "H"}))) {
      return i + 2;
    }
    if (i > 2 && At(i - 1) == 'U' && Is(i - 3, 1, {"C", "G", "L", "R", "T"})) {
      Add("F");
    } else if (i > 0 && At(i - 1) != 'I') {
      Add("K");
    }
    return i + 2;
  }
  int H(int i) {
    if ((i == 0 || Vowel(i - 1)) && Vowel(i + 1)) {
      Add("H");
      return i + 2;
    }
    return i + 1;
  }
  int J(int i) {
    if (Is(i, 4, {"JOSE"}) || Is(0, 4, {"SAN "})) {
      if ((i == 0 && At(i + 4) == ' ') || len_ == 4 || Is(0, 4, {"SAN "})) {
        Add("H");
      } else {
        Add("J", "H");
      }
      return i + 1;
    }
    if (i == 0) {
      Add("J", "A");
    } else if (Vowel(i - 1) && !slavo_germanic_ &&
               (At(i + 1) == 'A' || At(i + 1) == 'O')) {
      Add("J", "H");
    } else if (i == len_ - 1) {
      Add("J", "");
    } else if (!Is(i + 1, 1, {"L", "T", "K", "S", "N", "M", "B", "Z"}) &&
               !Is(i - 1, 1, {"S", "K", "L"})) {
      Add("J");
    }
    return At(i + 1) == 'J' ? i + 2 : i + 1;
  }
  int L(int i) {
    if (At(i + 1) == 'L') {
      if (ConditionL0(i)) {
        Add("L", "");
      } else {
        Add("L");
      }
      return i + 2;
    }
    Add("L");
    return i + 1;
  }
  int P(int i) {
    if (At(i + 1) == 'H') {
      Add("F");
      return i + 2;
    }
    Add("P");
    return Is(i + 1, 1, {"P", "B"}) ? i + 2 : i + 1;
  }
  int R(int i) {
    if (i == len_ - 1 && !slavo_germanic_ && Is(i - 2, 2, {"IE"}) &&
        !Is(i - 4, 2, {"ME", "MA"})) {
      AddAlt("R");
    } else {
      Add("R");
    }
    return At(i + 1) == 'R' ? i + 2 : i + 1;
  }
  int S(int i) {
    if (Is(i - 1, 3, {"ISL", "YSL"})) return i + 1;
    if (i == 0 && Is(i, 5, {"SUGAR"})) {
      Add("X", "S");
      return i + 1;
    }
    if (Is(i, 2, {"SH"})) {
      Add(Is(i + 1, 4, {"HEIM", "HOEK", "HOLM", "HOLZ"}) ? "S" : "X");
      return i + 2;
    }
    if (Is(i, 3, {"SIO", "SIA"}) || Is(i, 4, {"SIAN"})) {
      if (slavo_germanic_) {
        Add("S");
      } else {
        Add("S", "X");
      }
      return i + 3;
    }
    if ((i == 0 && Is(i + 1, 1, {"M", "N", "L", "W"})) || Is(i + 1, 1, {"Z"})) {
      Add("S", "X");
      return Is(i + 1, 1, {"Z"}) ? i + 2 : i + 1;
    }
    if (Is(i, 2, {"SC"})) return Sc(i);
    if (i == len_ - 1 && Is(i - 2, 2, {"AI", "OI"})) {
      AddAlt("S");
    } else {
      Add("S");
    }
    return Is(i + 1, 1, {"S", "Z"}) ? i + 2 : i + 1;
  }
  int Sc(int i) {
    if (At(i + 2) == 'H') {
      if (Is(i + 3, 2, {"OO", "ER", "EN", "UY", "ED", "EM"})) {
        if (Is(i + 3, 2, {"ER", "EN"})) {
          Add("X", "SK");
        } else {
          Add("SK");
        }
      } else if (i == 0 && !Vowel(3) && At(3) != 'W') {
        Add("X", "S");
      } else {
        Add("X");
      }
    } else if (Is(i + 2, 1, {"I", "E", "Y"})) {
      Add("S");
    } else {
      Add("SK");
    }
    return i + 3;
  }
  int T(int i) {
    if (Is(i, 4, {"TION"}) || Is(i, 3, {"TIA", "TCH"})) {
      Add("X");
      return i + 3;
    }
    if (Is(i, 2, {"TH"}) || Is(i, 3, {"TTH"})) {
      if (Is(i + 2, 2, {"OM", "AM"}) || Is(0, 4, {"VAN ", "VON "}) ||
          Is(0, 3, {"SCH"})) {
        Add("T");
      } else {
        Add("0", "T");  // '0' is theta
      }
      return i + 2;
    }
    Add("T");
    return Is(i + 1, 1, {"T", "D"}) ? i + 2 : i + 1;
  }
  int W(int i) {
    if (Is(i, 2, {"WR"})) {
      Add("R");
      return i + 2;
    }
    if (i == 0 && (Vowel(i + 1) || Is(i, 2, {"WH"}))) {
      if (Vowel(i + 1)) {
        Add("A", "F");
      } else {
        Add("A");
      }
      return i + 1;
    }
    if ((i == len_ - 1 && Vowel(i - 1)) ||
        Is(i - 1, 5, {"EWSKI", "EWSKY", "OWSKI", "OWSKY"}) ||
        Is(0, 3, {"SCH"})) {
      AddAlt("F");
      return i + 1;
    }
    if (Is(i, 4, {"WICZ", "WITZ"})) {
      Add("TS", "FX");
      return i + 4;
    }
    return i + 1;
  }
  int X(int i) {
    if (i == 0) {
      Add("S");
      return i + 1;
    }
    if (!(i == len_ - 1 &&
          (Is(i - 3, 3, {"IAU", "EAU"}) || Is(i - 2, 2, {"AU", "OU"})))) {
      Add("KS");
    }
    return Is(i + 1, 1, {"C", "X"}) ? i + 2 : i + 1;
  }
  int Z(int i) {
    if (At(i + 1) == 'H') {
      Add("J");
      return i + 2;
    }
    if (Is(i + 1, 2, {"ZO", "ZI", "ZA"}) ||
        (slavo_germanic_ && i > 0 && At(i - 1) != 'T')) {
      Add("S", "TS");
    } else {
      Add("S");
    }
    return At(i + 1) == 'Z' ? i + 2 : i + 1;
  }

  std::string w_;
  int len_;
  bool slavo_germanic_;
  std::string pri_, alt_;
};

}  // namespace

std::pair<std::string, std::string> DoubleMetaphone(absl::string_view name) {
  std::string folded = IsAscii(name) ? std::string(name) : FoldText(name);
  std::string word;
  for (char c : folded) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      word.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    } else if (c == ' ' && !word.empty() && word.back() != ' ') {
      word.push_back(' ');
    }
  }
  while (!word.empty() && word.back() == ' ') word.pop_back();
  if (word.empty()) return {"", ""};
  return DoubleMetaphoneEncoder(std::move(word)).Run();
}

}  // namespace cohortlink::encoding
