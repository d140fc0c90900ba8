#include "linkage/model/mixture.h"

#include <algorithm>
#include <cmath>

namespace cohortlink::model {
namespace {

constexpr double kEdge = 1e-6;  // values are clamped into [kEdge, 1-kEdge]

double Clamp01(double x) { return std::clamp(x, kEdge, 1 - kEdge); }

// A Beta with the weighted mean and variance of `values`; false when the
// weights sum to (almost) nothing.
bool MomentFit(absl::Span<const double> values, absl::Span<const double> w,
               Beta* out) {
  double sw = 0, mean = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    sw += w[i];
    mean += w[i] * values[i];
  }
  if (sw < 1e-6) return false;
  mean /= sw;
  double var = 0;
  for (size_t i = 0; i < values.size(); ++i)
    var += w[i] * (values[i] - mean) * (values[i] - mean);
  var = std::max(var / sw, 1e-8);
  mean = std::clamp(mean, 1e-4, 1 - 1e-4);
  // A Beta needs var < mean (1 - mean); cap just below.
  var = std::min(var, 0.99 * mean * (1 - mean));
  double c = mean * (1 - mean) / var - 1;
  out->a = std::max(mean * c, 1e-3);
  out->b = std::max((1 - mean) * c, 1e-3);
  return true;
}

double LogAddExp(double x, double y) {
  double hi = std::max(x, y);
  return hi + std::log(std::exp(x - hi) + std::exp(y - hi));
}

}  // namespace

double Beta::LogPdf(double x) const {
  x = Clamp01(x);
  return std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
         (a - 1) * std::log(x) + (b - 1) * std::log(1 - x);
}

double BetaMixture::MonotoneLogRatio(double x) const {
  // log ratio = c + (am - au) log x + (bm - bu) log(1 - x); its stationary
  // point, when it is a minimum inside (0, 1), is where it turns.
  auto raw = [&](double v) { return match.LogPdf(v) - non_match.LogPdf(v); };
  const double da = match.a - non_match.a, db = match.b - non_match.b;
  // d/dx = da / x - db / (1 - x) = 0 at x* = da / (da + db).
  if (da < 0 && db < 0) {  // raw falls then rises: minimum at x*
    double turn = da / (da + db);
    return raw(std::max(x, turn));
  }
  if (da >= 0 && db <= 0) return raw(x);  // rising everywhere
  // Falls somewhere at the top (da > 0, db > 0: maximum at x*; or da < 0,
  // db >= 0: falling everywhere): hold the running maximum from below.
  if (da > 0 && db > 0) {
    double turn = da / (da + db);
    return raw(std::min(x, turn));
  }
  return 0;  // falling everywhere: its monotone fit is flat, no evidence
}

double BetaMixture::Posterior(double x) const {
  double w = std::log(match_share / (1 - match_share)) + MonotoneLogRatio(x);
  if (w > 40) return 1;
  double e = std::exp(w);
  return e / (1 + e);
}

bool FitBetaMixture(absl::Span<const double> raw, BetaMixture* out,
                    int max_iterations, double tolerance) {
  std::vector<double> v(raw.begin(), raw.end());
  for (double& x : v) x = Clamp01(x);
  if (v.size() < 2) return false;
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front() == sorted.back()) return false;
  // Start: the top tenth are the matches.
  const double split = sorted[sorted.size() * 9 / 10];
  std::vector<double> pm(v.size()), pu(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    pm[i] = v[i] >= split ? 1 : 0;
    pu[i] = 1 - pm[i];
  }
  BetaMixture f;
  if (!MomentFit(v, pm, &f.match) || !MomentFit(v, pu, &f.non_match))
    return false;
  f.match_share = 0.1;
  double previous = 0;
  for (int it = 1; it <= max_iterations; ++it) {
    f.iterations = it;
    double ll = 0, share = 0;
    const double lm0 = std::log(f.match_share),
                 lu0 = std::log(1 - f.match_share);
    for (size_t i = 0; i < v.size(); ++i) {
      double lm = lm0 + f.match.LogPdf(v[i]);
      double lu = lu0 + f.non_match.LogPdf(v[i]);
      double total = LogAddExp(lm, lu);
      ll += total;
      pm[i] = std::exp(lm - total);
      pu[i] = 1 - pm[i];
      share += pm[i];
    }
    f.match_share = std::clamp(share / v.size(), 1e-9, 1 - 1e-9);
    if (!MomentFit(v, pm, &f.match) || !MomentFit(v, pu, &f.non_match))
      return false;
    if (it > 1 && std::abs(ll - previous) <= tolerance * std::abs(ll)) {
      f.converged = true;
      break;
    }
    previous = ll;
  }
  // The match class is the one with the higher mean.
  auto mean = [](const Beta& b) { return b.a / (b.a + b.b); };
  if (mean(f.match) < mean(f.non_match)) {
    std::swap(f.match, f.non_match);
    f.match_share = 1 - f.match_share;
  }
  *out = f;
  return true;
}

double BetaMass(const Beta& beta, double lo, double hi) {
  lo = std::clamp(lo, 0.0, 1.0);
  hi = std::clamp(hi, 0.0, 1.0);
  if (hi <= lo) return 0;
  // Midpoint rule on a grid fine enough for the sharp densities of
  // near-identical matches; the ends are kept off 0 and 1.
  constexpr int kSteps = 4000;
  const double step = (hi - lo) / kSteps;
  double sum = 0;
  for (int k = 0; k < kSteps; ++k)
    sum += std::exp(beta.LogPdf(lo + (k + 0.5) * step));
  return std::min(1.0, sum * step);
}

void PoolAdjacentViolators(std::vector<double>* m, const std::vector<double>& u,
                           std::vector<uint8_t>* pooled) {
  const size_t n = m->size();
  pooled->assign(n, 0);
  struct Block {
    size_t begin, end;
    double m, u;
  };
  std::vector<Block> blocks;
  for (size_t l = 0; l < n; ++l) {
    if (u[l] <= 0) return;  // a ratio without a denominator: leave it
    blocks.push_back({l, l + 1, (*m)[l], u[l]});
    // The earlier (more similar) block must have the ratio at least as
    // high as the later one.
    while (blocks.size() >= 2) {
      Block& a = blocks[blocks.size() - 2];
      const Block& b = blocks.back();
      if (a.m / a.u >= b.m / b.u) break;
      a = {a.begin, b.end, a.m + b.m, a.u + b.u};
      blocks.pop_back();
    }
  }
  for (const Block& b : blocks) {
    if (b.end - b.begin < 2) continue;
    for (size_t l = b.begin; l < b.end; ++l) {
      (*m)[l] = u[l] * b.m / b.u;
      (*pooled)[l] = 1;
    }
  }
}

}  // namespace cohortlink::model
