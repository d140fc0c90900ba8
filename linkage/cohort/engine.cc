#include "linkage/cohort/engine.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "linkage/encoding/dates.h"

namespace cohortlink::cohort {

using cohortlink::v1::CohortQuery;
using cohortlink::v1::EventSelector;

namespace {

// A selector resolved against the index's dictionaries. `never` when a
// name it needs does not occur (then nothing matches).
struct Resolved {
  bool never = false;
  uint8_t agency_type = 0;
  uint16_t event_type = 0;
  std::vector<std::pair<int, std::vector<uint16_t>>> filters;

  bool Matches(const QueryIndex& x, size_t r) const {
    if (never || x.agency_type(r) != agency_type ||
        x.event_type(r) != event_type) {
      return false;
    }
    for (const auto& [a, values] : filters) {
      if (std::find(values.begin(), values.end(), x.attribute(r, a)) ==
          values.end()) {
        return false;
      }
    }
    return true;
  }
};

Resolved Resolve(const QueryIndex& x, const EventSelector& s) {
  Resolved r;
  int type = QueryIndex::AgencyTypeId(s.agency_type());
  int event = x.event_types().Find(s.event_type());
  if (type < 0 || event < 0) {
    r.never = true;
    return r;
  }
  r.agency_type = static_cast<uint8_t>(type);
  r.event_type = static_cast<uint16_t>(event);
  for (const auto& [name, values] : s.filters()) {
    int a = x.AttributeId(name);
    std::vector<uint16_t> ids;
    if (a >= 0) {
      for (const auto& v : values.values()) {
        int id = x.attribute_values(a).Find(v);
        if (id >= 0) ids.push_back(static_cast<uint16_t>(id));
      }
    }
    if (ids.empty()) {
      r.never = true;
      return r;
    }
    r.filters.push_back({a, std::move(ids)});
  }
  return r;
}

int32_t Day(const std::string& iso) {
  auto d = encoding::ParseDate(iso, "%Y-%m-%d");
  return d.ok() ? static_cast<int32_t>(encoding::DaysFromCivil(*d)) : 0;
}

}  // namespace

void LeaveOutSuppressedRows(cohortlink::v1::QueryResult* r) {
  auto* cells = r->mutable_cells();
  uint32_t left_out = 0;
  int kept = 0;
  for (int c = 0; c < cells->size(); ++c) {
    const auto& cell = cells->Get(c);
    bool shown = c == 0 || !cell.cohort().suppressed();
    for (const auto& o : cell.outcomes()) shown |= !o.suppressed();
    if (!shown) {
      ++left_out;
      continue;
    }
    if (kept != c) cells->SwapElements(kept, c);
    ++kept;
  }
  while (cells->size() > kept) cells->RemoveLast();
  r->set_rows_left_out(left_out);
}

uint64_t RoundTo(uint64_t v, uint32_t base) {
  if (base <= 1) return v;
  return (v + base / 2) / base * base;
}

absl::StatusOr<RawTable> Evaluate(const QueryIndex& x, const CohortQuery& q,
                                  const StopRequested& stop,
                                  EvaluateOptions options) {
  // Checked every kStopStride members, so a call whose caller has gone
  // stops within microseconds instead of running to the end.
  constexpr uint32_t kStopStride = 4096;
  uint32_t until_check = kStopStride;
  auto stopped = [&] {
    if (stop == nullptr || --until_check > 0) return false;
    until_check = kStopStride;
    return stop();
  };
  const absl::Status kStopped =
      absl::CancelledError("the caller cancelled or its deadline passed");
  RawTable t;
  const size_t nb = q.breakdowns_size(), no = q.outcomes_size();
  std::vector<int> battr(nb);
  for (size_t b = 0; b < nb; ++b) {
    battr[b] = x.AttributeId(q.breakdowns(b));
    if (battr[b] < 0 && !options.absent_breakdowns_unknown) {
      return absl::InvalidArgumentError(absl::StrCat(
          "breakdowns[", b, "]: the linked data carry no attribute '",
          q.breakdowns(b),
          "' (they carry: ", absl::StrJoin(x.attribute_names(), ", "), ")"));
    }
    t.breakdowns.push_back(q.breakdowns(b));
  }
  for (const auto& o : q.outcomes()) t.outcome_names.push_back(o.name());
  const float floor = static_cast<float>(q.min_match_probability());
  Resolved cohort = Resolve(x, q.cohort().event());
  std::vector<Resolved> outcomes;
  for (const auto& o : q.outcomes()) outcomes.push_back(Resolve(x, o.event()));
  const int32_t from = Day(q.cohort().from()), to = Day(q.cohort().to());

  // Members: certain entities by their first qualifying event; records
  // with an uncertain link by themselves.
  absl::flat_hash_map<uint32_t, uint32_t> first;  // entity -> index record
  std::vector<uint32_t> alone;                    // uncertain records
  if (!cohort.never) {
    for (uint32_t r : x.Events(cohort.agency_type, cohort.event_type)) {
      if (stopped()) return kStopped;
      int32_t d = x.date(r);
      if (d == kNoDate || d < from || d > to || !cohort.Matches(x, r)) continue;
      if (x.probability(r) < floor) {
        alone.push_back(r);
        continue;
      }
      auto [it, fresh] = first.try_emplace(x.entity(r), r);
      const int32_t best = x.date(it->second);
      if (!fresh && (d < best || (d == best && r < it->second))) it->second = r;
    }
  }

  // Cells: every combination of a breakdown value or "all". Each
  // combination of values gets its 2^nb cells once (its ancestors), so a
  // member costs one lookup, not one per cell.
  const uint32_t nmask = 1u << nb;
  absl::flat_hash_map<std::vector<int>, uint32_t> cell_of;
  auto cell = [&](const std::vector<int>& labels) -> uint32_t {
    auto [it, fresh] =
        cell_of.try_emplace(labels, static_cast<uint32_t>(t.cells.size()));
    if (fresh) {
      t.cells.push_back({labels, 0, 0, std::vector<uint64_t>(no, 0),
                         std::vector<uint8_t>(no, 0)});
    }
    return it->second;
  };
  cell(std::vector<int>(nb, -1));  // the grand total first
  absl::flat_hash_map<std::vector<int>, uint32_t> combo_of;
  std::vector<int> labels(nb), combo(nb);
  auto count = [&](uint32_t index_record, uint8_t key, uint64_t token,
                   bool certain) {
    const int32_t d0 = x.date(index_record);
    uint16_t has = 0;
    for (size_t o = 0; o < no; ++o) {
      const Resolved& sel = outcomes[o];
      // In 64 bits: a day plus a window never wraps.
      const int64_t lo = int64_t{d0} + q.outcomes(o).from_day();
      const int64_t hi = int64_t{d0} + q.outcomes(o).to_day();
      auto check = [&](uint32_t r) {
        int32_t d = x.date(r);
        return d != kNoDate && d >= lo && d <= hi && sel.Matches(x, r);
      };
      bool found = false;
      if (!certain) {
        found = check(index_record);
      } else {
        size_t n;
        const uint32_t* recs = x.entity_records(x.entity(index_record), &n);
        for (size_t k = 0; k < n && !found; ++k) {
          uint32_t r = recs[k];
          if (r != index_record && x.probability(r) < floor) continue;
          found = check(r);
        }
      }
      if (found) has |= uint16_t{1} << o;
    }
    for (size_t b = 0; b < nb; ++b)  // label 0: "unknown" when absent
      labels[b] = battr[b] < 0 ? 0 : x.attribute(index_record, battr[b]);
    auto [it, fresh] = combo_of.try_emplace(
        labels, static_cast<uint32_t>(t.ancestors.size() / nmask));
    if (fresh) {
      for (uint32_t mask = 0; mask < nmask; ++mask) {
        for (size_t b = 0; b < nb; ++b)
          combo[b] = (mask >> b) & 1 ? -1 : labels[b];
        t.ancestors.push_back(cell(combo));
      }
    }
    const uint32_t* anc = &t.ancestors[size_t{it->second} * nmask];
    for (uint32_t mask = 0; mask < nmask; ++mask) {
      RawCell& c = t.cells[anc[mask]];
      ++c.cohort;
      c.cohort_key = static_cast<uint8_t>(c.cohort_key + key);
      for (size_t o = 0; o < no; ++o) {
        if (!(has >> o & 1)) continue;
        ++c.outcomes[o];
        c.outcome_keys[o] = static_cast<uint8_t>(c.outcome_keys[o] + key);
      }
    }
    t.members.push_back({token, it->second, has, !certain});
  };
  for (const auto& [entity, r] : first) {
    if (stopped()) return kStopped;
    count(r, x.entity_key(entity), x.entity_token(entity), true);
  }
  for (uint32_t r : alone) {
    if (stopped()) return kStopped;
    count(r, x.record_key(r), x.record_token(r), false);
    ++t.uncertain;
    t.uncertain_key = static_cast<uint8_t>(t.uncertain_key + x.record_key(r));
  }
  for (size_t b = 0; b < nb; ++b) {
    std::vector<std::string> names;
    if (battr[b] < 0) {
      names.push_back("unknown");
    } else {
      for (const auto& v : x.attribute_values(battr[b]).names)
        names.push_back(v.empty() ? "unknown" : v);
    }
    t.label_names.push_back(std::move(names));
  }
  // Cells in label order (values alphabetically, "unknown" then the margin
  // last in each breakdown), the grand total first.
  auto rank = [&](size_t b, int l) -> std::pair<int, std::string> {
    if (l < 0) return {2, ""};
    const std::string& name = t.label_names[b][l];
    return {name == "unknown" ? 1 : 0, name};
  };
  std::vector<uint32_t> order(t.cells.size());
  for (uint32_t c = 0; c < order.size(); ++c) order[c] = c;
  std::sort(order.begin() + 1, order.end(), [&](uint32_t a, uint32_t c) {
    for (size_t b = 0; b < nb; ++b) {
      auto ra = rank(b, t.cells[a].labels[b]),
           rc = rank(b, t.cells[c].labels[b]);
      if (ra != rc) return ra < rc;
    }
    return false;
  });
  std::vector<RawCell> sorted;
  sorted.reserve(t.cells.size());
  std::vector<uint32_t> moved_to(t.cells.size());
  for (uint32_t c : order) {
    moved_to[c] = static_cast<uint32_t>(sorted.size());
    sorted.push_back(std::move(t.cells[c]));
  }
  t.cells = std::move(sorted);
  for (uint32_t& c : t.ancestors) c = moved_to[c];
  return t;
}

std::vector<SetSketch> SketchCounts(const RawTable& raw,
                                    absl::Span<const CountRef> counts,
                                    uint32_t width) {
  const size_t nc = raw.cells.size(), nm = raw.outcome_names.size() + 1;
  const size_t nmask =
      raw.cells.empty() ? 1 : size_t{1} << raw.cells[0].labels.size();
  std::vector<SetSketch> out(counts.size(), SetSketch(width));
  std::vector<int32_t> slot(nc * nm + 1, -1);  // the uncertain count last
  for (size_t k = 0; k < counts.size(); ++k) {
    const CountRef& c = counts[k];
    slot[CountSlot(c, nc, nm)] = static_cast<int32_t>(k);
  }
  if (counts.empty()) return out;
  for (const RawTable::Member& m : raw.members) {
    // Every sketch has the same width, so a token's cells are the same in
    // each: hashed once.
    const SetSketch::Placed placed = out[0].Place(m.token);
    const int32_t u = slot[CountSlot({nc, 0}, nc, nm)];
    if (m.uncertain && u >= 0) out[u].Insert(placed);
    const uint32_t* anc = &raw.ancestors[size_t{m.combo} * nmask];
    for (size_t mask = 0; mask < nmask; ++mask) {
      const int32_t* s = &slot[size_t{anc[mask]} * nm];
      if (s[0] >= 0) out[s[0]].Insert(placed);
      for (uint32_t bits = m.outcomes; bits != 0; bits &= bits - 1) {
        int o = __builtin_ctz(bits);
        if (s[o + 1] >= 0) out[s[o + 1]].Insert(placed);
      }
    }
  }
  return out;
}

int Perturbation(uint8_t k) {
  if (k < 13) return -2;
  if (k < 64) return -1;
  if (k < 192) return 0;
  if (k < 243) return 1;
  return 2;
}

absl::StatusOr<cohortlink::v1::DisclosurePolicy> EffectivePolicy(
    const cohortlink::v1::DisclosurePolicy& server,
    const cohortlink::v1::DisclosurePolicy& requested) {
  cohortlink::v1::DisclosurePolicy p = server;
  if (requested.threshold() != 0) {
    if (requested.threshold() < server.threshold()) {
      return absl::PermissionDeniedError(
          absl::StrCat("disclosure.threshold: ", requested.threshold(),
                       " is looser than the server's ", server.threshold(),
                       "; an analyst may only make the policy stricter"));
    }
    p.set_threshold(requested.threshold());
  }
  if (requested.rounding() != 0) {
    if (server.rounding() > 1 &&
        requested.rounding() % server.rounding() != 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("disclosure.rounding: ", requested.rounding(),
                       " is not a multiple of the server's ", server.rounding(),
                       "; an analyst may only make the policy stricter"));
    }
    p.set_rounding(requested.rounding());
  }
  return p;
}

cohortlink::v1::QueryResult Protect(const RawTable& raw,
                                    const cohortlink::v1::DisclosurePolicy& p,
                                    uint32_t base_threshold,
                                    const std::vector<bool>& also_hidden) {
  const size_t nc = raw.cells.size(), no = raw.outcome_names.size();
  const size_t nm = no + 1;  // measure 0: the cohort; 1..no: outcomes
  auto value = [&](size_t c, size_t m) {
    return m == 0 ? raw.cells[c].cohort : raw.cells[c].outcomes[m - 1];
  };
  auto key = [&](size_t c, size_t m) {
    return m == 0 ? raw.cells[c].cohort_key : raw.cells[c].outcome_keys[m - 1];
  };
  std::vector<std::vector<int64_t>> perturbed(nc, std::vector<int64_t>(nm));
  for (size_t c = 0; c < nc; ++c)
    for (size_t m = 0; m < nm; ++m)
      perturbed[c][m] =
          static_cast<int64_t>(value(c, m)) + Perturbation(key(c, m));
  // Relations total = sum of cells: a margin cell and the cells that differ
  // from it in one breakdown by having a value there.
  std::vector<std::pair<size_t, std::vector<size_t>>> relations;
  for (size_t c = 0; c < nc; ++c) {
    const auto& lc = raw.cells[c].labels;
    for (size_t b = 0; b < lc.size(); ++b) {
      if (lc[b] != -1) continue;
      std::vector<size_t> parts;
      for (size_t d = 0; d < nc; ++d) {
        const auto& ld = raw.cells[d].labels;
        bool child = ld[b] != -1;
        for (size_t k = 0; k < lc.size() && child; ++k)
          if (k != b && ld[k] != lc[k]) child = false;
        if (child) parts.push_back(d);
      }
      if (!parts.empty()) relations.push_back({c, std::move(parts)});
    }
  }
  // Suppression for threshold t, on top of that for t - 1, so that a
  // stricter threshold never shows a count a looser one hid.
  std::vector<std::vector<bool>> suppressed(nc, std::vector<bool>(nm, false));
  const bool given = also_hidden.size() == nc * nm + 1;
  if (given)
    for (size_t c = 0; c < nc; ++c)
      for (size_t m = 0; m < nm; ++m)
        suppressed[c][m] = also_hidden[CountSlot({c, m}, nc, nm)];
  // 64-bit, so that the last threshold cannot wrap the loop around
  // (ValidateQuery bounds it by kMaxThreshold anyway).
  for (uint64_t t = std::min(base_threshold, p.threshold()); t <= p.threshold();
       ++t) {
    for (size_t c = 0; c < nc; ++c) {
      for (size_t m = 0; m < nm; ++m) {
        // Counts below t after perturbation, and true zeros.
        if (perturbed[c][m] < static_cast<int64_t>(t) || value(c, m) == 0)
          suppressed[c][m] = true;
        // The people without an outcome are a count too.
        if (m > 0) {
          uint64_t without = value(c, 0) - value(c, m);
          if (without > 0 && without < t) suppressed[c][m] = true;
        }
      }
    }
    // Secondary: no relation may keep exactly one hidden term; hide its
    // smallest visible part (or the total when every part shows).
    for (size_t m = 0; m < nm; ++m) {
      for (bool changed = true; changed;) {
        changed = false;
        for (const auto& [total, parts] : relations) {
          int hidden = suppressed[total][m];
          for (size_t d : parts) hidden += suppressed[d][m];
          if (hidden != 1) continue;
          size_t pick = SIZE_MAX;
          for (size_t d : parts) {
            if (!suppressed[d][m] &&
                (pick == SIZE_MAX || value(d, m) < value(pick, m)))
              pick = d;
          }
          if (pick == SIZE_MAX) pick = total;
          suppressed[pick][m] = true;
          changed = true;
        }
      }
    }
  }
  std::vector<std::vector<int64_t>> published(nc, std::vector<int64_t>(nm, 0));
  for (size_t c = 0; c < nc; ++c)
    for (size_t m = 0; m < nm; ++m)
      if (!suppressed[c][m])
        published[c][m] = static_cast<int64_t>(
            RoundTo(static_cast<uint64_t>(perturbed[c][m]), p.rounding()));

  cohortlink::v1::QueryResult out;
  for (const auto& b : raw.breakdowns) out.add_breakdowns(b);
  for (const auto& o : raw.outcome_names) out.add_outcome_names(o);
  *out.mutable_policy() = p;
  uint64_t hidden = 0;
  for (size_t c = 0; c < nc; ++c) {
    auto* cell = out.add_cells();
    for (size_t b = 0; b < raw.cells[c].labels.size(); ++b) {
      int l = raw.cells[c].labels[b];
      cell->add_labels(l < 0 ? "all" : raw.label_names[b][l]);
    }
    auto set = [&](cohortlink::v1::PublishedCount* pc, size_t m) {
      pc->set_suppressed(suppressed[c][m]);
      pc->set_value(suppressed[c][m] ? 0 : published[c][m]);
      hidden += suppressed[c][m];
    };
    set(cell->mutable_cohort(), 0);
    for (size_t m = 1; m < nm; ++m) {
      set(cell->add_outcomes(), m);
      bool shown =
          !suppressed[c][0] && !suppressed[c][m] && published[c][0] > 0;
      cell->add_rates(
          shown ? static_cast<double>(published[c][m]) / published[c][0] : -1);
    }
  }
  int64_t u =
      static_cast<int64_t>(raw.uncertain) + Perturbation(raw.uncertain_key);
  // Like every count: a true zero is hidden as a small count is.
  bool u_hidden = raw.uncertain == 0 ||
                  u < static_cast<int64_t>(p.threshold()) ||
                  (given && also_hidden[CountSlot({nc, 0}, nc, nm)]);
  out.mutable_uncertain()->set_suppressed(u_hidden);
  out.mutable_uncertain()->set_value(
      u_hidden ? 0 : RoundTo(static_cast<uint64_t>(u), p.rounding()));
  out.set_suppressed_cells(hidden);
  return out;
}

}  // namespace cohortlink::cohort
