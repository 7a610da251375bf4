#include "pool/prom_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace switchboard::pool {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<double> number(std::string_view s) {
  s = trim(s);
  s = s.substr(0, s.find_first_of(" \t"));  // a timestamp may follow
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

void add(std::optional<double>& slot, double v) {
  slot = slot.value_or(0) + v;
}

}  // namespace

VllmGauges parse_vllm_gauges(std::string_view text) {
  VllmGauges g;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto name_end = line.find_first_of("{ \t");
    if (name_end == std::string_view::npos) continue;
    std::string_view name = line.substr(0, name_end);
    std::string_view rest = line.substr(name_end);
    if (rest.front() == '{') {
      auto close =
          rest.rfind('}');  // label values may hold spaces, not an unescaped '}' at the end
      if (close == std::string_view::npos) continue;
      rest = rest.substr(close + 1);
    }
    auto v = number(rest);
    if (!v) continue;
    if (name == "vllm:num_requests_running") {
      add(g.running, *v);
    } else if (name == "vllm:num_requests_waiting") {
      add(g.waiting, *v);
    } else if (name == "vllm:gpu_cache_usage_perc" || name == "vllm:kv_cache_usage_perc") {
      g.kv_usage = std::max(g.kv_usage.value_or(0), *v);
    }
  }
  return g;
}

}  // namespace switchboard::pool
