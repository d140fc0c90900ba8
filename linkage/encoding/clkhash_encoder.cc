#include "linkage/encoding/clkhash_encoder.h"

#include "absl/strings/str_cat.h"
#include "keys/kdf.h"
#include "linkage/encoding/dates.h"
#include "linkage/encoding/tokens.h"
#include "linkage/encoding/unicode.h"
#include "util/status_macros.h"

namespace cohortlink::encoding {

bool ParsePythonInt(absl::string_view s, __int128* value) {
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  __int128 v = 0;
  const __int128 kLimit = (static_cast<__int128>(1) << 125);
  bool prev_digit = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      if (!prev_digit || i + 1 == s.size()) return false;
      prev_digit = false;
      continue;
    }
    if (c < '0' || c > '9') return false;
    if (v > kLimit) return false;
    v = v * 10 + (c - '0');
    prev_digit = true;
  }
  *value = neg ? -v : v;
  return true;
}

std::string Int128ToString(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  std::string out;
  while (v != 0) {
    int d = static_cast<int>(v % 10);
    out.push_back(static_cast<char>('0' + (d < 0 ? -d : d)));
    v /= 10;
  }
  if (neg) out.push_back('-');
  return std::string(out.rbegin(), out.rend());
}

absl::StatusOr<std::unique_ptr<ClkhashEncoder>> ClkhashEncoder::Create(
    const ClkhashSchema& schema, absl::string_view secret) {
  if (secret.empty()) return absl::InvalidArgumentError("empty secret");
  size_t n = schema.features.size();
  ASSIGN_OR_RETURN(
      keys::SecretBytes key_material,
      keys::Hkdf(schema.kdf_hash, secret, schema.kdf_salt, schema.kdf_info,
                 n * 2 * static_cast<size_t>(schema.key_size)));
  absl::string_view km = key_material.view();
  std::vector<std::unique_ptr<TokenHasher>> hashers(n);
  for (size_t i = 0; i < n; ++i) {
    const ClkhashFeature& f = schema.features[i];
    if (f.ignored) continue;
    absl::string_view k0 =
        km.substr((2 * i) * schema.key_size, schema.key_size);
    absl::string_view k1 =
        km.substr((2 * i + 1) * schema.key_size, schema.key_size);
    if (f.hash == ClkhashFeature::Hash::kDoubleHash) {
      ASSIGN_OR_RETURN(hashers[i],
                       NewDoubleHasher(k0, k1, f.prevent_singularity));
    } else {
      ASSIGN_OR_RETURN(hashers[i], NewClkhashBlakeHasher(k0));
    }
  }
  return std::unique_ptr<ClkhashEncoder>(
      new ClkhashEncoder(schema, std::move(hashers)));
}

absl::StatusOr<std::unique_ptr<ClkhashEncoder>> ClkhashEncoder::Clone() const {
  std::vector<std::unique_ptr<TokenHasher>> hashers(hashers_.size());
  for (size_t i = 0; i < hashers_.size(); ++i) {
    if (hashers_[i]) {
      ASSIGN_OR_RETURN(hashers[i], hashers_[i]->Clone());
    }
  }
  return std::unique_ptr<ClkhashEncoder>(
      new ClkhashEncoder(schema_, std::move(hashers)));
}

absl::Status ClkhashEncoder::FormatValue(const ClkhashFeature& f,
                                         const std::string& raw,
                                         std::string* out) const {
  if (f.missing_sentinel && raw == *f.missing_sentinel) {
    *out = f.missing_replace_with;  // sentinels are exempt from validation
    return absl::OkStatus();
  }
  if (!IsValidUtf8(raw)) {
    return absl::InvalidArgumentError("value is not valid UTF-8");
  }
  if (!EncodeText(raw, f.encoding).ok()) {
    return absl::InvalidArgumentError(
        "value cannot be represented in the schema's encoding");
  }
  switch (f.type) {
    case ClkhashFeature::Type::kString: {
      if (f.pattern) {
        if (!f.pattern->FullMatch(raw)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "value does not match the pattern '", f.pattern->pattern(), "'"));
        }
      } else {
        std::vector<char32_t> cps;
        DecodeUtf8(raw, &cps);
        int64_t len = static_cast<int64_t>(cps.size());
        if (f.min_length && len < *f.min_length) {
          return absl::InvalidArgumentError(
              absl::StrCat("value has ", len, " characters; at least ",
                           *f.min_length, " expected"));
        }
        if (f.max_length && len > *f.max_length) {
          return absl::InvalidArgumentError(
              absl::StrCat("value has ", len, " characters; at most ",
                           *f.max_length, " expected"));
        }
        if (f.case_style == "upper" && ToUpper(raw) != raw) {
          return absl::InvalidArgumentError("value is not upper case");
        }
        if (f.case_style == "lower" && ToLower(raw) != raw) {
          return absl::InvalidArgumentError("value is not lower case");
        }
      }
      *out = raw;
      return absl::OkStatus();
    }
    case ClkhashFeature::Type::kInteger: {
      __int128 v;
      if (!ParsePythonInt(raw, &v)) {
        return absl::InvalidArgumentError("value is not an integer");
      }
      if (f.minimum && v < *f.minimum) {
        return absl::InvalidArgumentError(
            absl::StrCat("integer below the minimum ", *f.minimum));
      }
      if (f.maximum && v > *f.maximum) {
        return absl::InvalidArgumentError(
            absl::StrCat("integer above the maximum ", *f.maximum));
      }
      *out = Int128ToString(v);
      return absl::OkStatus();
    }
    case ClkhashFeature::Type::kDate: {
      auto d = ParseDate(raw, f.date_format);
      if (!d.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "value is not a valid date in format '", f.date_format, "'"));
      }
      *out = FormatClkhashDate(*d);
      return absl::OkStatus();
    }
    case ClkhashFeature::Type::kEnum:
      if (!f.enum_values.contains(raw)) {
        return absl::InvalidArgumentError(
            "value is not one of the schema's enum values");
      }
      *out = raw;
      return absl::OkStatus();
  }
  return absl::InternalError("unhandled feature type");
}

absl::Status ClkhashEncoder::Encode(const std::vector<std::string>& fields,
                                    std::string* clk) {
  const size_t n = schema_.features.size();
  if (fields.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "row has ", fields.size(), " fields; the schema has ", n, " features"));
  }
  const size_t hash_l = static_cast<size_t>(schema_.l) << schema_.xor_folds;
  clk->assign(hash_l / 8, '\0');
  auto* filter = reinterpret_cast<uint8_t*>(clk->data());
  for (size_t i = 0; i < n; ++i) {
    const ClkhashFeature& f = schema_.features[i];
    if (f.ignored) continue;
    absl::Status s = FormatValue(f, fields[i], &work_);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column ", i + 1, " \"", f.identifier, "\": ", s.message()));
    }
    if (f.comparison == ClkhashFeature::Comparison::kExact) {
      // The whole value is the token; an empty value has none (clkhash
      // 0.18: 26 of the 61 rows of the empty-values vectors differ if it
      // is hashed).
      tokens_.clear();
      if (!work_.empty()) tokens_.push_back(work_);
    } else {
      NGrams(work_, f.ngram, f.positional, /*padded=*/true, &tokens_);
      if (f.ngram == 0 && !work_.empty()) {
        // n = 0: Python yields len+1 empty grams.
        std::vector<char32_t> cps;
        DecodeUtf8(work_, &cps);
        tokens_.clear();
        for (size_t t = 0; t <= cps.size(); ++t) {
          tokens_.push_back(f.positional ? absl::StrCat(t + 1, " ") : "");
        }
      }
    }
    std::vector<uint32_t> ks =
        BitsPerToken(tokens_.size(), f.bits_per_token, f.bits_per_feature);
    for (size_t t = 0; t < tokens_.size(); ++t) {
      ASSIGN_OR_RETURN(std::string bytes, EncodeText(tokens_[t], f.encoding));
      RETURN_IF_ERROR(hashers_[i]->Insert(bytes, ks[t], filter, hash_l));
    }
  }
  for (int fold = 0; fold < schema_.xor_folds; ++fold) *clk = XorFold(*clk);
  return absl::OkStatus();
}

}  // namespace cohortlink::encoding
