#include "linkage/entities/link_state.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "util/status_macros.h"

namespace cohortlink::entities {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<LinkState>> LinkState::Link(
    blocking::Dataset data, std::vector<uint64_t> order, const LinkOptions& o,
    const model::Model* model, const blocking::BlockPlan* plan,
    const std::function<void(double)>& progress,
    const std::function<bool()>& cancelled) {
  if (order.size() != data.size())
    return absl::InvalidArgumentError("one order key per record");
  if ((model == nullptr) != (plan == nullptr))
    return absl::InvalidArgumentError("a model comes with its block plan");
  auto report = [&](double p) {
    if (progress) progress(p);
  };
  auto stop = [&] { return cancelled && cancelled(); };
  const absl::Status kCancelled =
      absl::CancelledError("linkage run superseded by a newer change");
  std::unique_ptr<LinkState> s(new LinkState(std::move(data)));
  s->options_ = o;
  s->options_.blocking.threads = std::max(1, o.threads);
  const size_t n = s->data_.size();
  s->order_ = std::move(order);
  s->alive_.assign(n, 1);
  s->active_.assign(n, 0);
  s->indexed_.assign(n, 0);
  s->rep_of_.resize(n);
  s->adjacent_.resize(n);
  s->entity_.assign(n, kNone);
  s->probability_.assign(n, 1.0f);
  s->live_ = n;
  s->first_new_ = n;
  RunStats& st = s->stats_;
  st.added = n;
  auto t0 = std::chrono::steady_clock::now();

  // Exact duplicates (identical filters and missing fields: the same
  // identifiers, e.g. one person's several events in an extract) belong to
  // one entity for certain; blocking, scoring and clustering see one
  // representative of each group, the member with the smallest order key,
  // and the others join its entity.
  std::vector<uint32_t> by_order(n);
  std::iota(by_order.begin(), by_order.end(), 0u);
  std::sort(by_order.begin(), by_order.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(s->order_[a], a) < std::tie(s->order_[b], b);
  });
  s->by_content_.reserve(n);
  for (uint32_t i : by_order) s->Group(i);
  std::vector<uint32_t> reps;
  for (uint32_t i = 0; i < n; ++i)
    if (s->active_[i]) reps.push_back(i);
  st.duplicates = n - reps.size();
  s->index_ =
      blocking::BlockIndex::Build(s->data_, reps, s->options_.blocking, plan);
  for (uint32_t i : reps) s->indexed_[i] = 1;
  auto candidates = s->index_.Pairs(s->data_, s->active_, s->active_,
                                    s->options_.blocking, &st.blocking);
  st.times.blocking_s = Seconds(t0);
  report(0.3);
  if (stop()) return kCancelled;

  t0 = std::chrono::steady_clock::now();
  if (model != nullptr) {
    s->model_ = *model;
  } else {
    // The model describes all record pairs, identical ones included (they
    // count as matches on every comparison for the prior), so it is
    // trained on every record, with the representatives' candidates.
    model::TrainOptions mo = o.model;
    mo.within_source = o.blocking.within_source;
    for (const auto& [rep, dups] : s->duplicates_) {
      uint64_t c = dups.size() + 1;
      mo.identical_pairs += c * (c - 1) / 2;
    }
    ASSIGN_OR_RETURN(s->model_, model::Train(s->data_, candidates, mo));
  }
  st.times.training_s = Seconds(t0);
  report(0.45);
  if (stop()) return kCancelled;

  t0 = std::chrono::steady_clock::now();
  s->Score(candidates);
  std::vector<blocking::Pair>().swap(candidates);
  st.times.scoring_s = Seconds(t0);
  report(0.85);
  if (stop()) return kCancelled;

  t0 = std::chrono::steady_clock::now();
  s->Recluster(std::move(reps));
  st.times.clustering_s = Seconds(t0);
  return s;
}

void LinkState::Group(uint32_t i) {
  auto& same = by_content_[data_.ContentHash(i)];
  for (uint32_t rep : same) {
    if (!data_.Identical(rep, i)) continue;
    duplicates_[rep].push_back(i);
    rep_of_[i] = rep;
    return;
  }
  same.push_back(i);
  rep_of_[i] = i;
  active_[i] = 1;
}

void LinkState::Transfer(uint32_t from, uint32_t to,
                         std::vector<uint32_t>* to_index) {
  auto& same = by_content_[data_.ContentHash(from)];
  std::replace(same.begin(), same.end(), from, to);
  active_[from] = 0;
  active_[to] = 1;
  adjacent_[to] = std::move(adjacent_[from]);
  std::vector<std::pair<uint32_t, float>>().swap(adjacent_[from]);
  for (const auto& [other, p] : adjacent_[to]) {
    for (auto& link : adjacent_[other])
      if (link.first == from) link.first = to;
  }
  auto node = duplicates_.extract(from);
  std::vector<uint32_t> members = std::move(node.mapped());
  members.erase(std::remove(members.begin(), members.end(), to), members.end());
  if (alive_[from]) members.push_back(from);
  rep_of_[to] = to;
  for (uint32_t m : members) rep_of_[m] = to;
  if (!members.empty()) duplicates_[to] = std::move(members);
  if (!indexed_[to]) {
    indexed_[to] = 1;
    to_index->push_back(to);
  }
}

absl::Status LinkState::Add(uint32_t source,
                            const cohortlink::v1::EncodedRecord& r,
                            uint32_t partition, uint64_t order) {
  RETURN_IF_ERROR(data_.Add(source, r, partition));
  order_.push_back(order);
  alive_.push_back(0);  // until Update()
  active_.push_back(0);
  indexed_.push_back(0);
  rep_of_.push_back(static_cast<uint32_t>(rep_of_.size()));
  adjacent_.emplace_back();
  entity_.push_back(kNone);
  probability_.push_back(1.0f);
  return absl::OkStatus();
}

absl::Status LinkState::Update(absl::Span<const uint32_t> removed) {
  stats_ = RunStats();
  RunStats& st = stats_;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<uint32_t> seeds, to_index;
  // Removed records leave their groups, their links and their entities.
  for (uint32_t r : removed) {
    if (r >= first_new_ || !alive_[r])
      return absl::InvalidArgumentError("removing a record that is not live");
  }
  for (uint32_t r : removed) {
    alive_[r] = 0;
    Leave(r);
    --live_;
    ++st.removed;
    uint32_t rep = rep_of_[r];
    auto dups = duplicates_.find(rep);
    if (rep != r) {  // a duplicate leaves its group
      auto& m = dups->second;
      m.erase(std::find(m.begin(), m.end(), r));
      if (m.empty()) duplicates_.erase(dups);
      seeds.push_back(rep);
    } else if (dups != duplicates_.end()) {  // the next member represents
      uint32_t next = *std::min_element(
          dups->second.begin(), dups->second.end(),
          [&](uint32_t a, uint32_t b) {
            return std::tie(order_[a], a) < std::tie(order_[b], b);
          });
      Transfer(r, next, &to_index);
      seeds.push_back(next);
    } else {  // the last of its group: its links go
      auto& same = by_content_[data_.ContentHash(r)];
      same.erase(std::find(same.begin(), same.end(), r));
      if (same.empty()) by_content_.erase(data_.ContentHash(r));
      active_[r] = 0;
      for (const auto& [other, p] : adjacent_[r]) {
        auto& back = adjacent_[other];
        back.erase(std::remove_if(back.begin(), back.end(),
                                  [&](const auto& l) { return l.first == r; }),
                   back.end());
        seeds.push_back(other);
      }
      std::vector<std::pair<uint32_t, float>>().swap(adjacent_[r]);
    }
  }
  // Added records join a group of identical live records (taking it over
  // when their order key is smaller) or start one.
  std::vector<uint8_t> fresh(data_.size(), 0);
  std::vector<uint32_t> new_reps;
  for (size_t i = first_new_; i < data_.size(); ++i) {
    alive_[i] = 1;
    ++live_;
    ++st.added;
  }
  std::vector<uint32_t> by_order;
  for (size_t i = first_new_; i < data_.size(); ++i)
    by_order.push_back(static_cast<uint32_t>(i));
  std::sort(by_order.begin(), by_order.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(order_[a], a) < std::tie(order_[b], b);
  });
  for (uint32_t i : by_order) {
    Group(i);
    if (active_[i]) {
      fresh[i] = 1;
      new_reps.push_back(i);
      indexed_[i] = 1;
      to_index.push_back(i);
      continue;
    }
    ++st.duplicates;
    uint32_t rep = rep_of_[i];
    if (std::tie(order_[i], i) < std::tie(order_[rep], rep)) {
      Transfer(rep, i, &to_index);
      rep = i;
    }
    seeds.push_back(rep);
  }
  first_new_ = data_.size();
  std::sort(to_index.begin(), to_index.end());
  index_.Add(data_, to_index, options_.threads);
  auto candidates =
      index_.Pairs(data_, active_, fresh, options_.blocking, &st.blocking);
  st.times.blocking_s = Seconds(t0);

  t0 = std::chrono::steady_clock::now();
  Score(candidates);
  st.times.scoring_s = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  seeds.insert(seeds.end(), new_reps.begin(), new_reps.end());
  // Seeds may have been represented by another member since.
  for (uint32_t& x : seeds) x = rep_of_[x];
  seeds.erase(std::remove_if(seeds.begin(), seeds.end(),
                             [&](uint32_t x) { return !active_[x]; }),
              seeds.end());
  Recluster(std::move(seeds));
  st.times.clustering_s = Seconds(t0);
  return absl::OkStatus();
}

void LinkState::Score(const std::vector<blocking::Pair>& pairs) {
  const int threads = std::max(1, options_.threads);
  std::vector<std::vector<ScoredLink>> found(threads);
  auto work = [&](int t) {
    std::vector<uint8_t> lv(data_.num_fields());
    for (size_t p = t; p < pairs.size(); p += threads) {
      auto [i, j] = pairs[p];
      model::Compare(data_, i, j, model_.thresholds, absl::MakeSpan(lv));
      double prob = model_.Probability(lv, data_.source(i) == data_.source(j));
      if (prob >= options_.cluster.threshold)
        found[t].push_back({i, j, static_cast<float>(prob)});
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  stats_.comparisons += pairs.size();
  for (const auto& f : found) {
    for (const ScoredLink& l : f) {
      adjacent_[l.a].push_back({l.b, l.probability});
      adjacent_[l.b].push_back({l.a, l.probability});
      ++stats_.links;
    }
  }
}

void LinkState::Recluster(std::vector<uint32_t> seeds) {
  // The components holding the seeds, in order-key order (Cluster breaks
  // ties by index).
  std::vector<uint32_t> reps;
  {
    absl::flat_hash_set<uint32_t> seen;
    std::vector<uint32_t> stack;
    for (uint32_t s : seeds) {
      if (!seen.insert(s).second) continue;
      stack.push_back(s);
      while (!stack.empty()) {
        uint32_t x = stack.back();
        stack.pop_back();
        reps.push_back(x);
        for (const auto& [y, p] : adjacent_[x])
          if (seen.insert(y).second) stack.push_back(y);
      }
    }
  }
  std::sort(reps.begin(), reps.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(order_[a], a) < std::tie(order_[b], b);
  });
  absl::flat_hash_map<uint32_t, uint32_t> local;
  local.reserve(reps.size());
  for (uint32_t k = 0; k < reps.size(); ++k) local[reps[k]] = k;
  std::vector<uint32_t> sources(reps.size());
  std::vector<ScoredLink> links;
  for (uint32_t k = 0; k < reps.size(); ++k) {
    sources[k] = data_.source(reps[k]);
    for (const auto& [y, p] : adjacent_[reps[k]]) {
      uint32_t ky = local.at(y);
      if (k < ky) links.push_back({k, ky, p});
    }
  }
  // Same-source merges weigh every pair of the two entities, linked or
  // not, with the model.
  std::vector<uint8_t> levels(data_.num_fields());
  auto weight = [&](uint32_t a, uint32_t b) {
    model::Compare(data_, reps[a], reps[b], model_.thresholds,
                   absl::MakeSpan(levels));
    return model_.Weight(levels, sources[a] == sources[b]);
  };
  Clustering c = Cluster(sources, std::move(links), options_.cluster, weight);
  stats_.cluster = c.stats;

  // Back to records: a duplicate joins its representative's entity, its
  // best link being to an identical record (the probability the model
  // gives a pair that agrees on everything); a representative that was
  // alone now has that link too.
  std::vector<uint32_t> entity_size(reps.size(), 0);
  for (uint32_t e : c.entity) ++entity_size[e];
  touched_.clear();
  std::vector<uint8_t> lv(data_.num_fields());
  for (uint32_t k = 0; k < reps.size(); ++k) {
    uint32_t r = reps[k];
    uint32_t label = reps[c.entity[k]];
    float p = c.probability[k];
    auto dups = duplicates_.find(r);
    if (dups != duplicates_.end()) {
      model::Compare(data_, r, r, model_.thresholds, absl::MakeSpan(lv));
      float ident = static_cast<float>(model_.Probability(lv, true));
      p = entity_size[c.entity[k]] == 1 ? ident : std::max(p, ident);
      for (uint32_t d : dups->second) {
        Assign(d, label);
        probability_[d] = p;
        touched_.push_back(d);
      }
    }
    Assign(r, label);
    probability_[r] = p;
    touched_.push_back(r);
  }
  std::sort(touched_.begin(), touched_.end());
  stats_.touched = touched_.size();
}

void LinkState::Assign(uint32_t i, uint32_t label) {
  Leave(i);
  entity_[i] = label;
  ++entity_size_[label];
}

void LinkState::Leave(uint32_t i) {
  if (entity_[i] == kNone) return;
  auto it = entity_size_.find(entity_[i]);
  if (--it->second == 0) entity_size_.erase(it);
  entity_[i] = kNone;
}

std::vector<blocking::Pair> LinkState::Candidates() const {
  return index_.Pairs(data_, active_, active_, options_.blocking);
}

}  // namespace cohortlink::entities
