// The native cohortlink encoder: normalised identifiers -> field-level
// filters and/or a record-level CLK, hardened; keyed blocking tokens; a
// pseudonymous record key; plain event and attribute columns.
//
// Key schedule (HKDF-SHA256 over the secret, salt "cohortlink/v1"):
//   info "segment/<identifier>"  field-level filter of that identifier
//   info "clk/<identifier>"      its tokens in the record-level CLK
//   info "record-key"            HMAC key for record keys
//   info "blocking"              HMAC key for blocking tokens
//   info "balance/<filter>"      permutation seed for balancing

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keys/kdf.h"
#include "keys/key_check.h"
#include "keys/random.h"
#include "linkage/encoding/bloom.h"
#include "linkage/encoding/dates.h"
#include "linkage/encoding/hardening.h"
#include "linkage/encoding/normalise.h"
#include "linkage/encoding/phonetic.h"
#include "linkage/encoding/record_encoder.h"
#include "linkage/encoding/tokens.h"
#include "linkage/encoding/unicode.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::encoding {
namespace {

using cohortlink::v1::EncodedRecord;
using cohortlink::v1::ExtractHeader;
using cohortlink::v1::FilterSegment;
using cohortlink::v1::HardeningSpec;
using cohortlink::v1::IdentifierSpec;
using cohortlink::v1::InsertionSpec;
using cohortlink::v1::LinkageSchema;
using cohortlink::v1::ValueRef;

constexpr char kSep = '\x1f';  // ASCII unit separator between parts

// Default spellings of "missing", compared case-insensitively to the
// trimmed raw value.
const absl::flat_hash_set<std::string>& DefaultMissing() {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "", "null", "n/a", "unknown", "not known", "nk", "-", ".", "?"};
  return *s;
}

absl::StatusOr<keys::SecretBytes> DeriveKey(absl::string_view secret,
                                            absl::string_view info,
                                            size_t len = 64) {
  return keys::Hkdf(keys::HashAlgorithm::kSha256, secret, "cohortlink/v1", info,
                    len);
}

// One identifier's value in the current row.
struct Value {
  bool present = false;
  std::string text;  // normalised text; for dates "YYYYMMDD"
  Date date;         // dates only
};

// The shared, immutable part of the encoder.
struct Plan {
  LinkageSchema spec;
  ExtractHeader header;
  std::string record_key_key;
  std::string blocking_key;
  std::string blip_key;
  // Per identifier: derived keys (empty when unused).
  std::vector<std::string> segment_keys, clk_keys;
  // Filter order in the layout: -1 for the CLK, else identifier index.
  std::vector<int> filters;
  std::vector<std::optional<Balancer>> balancers;
  ~Plan() {
    for (auto* k : {&record_key_key, &blocking_key, &blip_key}) {
      std::fill(k->begin(), k->end(), '\0');
    }
  }
};

class NativeEncoder : public RecordEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<NativeEncoder>> Create(
      std::shared_ptr<const Plan> plan) {
    auto enc = std::unique_ptr<NativeEncoder>(new NativeEncoder(plan));
    const LinkageSchema& s = plan->spec;
    for (int i = 0; i < s.identifiers_size(); ++i) {
      const IdentifierSpec& id = s.identifiers(i);
      std::vector<NormaliseStep> steps;
      for (const auto& n : id.normalise()) {
        ASSIGN_OR_RETURN(NormaliseStep st, ParseNormaliseStep(n));
        steps.push_back(st);
      }
      ASSIGN_OR_RETURN(auto norm, Normaliser::Create(std::move(steps)));
      enc->normalisers_.push_back(std::move(norm));
      std::unique_ptr<TokenHasher> seg, clk;
      if (!plan->segment_keys[i].empty()) {
        ASSIGN_OR_RETURN(seg, NewNativeHasher(plan->segment_keys[i]));
      }
      if (!plan->clk_keys[i].empty()) {
        ASSIGN_OR_RETURN(clk, NewNativeHasher(plan->clk_keys[i]));
      }
      enc->segment_hashers_.push_back(std::move(seg));
      enc->clk_hashers_.push_back(std::move(clk));
    }
    for (const auto& a : s.attributes()) {
      std::unique_ptr<Normaliser> norm;
      if (!a.normalise().empty()) {
        std::vector<NormaliseStep> steps;
        for (const auto& n : a.normalise()) {
          ASSIGN_OR_RETURN(NormaliseStep st, ParseNormaliseStep(n));
          steps.push_back(st);
        }
        ASSIGN_OR_RETURN(norm, Normaliser::Create(std::move(steps)));
      }
      enc->attr_normalisers_.push_back(std::move(norm));
    }
    ASSIGN_OR_RETURN(
        enc->record_key_mac_,
        keys::Hmac::Create(keys::HashAlgorithm::kSha256, plan->record_key_key));
    ASSIGN_OR_RETURN(
        enc->blocking_mac_,
        keys::Hmac::Create(keys::HashAlgorithm::kSha256, plan->blocking_key));
    ASSIGN_OR_RETURN(enc->blip_stream_,
                     keys::KeyStream::Create(plan->blip_key));
    enc->values_.resize(s.identifiers_size());
    return enc;
  }

  absl::Status BindHeader(const std::vector<std::string>& header) override {
    if (header.empty()) {
      return absl::InvalidArgumentError(
          "native schemas need a header row to find their columns");
    }
    auto find = [&](const std::string& col,
                    const std::string& what) -> absl::StatusOr<int> {
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == col) return static_cast<int>(i);
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown column \"", col, "\" (", what,
          ") is not in the CSV header: ", absl::StrJoin(header, ", ")));
    };
    const LinkageSchema& s = plan_->spec;
    cols_.clear();
    for (const auto& id : s.identifiers()) {
      ASSIGN_OR_RETURN(int c, find(id.column(), "identifier " + id.name()));
      cols_.push_back(c);
    }
    record_key_col_ = -1;
    if (!s.record_key().column().empty()) {
      ASSIGN_OR_RETURN(record_key_col_,
                       find(s.record_key().column(), "record_key"));
    }
    event_type_col_ = event_date_col_ = -1;
    if (!s.event().type().column().empty()) {
      ASSIGN_OR_RETURN(event_type_col_,
                       find(s.event().type().column(), "event.type"));
    }
    if (!s.event().date_column().empty()) {
      ASSIGN_OR_RETURN(event_date_col_,
                       find(s.event().date_column(), "event.date_column"));
    }
    attr_cols_.clear();
    for (const auto& a : s.attributes()) {
      auto c = find(a.column(), "attribute " + a.name());
      if (!c.ok() && !a.optional()) return c.status();
      attr_cols_.push_back(c.ok() ? *c : -1);
    }
    header_names_ = header;
    return absl::OkStatus();
  }

  absl::Status Encode(const CsvRow& row, uint64_t row_index,
                      EncodedRecord* out) override {
    out->Clear();
    if (row.fields.size() != header_names_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("row has ", row.fields.size(),
                       " fields; the header has ", header_names_.size()));
    }
    const LinkageSchema& s = plan_->spec;
    for (int i = 0; i < s.identifiers_size(); ++i) {
      RETURN_IF_ERROR(ReadIdentifier(i, row.fields[cols_[i]]));
    }
    RETURN_IF_ERROR(EncodeFilters(row_index, out));
    RETURN_IF_ERROR(EncodeBlocking(out));
    RETURN_IF_ERROR(EncodeRecordKey(row, row_index, out));
    return EncodeEventAndAttributes(row, out);
  }

  const std::string& last_local_id() const override { return local_id_; }

  absl::StatusOr<std::unique_ptr<RecordEncoder>> Clone() const override {
    ASSIGN_OR_RETURN(auto c, Create(plan_));
    c->cols_ = cols_;
    c->record_key_col_ = record_key_col_;
    c->event_type_col_ = event_type_col_;
    c->event_date_col_ = event_date_col_;
    c->attr_cols_ = attr_cols_;
    c->header_names_ = header_names_;
    return std::unique_ptr<RecordEncoder>(std::move(c));
  }

  const ExtractHeader& header() const override { return plan_->header; }

 private:
  explicit NativeEncoder(std::shared_ptr<const Plan> plan)
      : plan_(std::move(plan)) {}

  absl::Status ColumnError(int col, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "column ", col + 1, " \"", header_names_[col], "\": ", what));
  }

  absl::Status ReadIdentifier(int i, const std::string& raw) {
    const IdentifierSpec& id = plan_->spec.identifiers(i);
    Value& v = values_[i];
    v = Value();
    if (!IsValidUtf8(raw))
      return ColumnError(cols_[i], "value is not valid UTF-8");
    std::string trimmed(absl::StripAsciiWhitespace(raw));
    std::string lowered = absl::AsciiStrToLower(trimmed);
    if (DefaultMissing().contains(lowered)) return absl::OkStatus();
    for (const auto& m : id.missing_values()) {
      if (absl::AsciiStrToLower(m) == lowered) return absl::OkStatus();
    }
    if (id.type() == "date") {
      for (const auto& fmt : id.date_formats()) {
        auto d = ParseDate(trimmed, fmt);
        if (d.ok()) {
          v.present = true;
          v.date = *d;
          v.text = FormatCompactDate(*d);
          return absl::OkStatus();
        }
      }
      if (id.on_invalid() == "error") {
        return ColumnError(
            cols_[i], absl::StrCat("not a valid date in any of the formats ",
                                   absl::StrJoin(id.date_formats(), ", ")));
      }
      return absl::OkStatus();  // treated as missing
    }
    v.text = normalisers_[i]->Apply(trimmed);
    v.present = !v.text.empty();
    return absl::OkStatus();
  }

  // Alternatives for a value reference; empty when the value is missing.
  std::vector<std::string> Resolve(const ValueRef& ref) const {
    int idx = IdentifierIndex(ref.identifier());
    const Value& v = values_[idx];
    if (!v.present) return {};
    const std::string& t = ref.transform();
    std::vector<std::string> out;
    if (t == "value") {
      out.push_back(v.text);
    } else if (t == "soundex") {
      out.push_back(Soundex(v.text));
    } else if (t == "nysiis") {
      out.push_back(Nysiis(v.text));
    } else if (t == "metaphone") {
      auto [p, a] = DoubleMetaphone(v.text);
      out.push_back(p);
      if (a != p) out.push_back(a);
    } else if (t == "year") {
      out.push_back(absl::StrCat(v.date.year));
    } else if (t == "month") {
      out.push_back(absl::StrCat(v.date.month));
    } else if (t == "day") {
      out.push_back(absl::StrCat(v.date.day));
    } else if (t == "initial" || t == "first3") {
      std::vector<char32_t> cps;
      DecodeUtf8(v.text, &cps);
      std::string s;
      for (size_t k = 0; k < cps.size() && k < (t == "initial" ? 1u : 3u);
           ++k) {
        AppendUtf8(cps[k], &s);
      }
      out.push_back(s);
    }
    std::erase_if(out, [](const std::string& s) { return s.empty(); });
    return out;
  }

  int IdentifierIndex(const std::string& name) const {
    const auto& ids = plan_->spec.identifiers();
    for (int i = 0; i < ids.size(); ++i) {
      if (ids[i].name() == name) return i;
    }
    return 0;  // validated at schema load
  }

  std::string Salt(const HardeningSpec& h) const {
    std::vector<std::string> parts;
    for (const auto& ref : h.salt()) {
      auto alts = Resolve(ref);
      if (alts.empty()) return "";  // a missing salt value: unsalted
      parts.push_back(alts.front());
    }
    return absl::StrJoin(parts, std::string(1, kSep));
  }

  void Tokens(int i, std::vector<std::string>* out) const {
    const IdentifierSpec& id = plan_->spec.identifiers(i);
    const Value& v = values_[i];
    const auto& t = id.tokens();
    out->clear();
    if (t.kind() == "exact") {
      out->push_back(v.text);
    } else if (t.kind() == "date_parts") {
      out->push_back(absl::StrCat("y", v.date.year));
      out->push_back(absl::StrCat("m", v.date.month));
      out->push_back(absl::StrCat("d", v.date.day));
    } else {
      NGrams(v.text, static_cast<int>(t.q()), t.positional(), t.padded(), out);
    }
  }

  absl::Status Insert(TokenHasher* hasher, const InsertionSpec& ins,
                      const std::vector<std::string>& tokens,
                      const std::string& salt, uint8_t* filter, size_t bits) {
    std::vector<uint32_t> ks = BitsPerToken(tokens.size(), ins.bits_per_token(),
                                            ins.bits_per_feature());
    for (size_t t = 0; t < tokens.size(); ++t) {
      if (salt.empty()) {
        RETURN_IF_ERROR(hasher->Insert(tokens[t], ks[t], filter, bits));
      } else {
        salted_ = absl::StrCat(salt, std::string(1, kSep), tokens[t]);
        RETURN_IF_ERROR(hasher->Insert(salted_, ks[t], filter, bits));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Harden(const HardeningSpec& h, size_t filter_pos,
                      uint64_t row_index, std::string* f) {
    for (uint32_t k = 0; k < h.xor_fold(); ++k) *f = XorFold(*f);
    if (h.rule90()) *f = Rule90(*f);
    if (h.blip_epsilon() > 0) {
      RETURN_IF_ERROR(Blip(h.blip_epsilon(), blip_stream_.get(), row_index,
                           static_cast<uint32_t>(filter_pos), f));
    }
    if (h.balance()) *f = plan_->balancers[filter_pos]->Apply(*f);
    return absl::OkStatus();
  }

  absl::Status EncodeFilters(uint64_t row_index, EncodedRecord* out) {
    const LinkageSchema& s = plan_->spec;
    const auto& layout = plan_->header.layout();
    std::string* all = out->mutable_filters();
    all->assign(layout.total_bits() / 8, '\0');
    uint32_t missing = 0;
    for (size_t f = 0; f < plan_->filters.size(); ++f) {
      int who = plan_->filters[f];
      const auto& seg = layout.segments(static_cast<int>(f));
      std::string buf;
      if (who < 0) {  // record-level CLK
        buf.assign(s.clk().bits() / 8, '\0');
        std::string salt = Salt(s.clk().hardening());
        bool any = false;
        for (int i = 0; i < s.identifiers_size(); ++i) {
          if (!s.identifiers(i).has_clk() || !values_[i].present) continue;
          any = true;
          Tokens(i, &tokens_);
          RETURN_IF_ERROR(Insert(
              clk_hashers_[i].get(), s.identifiers(i).clk(), tokens_, salt,
              reinterpret_cast<uint8_t*>(buf.data()), s.clk().bits()));
        }
        if (!any) {
          missing |= 1u << f;
          continue;  // an all-zero filter, flagged missing
        }
        RETURN_IF_ERROR(Harden(s.clk().hardening(), f, row_index, &buf));
      } else {
        const IdentifierSpec& id = s.identifiers(who);
        if (!values_[who].present) {
          missing |= 1u << f;
          continue;
        }
        buf.assign(id.segment().bits() / 8, '\0');
        Tokens(who, &tokens_);
        RETURN_IF_ERROR(Insert(
            segment_hashers_[who].get(), id.segment().insert(), tokens_,
            Salt(id.segment().hardening()),
            reinterpret_cast<uint8_t*>(buf.data()), id.segment().bits()));
        RETURN_IF_ERROR(Harden(id.segment().hardening(), f, row_index, &buf));
      }
      all->replace(seg.offset_bits() / 8, buf.size(), buf);
    }
    out->set_missing_mask(missing);
    return absl::OkStatus();
  }

  absl::Status EncodeBlocking(EncodedRecord* out) {
    uint8_t mac[32];
    for (const auto& rule : plan_->spec.blocking()) {
      // Every combination of the parts' alternatives (metaphone gives two).
      std::vector<std::vector<std::string>> combos(1);
      for (const auto& part : rule.parts()) {
        auto alts = Resolve(part);
        if (alts.empty()) {
          combos.clear();
          break;
        }
        std::vector<std::vector<std::string>> next;
        for (const auto& c : combos) {
          for (const auto& a : alts) {
            next.push_back(c);
            next.back().push_back(a);
          }
        }
        combos = std::move(next);
      }
      std::vector<std::string> texts;
      for (auto& c : combos) {
        if (rule.unordered()) std::sort(c.begin(), c.end());
        std::string text = rule.name();
        for (const auto& v : c) absl::StrAppend(&text, std::string(1, kSep), v);
        texts.push_back(std::move(text));
      }
      // Sorting can make two combinations one.
      std::sort(texts.begin(), texts.end());
      texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
      for (const auto& text : texts) {
        RETURN_IF_ERROR(blocking_mac_->Compute(text, mac));
        uint64_t tok = 0;
        for (int b = 0; b < 8; ++b) tok = (tok << 8) | mac[b];
        out->add_blocking_tokens(tok);
      }
    }
    return absl::OkStatus();
  }

  absl::Status EncodeRecordKey(const CsvRow& row, uint64_t row_index,
                               EncodedRecord* out) {
    local_id_.clear();
    if (record_key_col_ < 0) {
      out->set_record_key(absl::StrCat(row_index));
      return absl::OkStatus();
    }
    local_id_ =
        std::string(absl::StripAsciiWhitespace(row.fields[record_key_col_]));
    if (local_id_.empty()) {
      return ColumnError(record_key_col_, "the record key is empty");
    }
    uint8_t mac[32];
    RETURN_IF_ERROR(record_key_mac_->Compute(local_id_, mac));
    out->set_record_key(util::HexEncode(
        absl::string_view(reinterpret_cast<const char*>(mac), 16)));
    return absl::OkStatus();
  }

  absl::Status EncodeEventAndAttributes(const CsvRow& row, EncodedRecord* out) {
    const LinkageSchema& s = plan_->spec;
    if (event_type_col_ >= 0) {
      out->set_event_type(
          std::string(absl::StripAsciiWhitespace(row.fields[event_type_col_])));
    } else {
      out->set_event_type(s.event().type().constant());
    }
    std::optional<Date> event_date;
    if (event_date_col_ >= 0) {
      std::string raw(absl::StripAsciiWhitespace(row.fields[event_date_col_]));
      if (!raw.empty()) {
        for (const auto& fmt : s.event().date_formats()) {
          auto d = ParseDate(raw, fmt);
          if (d.ok()) {
            event_date = *d;
            break;
          }
        }
        if (!event_date) {
          return ColumnError(
              event_date_col_,
              absl::StrCat("event date is not valid in any of the formats ",
                           absl::StrJoin(s.event().date_formats(), ", ")));
        }
        out->set_event_date(FormatIsoDate(*event_date));
      }
    }
    for (int a = 0; a < s.attributes_size(); ++a) {
      const auto& spec = s.attributes(a);
      std::string v;
      if (attr_cols_[a] >= 0) {
        v = std::string(absl::StripAsciiWhitespace(row.fields[attr_cols_[a]]));
        if (!IsValidUtf8(v)) {
          return ColumnError(attr_cols_[a], "value is not valid UTF-8");
        }
        if (attr_normalisers_[a]) v = attr_normalisers_[a]->Apply(v);
      }
      if (!v.empty() && !spec.allowed().empty() &&
          std::find(spec.allowed().begin(), spec.allowed().end(), v) ==
              spec.allowed().end()) {
        return ColumnError(
            attr_cols_[a],
            absl::StrCat("value is not one of the allowed values: ",
                         absl::StrJoin(spec.allowed(), ", ")));
      }
      auto* attr = out->add_attributes();
      attr->set_name(spec.name());
      attr->set_value(v);
    }
    for (const auto& d : s.derived()) {
      auto* attr = out->add_attributes();
      attr->set_name(d.name());
      const Value& birth = values_[IdentifierIndex(d.from())];
      if (!birth.present || !event_date) continue;
      int age = AgeInYears(birth.date, *event_date);
      if (age < 0) continue;  // event before birth: unknown
      attr->set_value(AgeBand(age, d.bands()));
    }
    return absl::OkStatus();
  }

  static std::string AgeBand(
      int age, const google::protobuf::RepeatedField<uint32_t>& b) {
    if (age < static_cast<int>(b[0])) return absl::StrCat("under-", b[0]);
    for (int i = 0; i + 1 < b.size(); ++i) {
      if (age < static_cast<int>(b[i + 1])) {
        return absl::StrCat(b[i], "-", b[i + 1] - 1);
      }
    }
    return absl::StrCat(b[b.size() - 1], "+");
  }

  std::shared_ptr<const Plan> plan_;
  std::vector<std::unique_ptr<Normaliser>> normalisers_;
  std::vector<std::unique_ptr<Normaliser>> attr_normalisers_;  // null: none
  std::vector<std::unique_ptr<TokenHasher>> segment_hashers_, clk_hashers_;
  std::unique_ptr<keys::Hmac> record_key_mac_, blocking_mac_;
  std::unique_ptr<keys::KeyStream> blip_stream_;
  std::vector<int> cols_, attr_cols_;
  int record_key_col_ = -1, event_type_col_ = -1, event_date_col_ = -1;
  std::vector<std::string> header_names_;
  std::vector<Value> values_;
  std::vector<std::string> tokens_;
  std::string salted_, local_id_;
};

// Typical number of tokens for one value, for the expected-fill estimate.
double TypicalTokens(const IdentifierSpec& id) {
  const auto& t = id.tokens();
  if (t.kind() == "exact") return 1;
  if (t.kind() == "date_parts") return 3;
  double len = id.type() == "date" ? 8 : 7;
  return t.padded() && t.q() > 1 ? len + t.q() - 1 : len - t.q() + 1;
}

double ExpectedFill(double bits_set, uint32_t bits, const HardeningSpec& h) {
  double f = 1.0 - std::exp(-bits_set / bits);
  for (uint32_t k = 0; k < h.xor_fold(); ++k) f = 2 * f * (1 - f);
  if (h.rule90()) f = 2 * f * (1 - f);
  if (h.blip_epsilon() > 0) {
    double p = BlipFlipProbability(h.blip_epsilon());
    f = f * (1 - p) + (1 - f) * p;
  }
  if (h.balance()) f = 0.5;
  return f;
}

double BitsSet(const IdentifierSpec& id, const InsertionSpec& ins) {
  return ins.bits_per_feature() > 0 ? ins.bits_per_feature()
                                    : ins.bits_per_token() * TypicalTokens(id);
}

std::vector<std::string> HardeningNames(const HardeningSpec& h) {
  std::vector<std::string> out;
  if (!h.salt().empty()) out.push_back("salt");
  if (h.xor_fold() > 0) out.push_back("xor_fold");
  if (h.rule90()) out.push_back("rule90");
  if (h.blip_epsilon() > 0) out.push_back("blip");
  if (h.balance()) out.push_back("balance");
  return out;
}

}  // namespace

absl::StatusOr<cohortlink::v1::FilterLayout> NativeLayout(
    const NativeSchema& schema) {
  const LinkageSchema& s = schema.spec;
  std::vector<int> filters;
  if (s.clk().bits() > 0) filters.push_back(-1);
  for (int i = 0; i < s.identifiers_size(); ++i) {
    if (s.identifiers(i).has_segment()) filters.push_back(i);
  }
  cohortlink::v1::FilterLayout layout;
  uint32_t offset = 0;
  for (int who : filters) {
    const HardeningSpec& hard = who < 0
                                    ? s.clk().hardening()
                                    : s.identifiers(who).segment().hardening();
    uint32_t bits =
        who < 0 ? s.clk().bits() : s.identifiers(who).segment().bits();
    auto* seg = layout.add_segments();
    seg->set_name(who < 0 ? "clk" : s.identifiers(who).name());
    seg->set_kind(who < 0 ? FilterSegment::RECORD : FilterSegment::FIELD);
    if (who >= 0) seg->set_compare_group(s.identifiers(who).compare_group());
    seg->set_offset_bits(offset);
    seg->set_length_bits(FinalBits(bits, hard));
    for (const auto& n : HardeningNames(hard)) seg->add_hardening(n);
    seg->set_blip_epsilon(hard.blip_epsilon());
    double set = 0;
    if (who < 0) {
      for (const auto& id : s.identifiers()) {
        if (id.has_clk()) set += BitsSet(id, id.clk());
      }
    } else {
      set = BitsSet(s.identifiers(who), s.identifiers(who).segment().insert());
    }
    seg->set_expected_fill(ExpectedFill(set, bits, hard));
    offset += seg->length_bits();
  }
  layout.set_total_bits(offset);
  return layout;
}

absl::StatusOr<std::unique_ptr<RecordEncoder>> NewNativeEncoder(
    const NativeSchema& schema, absl::string_view secret,
    const EncoderOptions& options) {
  auto plan = std::make_shared<Plan>();
  plan->spec = schema.spec;
  const LinkageSchema& s = plan->spec;
  ExtractHeader& h = plan->header;
  h.set_schema_kind("cohortlink/1");
  h.set_schema_name(s.name());
  h.set_schema_fingerprint(schema.fingerprint);
  ASSIGN_OR_RETURN(std::string kcv,
                   keys::KeyCheckValue(secret, schema.fingerprint));
  h.set_key_check_value(kcv);
  for (const auto& a : s.attributes()) h.add_attribute_names(a.name());
  for (const auto& d : s.derived()) h.add_attribute_names(d.name());
  for (const auto& r : s.blocking()) h.add_blocking_rules(r.name());

  ASSIGN_OR_RETURN(keys::SecretBytes rk, DeriveKey(secret, "record-key"));
  plan->record_key_key = std::string(rk.view());
  ASSIGN_OR_RETURN(keys::SecretBytes bk, DeriveKey(secret, "blocking"));
  plan->blocking_key = std::string(bk.view());
  if (options.blip_seed.empty()) {
    ASSIGN_OR_RETURN(keys::SecretBytes r, keys::RandomBytes(32));
    plan->blip_key = std::string(r.view());
  } else {
    plan->blip_key =
        keys::Sha256::Digest(absl::StrCat("blip-seed\n", options.blip_seed));
  }

  plan->segment_keys.resize(s.identifiers_size());
  plan->clk_keys.resize(s.identifiers_size());
  if (s.clk().bits() > 0) plan->filters.push_back(-1);
  for (int i = 0; i < s.identifiers_size(); ++i) {
    const IdentifierSpec& id = s.identifiers(i);
    if (id.has_segment()) {
      plan->filters.push_back(i);
      ASSIGN_OR_RETURN(keys::SecretBytes k,
                       DeriveKey(secret, "segment/" + id.name()));
      plan->segment_keys[i] = std::string(k.view());
    }
    if (id.has_clk()) {
      ASSIGN_OR_RETURN(keys::SecretBytes k,
                       DeriveKey(secret, "clk/" + id.name()));
      plan->clk_keys[i] = std::string(k.view());
    }
  }

  ASSIGN_OR_RETURN(*h.mutable_layout(), NativeLayout(schema));
  for (int who : plan->filters) {
    const HardeningSpec& hard = who < 0
                                    ? s.clk().hardening()
                                    : s.identifiers(who).segment().hardening();
    uint32_t bits =
        who < 0 ? s.clk().bits() : s.identifiers(who).segment().bits();
    std::string name = who < 0 ? "clk" : s.identifiers(who).name();
    std::optional<Balancer> bal;
    if (hard.balance()) {
      ASSIGN_OR_RETURN(keys::SecretBytes k,
                       DeriveKey(secret, "balance/" + name, 32));
      ASSIGN_OR_RETURN(auto stream, keys::KeyStream::Create(k.view()));
      ASSIGN_OR_RETURN(Balancer b, Balancer::Create(stream.get(), 0,
                                                    bits >> hard.xor_fold()));
      bal = std::move(b);
    }
    plan->balancers.push_back(std::move(bal));
  }
  ASSIGN_OR_RETURN(auto enc, NativeEncoder::Create(plan));
  return std::unique_ptr<RecordEncoder>(std::move(enc));
}

}  // namespace cohortlink::encoding
