#include "linkage/encoding/clkhash_schema.h"

#include <unicode/regex.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "keys/mac.h"
#include "linkage/encoding/dates.h"
#include "linkage/encoding/json.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::encoding {

using google::protobuf::Value;

struct PythonRegex::Impl {
  std::unique_ptr<icu::RegexPattern> pattern;
};

PythonRegex::PythonRegex(std::string pattern, std::unique_ptr<Impl> impl)
    : pattern_(std::move(pattern)), impl_(std::move(impl)) {}
PythonRegex::~PythonRegex() = default;

absl::StatusOr<std::shared_ptr<const PythonRegex>> PythonRegex::Compile(
    const std::string& pattern) {
  // ICU's syntax is Perl's, as is Python's, except for Python's named-group
  // spelling and its \Z (end of text), which ICU spells \z.
  std::string icu_pattern =
      absl::StrReplaceAll(pattern, {{"(?P<", "(?<"}, {"\\Z", "\\z"}});
  UErrorCode err = U_ZERO_ERROR;
  UParseError perr;
  auto impl = std::make_unique<Impl>();
  impl->pattern.reset(icu::RegexPattern::compile(
      icu::UnicodeString::fromUTF8(icu_pattern), 0, perr, err));
  if (U_FAILURE(err)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid regular expression '", pattern, "': ", u_errorName(err)));
  }
  return std::shared_ptr<const PythonRegex>(
      new PythonRegex(pattern, std::move(impl)));
}

bool PythonRegex::FullMatch(absl::string_view utf8) const {
  UErrorCode err = U_ZERO_ERROR;
  icu::UnicodeString input = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  std::unique_ptr<icu::RegexMatcher> m(impl_->pattern->matcher(input, err));
  if (U_FAILURE(err)) return false;
  bool ok = m->matches(err);
  return U_SUCCESS(err) && ok;
}

namespace {

template <typename T>
bool OneOf(const T& v, std::initializer_list<T> options) {
  for (const auto& o : options) {
    if (v == o) return true;
  }
  return false;
}

absl::Status ParseFormat(const JsonObject& f, ClkhashFeature* out) {
  ASSIGN_OR_RETURN(std::string type, f.GetString("type"));
  if (type == "string") {
    out->type = ClkhashFeature::Type::kString;
    bool has_pattern = f.Has("pattern");
    if (has_pattern) {
      RETURN_IF_ERROR(
          f.AllowOnly({"type", "encoding", "pattern", "description"}));
    } else {
      RETURN_IF_ERROR(f.AllowOnly({"type", "encoding", "case", "minLength",
                                   "maxLength", "description"}));
    }
    ASSIGN_OR_RETURN(std::string enc, f.GetString("encoding", "utf-8"));
    auto parsed = ParseTextEncoding(enc);
    if (!parsed.ok()) return f.Error("encoding", parsed.status().message());
    out->encoding = *parsed;
    if (has_pattern) {
      ASSIGN_OR_RETURN(std::string pattern, f.GetString("pattern"));
      auto re = PythonRegex::Compile(pattern);
      if (!re.ok()) return f.Error("pattern", re.status().message());
      out->pattern = *re;
    } else {
      ASSIGN_OR_RETURN(out->case_style, f.GetString("case", "mixed"));
      if (!OneOf<std::string>(out->case_style, {"upper", "lower", "mixed"})) {
        return f.Error("case", "must be \"upper\", \"lower\" or \"mixed\"");
      }
      if (f.Has("minLength")) {
        ASSIGN_OR_RETURN(out->min_length, f.GetInt("minLength"));
        if (*out->min_length < 0) return f.Error("minLength", "must be >= 0");
      }
      if (f.Has("maxLength")) {
        ASSIGN_OR_RETURN(out->max_length, f.GetInt("maxLength"));
        if (*out->max_length < 1) return f.Error("maxLength", "must be >= 1");
      }
    }
  } else if (type == "integer") {
    out->type = ClkhashFeature::Type::kInteger;
    RETURN_IF_ERROR(f.AllowOnly({"type", "minimum", "maximum", "description"}));
    if (f.Has("minimum")) {
      ASSIGN_OR_RETURN(out->minimum, f.GetInt("minimum"));
    }
    if (f.Has("maximum")) {
      ASSIGN_OR_RETURN(out->maximum, f.GetInt("maximum"));
    }
  } else if (type == "date") {
    out->type = ClkhashFeature::Type::kDate;
    RETURN_IF_ERROR(f.AllowOnly({"type", "format", "description"}));
    ASSIGN_OR_RETURN(out->date_format, f.GetString("format"));
    if (auto s = ValidateDateFormat(out->date_format); !s.ok()) {
      return f.Error("format", s.message());
    }
  } else if (type == "enum") {
    out->type = ClkhashFeature::Type::kEnum;
    RETURN_IF_ERROR(f.AllowOnly({"type", "values", "description"}));
    ASSIGN_OR_RETURN(auto values, f.GetStringList("values"));
    out->enum_values.insert(values.begin(), values.end());
  } else {
    return f.Error("type", absl::StrCat("unknown format type '", type,
                                        "' (string, integer, date or enum)"));
  }
  return absl::OkStatus();
}

absl::Status ParseHashObject(const JsonObject& h, ClkhashFeature* out) {
  ASSIGN_OR_RETURN(std::string type, h.GetString("type"));
  if (type == "doubleHash") {
    out->hash = ClkhashFeature::Hash::kDoubleHash;
    ASSIGN_OR_RETURN(out->prevent_singularity,
                     h.GetBool("prevent_singularity", false));
  } else if (type == "blakeHash") {
    out->hash = ClkhashFeature::Hash::kBlakeHash;
    if (h.Has("prevent_singularity")) {
      return h.Error("prevent_singularity", "only applies to doubleHash");
    }
  } else {
    return h.Error("type", absl::StrCat("unknown hash type '", type,
                                        "' (doubleHash or blakeHash)"));
  }
  return absl::OkStatus();
}

absl::Status ParseMissing(const JsonObject& hashing, ClkhashFeature* out) {
  if (!hashing.Has("missingValue")) return absl::OkStatus();
  ASSIGN_OR_RETURN(JsonObject mv, hashing.GetObject("missingValue"));
  ASSIGN_OR_RETURN(std::string sentinel, mv.GetString("sentinel"));
  out->missing_sentinel = sentinel;
  ASSIGN_OR_RETURN(out->missing_replace_with,
                   mv.GetString("replaceWith", sentinel));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> PositiveCount(const JsonObject& o,
                                       absl::string_view key) {
  const Value* v = o.Find(key);
  if (v == nullptr) return o.Error(key, "required field is missing");
  if (v->kind_case() != Value::kNumberValue || v->number_value() < 1 ||
      v->number_value() > 1e6 ||
      std::floor(v->number_value()) != v->number_value()) {
    return o.Error(key, "expected an integer >= 1");
  }
  return static_cast<uint32_t>(v->number_value());
}

// Python 3 round(): half to even.
int64_t RoundHalfEven(double x) {
  double r = std::nearbyint(x);  // default rounding mode is to-nearest-even
  return static_cast<int64_t>(r);
}

absl::Status ParseHashing(int version, const JsonObject& h, int64_t v1_k,
                          const ClkhashFeature::Hash* v1_hash,
                          bool v1_prevent_singularity, ClkhashFeature* out) {
  if (version == 1) {
    RETURN_IF_ERROR(
        h.AllowOnly({"ngram", "positional", "weight", "missingValue"}));
    ASSIGN_OR_RETURN(int64_t n, h.GetInt("ngram"));
    if (n < 0) return h.Error("ngram", "must be >= 0");
    out->ngram = static_cast<int>(n);
    ASSIGN_OR_RETURN(out->positional, h.GetBool("positional", false));
    ASSIGN_OR_RETURN(double weight, h.GetNumber("weight", 1.0));
    if (weight < 0) return h.Error("weight", "must be >= 0");
    out->bits_per_token = static_cast<uint32_t>(RoundHalfEven(weight * v1_k));
    out->hash = *v1_hash;
    out->prevent_singularity = v1_prevent_singularity;
    return ParseMissing(h, out);
  }
  if (version == 2) {
    RETURN_IF_ERROR(h.AllowOnly(
        {"hash", "strategy", "ngram", "positional", "missingValue"}));
    ASSIGN_OR_RETURN(int64_t n, h.GetInt("ngram"));
    if (n < 1) return h.Error("ngram", "must be >= 1");
    out->ngram = static_cast<int>(n);
    ASSIGN_OR_RETURN(out->positional, h.GetBool("positional", false));
    ASSIGN_OR_RETURN(JsonObject strategy, h.GetObject("strategy"));
    bool has_k = strategy.Has("k"), has_bits = strategy.Has("numBits");
    if (has_k == has_bits) {
      return h.Error("strategy",
                     "must contain exactly one of \"k\" or \"numBits\"");
    }
    if (has_k) {
      ASSIGN_OR_RETURN(out->bits_per_token, PositiveCount(strategy, "k"));
    } else {
      ASSIGN_OR_RETURN(out->bits_per_feature,
                       PositiveCount(strategy, "numBits"));
    }
  } else {
    RETURN_IF_ERROR(
        h.AllowOnly({"hash", "strategy", "comparison", "missingValue"}));
    ASSIGN_OR_RETURN(JsonObject strategy, h.GetObject("strategy"));
    if (strategy.Has("bitsPerToken")) {
      RETURN_IF_ERROR(strategy.AllowOnly({"bitsPerToken"}));
      ASSIGN_OR_RETURN(out->bits_per_token,
                       PositiveCount(strategy, "bitsPerToken"));
    } else if (strategy.Has("bitsPerFeature")) {
      RETURN_IF_ERROR(strategy.AllowOnly({"bitsPerFeature"}));
      ASSIGN_OR_RETURN(out->bits_per_feature,
                       PositiveCount(strategy, "bitsPerFeature"));
    } else {
      return h.Error("strategy",
                     "must contain \"bitsPerToken\" or \"bitsPerFeature\"");
    }
    ASSIGN_OR_RETURN(JsonObject cmp, h.GetObject("comparison"));
    ASSIGN_OR_RETURN(std::string type, cmp.GetString("type"));
    if (type == "ngram") {
      ASSIGN_OR_RETURN(int64_t n, cmp.GetInt("n"));
      if (n < 1) return cmp.Error("n", "must be >= 1");
      out->ngram = static_cast<int>(n);
      ASSIGN_OR_RETURN(out->positional, cmp.GetBool("positional", false));
      out->comparison = ClkhashFeature::Comparison::kNgram;
    } else if (type == "exact") {
      out->comparison = ClkhashFeature::Comparison::kExact;
    } else if (type == "numeric") {
      return cmp.Error("type",
                       "clkhash \"numeric\" comparisons are not supported: no "
                       "published reference vectors exist to guarantee "
                       "bit-identical CLKs; use \"ngram\" or \"exact\"");
    } else {
      return cmp.Error("type", absl::StrCat("unknown comparison '", type,
                                            "' (ngram, exact)"));
    }
  }
  out->hash = ClkhashFeature::Hash::kBlakeHash;  // v2/v3 default
  if (h.Has("hash")) {
    ASSIGN_OR_RETURN(JsonObject hash, h.GetObject("hash"));
    RETURN_IF_ERROR(ParseHashObject(hash, out));
  }
  return ParseMissing(h, out);
}

absl::Status ParseKdf(const JsonObject& kdf, ClkhashSchema* out) {
  ASSIGN_OR_RETURN(std::string type, kdf.GetString("type"));
  if (type != "HKDF") return kdf.Error("type", "only \"HKDF\" is supported");
  ASSIGN_OR_RETURN(std::string hash, kdf.GetString("hash", "SHA256"));
  if (hash == "SHA256") {
    out->kdf_hash = keys::HashAlgorithm::kSha256;
  } else if (hash == "SHA512") {
    out->kdf_hash = keys::HashAlgorithm::kSha512;
  } else {
    return kdf.Error("hash", "must be \"SHA256\" or \"SHA512\"");
  }
  for (auto [key, dest] :
       {std::pair{"salt", &out->kdf_salt}, std::pair{"info", &out->kdf_info}}) {
    if (!kdf.Has(key)) continue;
    ASSIGN_OR_RETURN(std::string b64, kdf.GetString(key));
    auto raw = util::Base64Decode(b64);
    if (!raw.ok()) return kdf.Error(key, "is not valid base64");
    *dest = *raw;
  }
  ASSIGN_OR_RETURN(out->key_size, kdf.GetInt("keySize", 64));
  if (out->key_size < 1) return kdf.Error("keySize", "must be >= 1");
  return absl::OkStatus();
}

}  // namespace

bool IsClkhashSchema(const Value& doc) {
  return doc.kind_case() == Value::kStructValue &&
         doc.struct_value().fields().contains("clkConfig");
}

absl::StatusOr<ClkhashSchema> ParseClkhashSchema(const Value& doc) {
  ClkhashSchema out;
  ASSIGN_OR_RETURN(JsonObject root, JsonObject::Of(doc, ""));
  RETURN_IF_ERROR(root.Require("version"));
  const Value* version = root.Find("version");
  if (version->kind_case() != Value::kNumberValue ||
      !OneOf(version->number_value(), {1.0, 2.0, 3.0})) {
    return root.Error("version",
                      "schema version is not supported (clkhash versions 1, 2 "
                      "and 3 are)");
  }
  out.version = static_cast<int>(version->number_value());
  ASSIGN_OR_RETURN(JsonObject clk, root.GetObject("clkConfig"));
  ASSIGN_OR_RETURN(out.l, clk.GetInt("l"));
  if (out.l < 1) return clk.Error("l", "must be >= 1");
  if (out.l % 8 != 0) {
    return clk.Error("l",
                     "must be a multiple of 8 (CLKs are serialised as "
                     "bytes)");
  }
  // clkhash reads "xor_folds" although its documentation says "xorFolds".
  ASSIGN_OR_RETURN(int64_t folds, clk.GetInt("xor_folds", 0));
  if (folds < 0 || folds > 16) return clk.Error("xor_folds", "must be 0..16");
  out.xor_folds = static_cast<int>(folds);
  ASSIGN_OR_RETURN(JsonObject kdf, clk.GetObject("kdf"));
  RETURN_IF_ERROR(ParseKdf(kdf, &out));

  int64_t v1_k = 0;
  ClkhashFeature::Hash v1_hash = ClkhashFeature::Hash::kDoubleHash;
  bool v1_ps = false;
  if (out.version == 1) {
    ASSIGN_OR_RETURN(v1_k, clk.GetInt("k"));
    if (v1_k < 1) return clk.Error("k", "must be >= 1");
    ASSIGN_OR_RETURN(JsonObject hash, clk.GetObject("hash"));
    ClkhashFeature tmp;
    RETURN_IF_ERROR(ParseHashObject(hash, &tmp));
    v1_hash = tmp.hash;
    v1_ps = tmp.prevent_singularity;
  }

  ASSIGN_OR_RETURN(auto* features, root.GetList("features"));
  for (int i = 0; i < features->values_size(); ++i) {
    ASSIGN_OR_RETURN(
        JsonObject f,
        JsonObject::Of(features->values(i), absl::StrCat("features[", i, "]")));
    ClkhashFeature feat;
    ASSIGN_OR_RETURN(feat.identifier, f.GetString("identifier"));
    ASSIGN_OR_RETURN(feat.ignored, f.GetBool("ignored", false));
    if (feat.ignored) {
      if (!f.Has("format") && !f.Has("hashing")) {
        RETURN_IF_ERROR(f.AllowOnly({"identifier", "ignored", "description"}));
      }
      out.features.push_back(std::move(feat));
      continue;
    }
    RETURN_IF_ERROR(f.AllowOnly(
        {"identifier", "description", "ignored", "format", "hashing"}));
    ASSIGN_OR_RETURN(JsonObject format, f.GetObject("format"));
    RETURN_IF_ERROR(ParseFormat(format, &feat));
    ASSIGN_OR_RETURN(JsonObject hashing, f.GetObject("hashing"));
    RETURN_IF_ERROR(
        ParseHashing(out.version, hashing, v1_k, &v1_hash, v1_ps, &feat));
    if (feat.hash == ClkhashFeature::Hash::kBlakeHash) {
      int64_t hash_l = out.l << out.xor_folds;
      if ((hash_l & (hash_l - 1)) != 0) {
        return hashing.Error(
            "hash",
            absl::StrCat(
                "blakeHash needs l * 2^xor_folds to be a power of two, not ",
                hash_l));
      }
    }
    out.features.push_back(std::move(feat));
  }
  if (out.features.empty()) return root.Error("features", "must not be empty");
  size_t hash_len = keys::DigestSize(out.kdf_hash);
  if (static_cast<size_t>(out.key_size) * 2 * out.features.size() >
      255 * hash_len) {
    return kdf.Error(
        "keySize",
        absl::StrCat("too large: HKDF can derive at most ", 255 * hash_len,
                     " bytes, and this schema needs 2 keys of ", out.key_size,
                     " bytes for each of ", out.features.size(), " features"));
  }
  out.fingerprint = keys::Sha256::Digest(
      absl::StrCat("clkhash-schema\n", CanonicalJson(doc)));
  return out;
}

}  // namespace cohortlink::encoding
