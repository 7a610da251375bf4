#include "pipeline/learning/context_cache.h"

namespace switchboard::pipeline::learning {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::size_t ContextCache::weight(const DecisionContext& c) {
  return 256 + c.prompt_text.size() + c.signals.embedding.size() * sizeof(float) + c.route.size() +
         c.model.size() + c.signals.task.size();
}

void ContextCache::put(const std::string& id, DecisionContext context) {
  if (context.prompt_text.size() > limits_.max_prompt_bytes)
    context.prompt_text.resize(limits_.max_prompt_bytes);
  const std::int64_t now = now_ms();
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
  evict(now_ms());
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

}  // namespace switchboard::pipeline::learning
