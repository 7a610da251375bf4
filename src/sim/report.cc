#include "sim/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace switchboard::sim {
namespace {

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string report_text(const Report& r) {
  std::string out = fmt::format(
      "trace {} ({}, {} requests over {:.0f} s), {} replicas, time scale {:g} (arrivals {:.2f} "
      "req/s)\n",
      r.trace_path, r.trace_format, r.requests, r.trace_seconds, r.options.replicas,
      r.options.time_scale,
      r.trace_seconds > 0 ? static_cast<double>(r.requests) / r.trace_seconds * r.options.time_scale
                          : 0.0);
  out +=
      fmt::format("{:<18} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>9} {:>7} {:>7} {:>6}\n",
                  "balancer", "hit", "ttft_p50", "ttft_p99", "p99/p50", "e2e_p50", "e2e_p99",
                  "req/s", "out_tok/s", "spr_req", "spr_busy", "wall");
  for (const auto& run : r.runs) {
    const auto& s = run.summary;
    out += fmt::format(
        "{:<18} {:>6.1f}% {:>8.0f}ms {:>8.0f}ms {:>10.1f} {:>8.0f}ms {:>8.0f}ms {:>8.2f} {:>9.0f} "
        "{:>7.2f} {:>7.2f} {:>5.1f}s\n",
        run.balancer, 100 * s.hit_rate, s.ttft_p50_ms, s.ttft_p99_ms,
        s.ttft_p50_ms > 0 ? s.ttft_p99_ms / s.ttft_p50_ms : 0.0, s.e2e_p50_ms, s.e2e_p99_ms,
        s.throughput_rps, s.output_tps, s.spread_requests, s.spread_busy, run.wall_s);
    if (s.rejected)
      out += fmt::format("{:<18} {} requests rejected (larger than a replica's KV cache)\n", "",
                         s.rejected);
  }
  out +=
      "hit = prefix-cache hit rate (cached / prompt tokens); spr_req, spr_busy = max/mean over "
      "replicas of requests, busy time\n";
  return out;
}

nlohmann::json report_json(const Report& r) {
  const auto& e = r.options.engine;
  nlohmann::json j;
  j["trace"] = {{"path", r.trace_path},
                {"format", r.trace_format},
                {"requests", r.requests},
                {"seconds", r.trace_seconds}};
  j["fleet"] = {{"replicas", r.options.replicas},
                {"time_scale", r.options.time_scale},
                {"max_context", r.options.max_context},
                {"engine",
                 {{"block_tokens", e.block_tokens},
                  {"kv_tokens", e.kv_tokens},
                  {"max_batch", e.max_batch},
                  {"chunk_tokens", e.chunk_tokens},
                  {"step_us", e.step_us},
                  {"prefill_us_per_token", e.prefill_us_per_token},
                  {"attention_us_per_ktok", e.attention_us_per_ktok},
                  {"decode_us_per_ktok", e.decode_us_per_ktok}}}};
  j["runs"] = nlohmann::json::array();
  for (const auto& run : r.runs) {
    const auto& s = run.summary;
    nlohmann::json reps = nlohmann::json::array();
    for (const auto& c : run.replicas)
      reps.push_back({{"requests", c.requests},
                      {"input_tokens", c.input_tokens},
                      {"cached_tokens", c.cached_tokens},
                      {"prefill_tokens", c.prefill_tokens},
                      {"output_tokens", c.output_tokens},
                      {"busy_s", static_cast<double>(c.busy_us) / 1e6},
                      {"steps", c.steps},
                      {"max_running", c.max_running},
                      {"max_waiting", c.max_waiting},
                      {"rejected", c.rejected}});
    j["runs"].push_back(
        {{"balancer", run.balancer},
         {"requests", s.requests},
         {"completed", s.completed},
         {"rejected", s.rejected},
         {"prefix_hit_rate", s.hit_rate},
         {"ttft_ms", {{"p50", s.ttft_p50_ms}, {"p90", s.ttft_p90_ms}, {"p99", s.ttft_p99_ms}}},
         {"e2e_ms", {{"p50", s.e2e_p50_ms}, {"p99", s.e2e_p99_ms}}},
         {"makespan_s", s.makespan_s},
         {"throughput_rps", s.throughput_rps},
         {"output_tokens_per_s", s.output_tps},
         {"load_spread",
          {{"requests", s.spread_requests},
           {"busy", s.spread_busy},
           {"prefill_tokens", s.spread_prefill}}},
         {"replicas", reps},
         {"wall_s", run.wall_s}});
  }
  return j;
}

std::string report_svg(const Report& r) {
  const double W = 1080, H = 400;
  const double top = 50, bottom = 340;  // plot area, y
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      W, H);
  s += fmt::format(
      "<text x=\"10\" y=\"18\" font-size=\"13\">{} — {} replicas, time scale {:g}</text>\n",
      esc(r.trace_path), r.options.replicas, r.options.time_scale);
  auto y_of = [&](double frac) { return bottom - frac * (bottom - top); };

  // Panel 1: TTFT CDF, log10 milliseconds.
  const double x0 = 50, x1 = 430;
  double lo = 1e18, hi = 0;
  std::vector<std::vector<double>> ttfts;
  for (const auto& run : r.runs) {
    std::vector<double> v;
    for (const auto& q : run.requests)
      if (q.ttft_us >= 0) v.push_back(std::max(static_cast<double>(q.ttft_us) / 1000, 1.0));
    std::sort(v.begin(), v.end());
    if (!v.empty()) {
      lo = std::min(lo, v.front());
      hi = std::max(hi, v.back());
    }
    ttfts.push_back(std::move(v));
  }
  if (hi <= 0) lo = 1, hi = 10;
  double llo = std::floor(std::log10(lo)), lhi = std::ceil(std::log10(hi));
  if (lhi <= llo) lhi = llo + 1;
  auto x_of = [&](double ms) { return x0 + (std::log10(ms) - llo) / (lhi - llo) * (x1 - x0); };
  s += fmt::format("<text x=\"{}\" y=\"38\" font-size=\"12\">Time to first token (CDF)</text>\n",
                   x0);
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", x0,
      top, x1 - x0, bottom - top);
  for (double e = llo; e <= lhi; ++e) {
    double x = x_of(std::pow(10, e));
    s += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#eee\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        x, top, bottom, bottom + 14,
        e < 3 ? fmt::format("{:g} ms", std::pow(10, e))
              : fmt::format("{:g} s", std::pow(10, e - 3)));
  }
  for (double f : {0.5, 0.9, 0.99})
    s += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\" "
        "stroke-dasharray=\"3,3\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">p{5:g}</text>\n",
        x0, x1, y_of(f), x0 - 4, y_of(f) + 4, f * 100);
  for (std::size_t k = 0; k < ttfts.size(); ++k) {
    const auto& v = ttfts[k];
    if (v.empty()) continue;
    std::string pts;
    std::size_t stride = std::max<std::size_t>(v.size() / 400, 1);
    for (std::size_t i = 0; i < v.size(); i += stride)
      pts += fmt::format("{:.1f},{:.1f} ", x_of(v[i]),
                         y_of(static_cast<double>(i + 1) / static_cast<double>(v.size())));
    pts += fmt::format("{:.1f},{:.1f}", x_of(v.back()), y_of(1));
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n",
                     kColours[k % 8], pts);
  }

  // Panel 2: prefix-cache hit rate.
  const double b0 = 480, b1 = 680;
  s += fmt::format("<text x=\"{}\" y=\"38\" font-size=\"12\">Prefix-cache hit rate</text>\n", b0);
  s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#999\"/>\n", b0, b1,
                   bottom);
  double max_hit = 0.05;
  for (const auto& run : r.runs) max_hit = std::max(max_hit, run.summary.hit_rate);
  max_hit = std::ceil(max_hit * 10) / 10;
  double bw = (b1 - b0) / std::max<std::size_t>(r.runs.size(), 1);
  for (std::size_t k = 0; k < r.runs.size(); ++k) {
    double h = r.runs[k].summary.hit_rate / max_hit;
    double x = b0 + k * bw + bw * 0.15;
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.1f}%</text>\n",
        x, y_of(h), bw * 0.7, bottom - y_of(h), kColours[k % 8], x + bw * 0.35, y_of(h) - 4,
        100 * r.runs[k].summary.hit_rate);
  }

  // Panel 3: requests per replica / mean.
  const double c0 = 730, c1 = 1060;
  s += fmt::format("<text x=\"{}\" y=\"38\" font-size=\"12\">Requests per replica ÷ mean</text>\n",
                   c0);
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", c0,
      top, c1 - c0, bottom - top);
  double ymax = 2;
  for (const auto& run : r.runs)
    ymax = std::max(ymax, std::ceil(run.summary.spread_requests * 2) / 2);
  auto yr = [&](double v) { return bottom - v / ymax * (bottom - top); };
  for (double v : {0.5, 1.0, 1.5})
    s += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" "
        "stroke-dasharray=\"3,3\"/>"
        "<text x=\"{4}\" y=\"{5:.1f}\" text-anchor=\"end\">{6:g}×</text>\n",
        c0, c1, yr(v), v == 1.5 ? "#d62728" : "#ccc", c0 - 4, yr(v) + 4, v);
  double cw = (c1 - c0) / std::max<std::size_t>(r.runs.size(), 1);
  for (std::size_t k = 0; k < r.runs.size(); ++k) {
    const auto& reps = r.runs[k].replicas;
    double mean = 0;
    for (const auto& c : reps) mean += static_cast<double>(c.requests);
    mean /= std::max<std::size_t>(reps.size(), 1);
    for (std::size_t i = 0; i < reps.size(); ++i) {
      double x =
          c0 + k * cw +
          cw * (0.2 + 0.6 * (reps.size() > 1 ? static_cast<double>(i) / (reps.size() - 1) : 0.5));
      double v = mean > 0 ? static_cast<double>(reps[i].requests) / mean : 0;
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", x, yr(v),
                       kColours[k % 8]);
    }
  }

  // Legend.
  for (std::size_t k = 0; k < r.runs.size(); ++k) {
    double x = 50 + static_cast<double>(k) * 150;
    s += fmt::format(
        "<rect x=\"{:.0f}\" y=\"372\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.0f}\" "
        "y=\"382\">{}</text>\n",
        x, kColours[k % 8], x + 16, esc(r.runs[k].balancer));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace switchboard::sim
