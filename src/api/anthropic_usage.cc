#include "api/anthropic_usage.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/chat_request.h"
#include "api/json_util.h"

namespace switchboard::api {

std::optional<std::int64_t> anthropic_prompt_tokens(const nlohmann::json& usage) {
  std::optional<std::int64_t> total;
  for (const char* key : {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"})
    if (auto n = int_at(usage, key))
      total = saturating_add(total.value_or(0), std::max<std::int64_t>(*n, 0));
  return total;
}

}  // namespace switchboard::api
