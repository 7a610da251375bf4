// The API key a request presents (docs/keys.md): `Authorization: Bearer <secret>` (scheme
// case-insensitive), else `x-api-key: <secret>` as Anthropic's clients send it; spaces trimmed.
// Pure string handling, shared by the auth stage and the gateway's own endpoints.
#pragma once

#include <cctype>
#include <optional>
#include <string_view>

namespace switchboard::access {

inline std::string_view trimmed_header(std::optional<std::string_view> header) {
  if (!header) return {};
  std::string_view v = *header;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// The token of "Bearer <token>"; empty when absent or of another scheme.
inline std::string_view bearer_token(std::optional<std::string_view> header) {
  std::string_view v = trimmed_header(header);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() < kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return {};
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return v;
}

// The secret presented by a request with these two headers; empty when none.
inline std::string_view presented_secret(std::optional<std::string_view> authorization,
                                         std::optional<std::string_view> x_api_key) {
  std::string_view token = bearer_token(authorization);
  return token.empty() ? trimmed_header(x_api_key) : token;
}

}  // namespace switchboard::access
