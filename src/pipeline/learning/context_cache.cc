#include "pipeline/learning/context_cache.h"

#include <fmt/format.h>

#include "config/config.h"
#include "core/wall_clock.h"

namespace switchboard::pipeline::learning {
std::size_t ContextCache::weight(const DecisionContext& c) {
  return 256 + c.prompt_text.size() + c.signals.embedding.size() * sizeof(float) + c.route.size() +
         c.model.size() + c.signals.task.size();
}

void ContextCache::put(const std::string& id, DecisionContext context) {
  if (context.prompt_text.size() > limits_.max_prompt_bytes)
    context.prompt_text.resize(limits_.max_prompt_bytes);
  const std::int64_t now = unix_ms();
  const std::size_t w = weight(context);
  std::lock_guard lock(mu_);
  auto [it, fresh] = entries_.try_emplace(id, std::move(context));
  if (!fresh) return;  // one decision, one context
  bytes_ += w;
  order_.emplace_back(id, now);
  evict(now);
}

void ContextCache::evict(std::int64_t now) {
  const std::int64_t oldest =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(limits_.ttl).count();
  while (!order_.empty() && (entries_.size() > limits_.max_entries || bytes_ > limits_.max_bytes ||
                             order_.front().second < oldest)) {
    if (auto it = entries_.find(order_.front().first); it != entries_.end()) {
      bytes_ -= weight(it->second);
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

std::optional<DecisionContext> ContextCache::get(const std::string& id) {
  std::lock_guard lock(mu_);
  evict(unix_ms());
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::size_t ContextCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::size_t ContextCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

Result<ContextLimits> parse_context_limits(const config::Config& config) {
  ContextLimits limits;
  auto it = config.sections.find("feedback");
  if (it == config.sections.end() || !it->second.IsMap()) return limits;
  const YAML::Node node = it->second["context_cache"];
  if (!node) return limits;
  auto bad = [&](const YAML::Node& n, const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      fmt::format("{}:{}:{}: feedback.context_cache{}", config.source,
                                  n.Mark().line + 1, n.Mark().column + 1, why));
  };
  if (!node.IsMap()) return bad(node, " must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "persist") {
      try {
        limits.persist = kv.second.as<bool>();
      } catch (const YAML::Exception&) {
        return bad(kv.second, ".persist must be true or false");
      }
      continue;
    }
    struct Range {
      const char* key;
      std::int64_t lo, hi;
    };
    static constexpr Range kRanges[] = {{"max_entries", 1, 100'000'000},
                                        {"max_mb", 1, 1'048'576},
                                        {"max_prompt_kb", 1, 16'384},
                                        {"ttl_s", 1, 604'800}};
    const Range* range = nullptr;
    for (const auto& r : kRanges)
      if (key == r.key) range = &r;
    if (!range)
      return bad(kv.first,
                 ": unknown key '" + key +
                     "' (known: max_entries, max_mb, max_prompt_kb, ttl_s, persist)");
    std::int64_t v = 0;
    try {
      v = kv.second.as<std::int64_t>();
    } catch (const YAML::Exception&) {
      return bad(kv.second, "." + key + " must be an integer");
    }
    if (v < range->lo || v > range->hi)
      return bad(kv.second, fmt::format(".{} must be in [{}, {}]", key, range->lo, range->hi));
    const auto u = static_cast<std::size_t>(v);
    if (key == "max_entries")
      limits.max_entries = u;
    else if (key == "max_mb")
      limits.max_bytes = u << 20;
    else if (key == "max_prompt_kb")
      limits.max_prompt_bytes = u * 1024;
    else
      limits.ttl = std::chrono::seconds(v);
  }
  return limits;
}

}  // namespace switchboard::pipeline::learning
