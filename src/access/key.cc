#include "access/key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace switchboard::access {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xf];
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return hex(buf.data(), buf.size());
}

bool listed(const std::vector<std::string>& list, std::string_view name) {
  if (list.empty()) return true;
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return s == "*" || s == name; });
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

}  // namespace

bool Key::may_name(std::string_view name, bool is_route) const {
  if (allow.routes.empty() && allow.models.empty()) return true;
  const auto& list = is_route ? allow.routes : allow.models;
  return !list.empty() && listed(list, name);
}
bool Key::may_use_objective(std::string_view objective) const {
  return listed(allow.objectives, objective);
}

std::string generate_secret() {
  return std::string(kSecretPrefix) + random_hex(24);
}
std::string generate_key_id() {
  return "key_" + random_hex(8);
}

std::string hash_secret(std::string_view secret) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(secret.data(), secret.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return hex(md, len);
}

std::optional<Error> validate(const KeySpec& spec) {
  auto bad = [](std::string m) {
    return make_error(ErrorKind::kBadRequest, "invalid_key_spec", std::move(m));
  };
  if (spec.name.empty() || spec.name.size() > 64) return bad("name must have 1 to 64 characters");
  for (char c : spec.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return bad("name '" + spec.name + "' may only use letters, digits, '_', '-' and '.'");
  // Ids are "key_" + hex, and a key is revoked by name or id: a name that looks like an id could
  // stand in for another key's.
  if (spec.name.rfind("key_", 0) == 0)
    return bad("name '" + spec.name + "' may not begin with 'key_' (key ids do)");
  if (spec.team.size() > 64) return bad("team must have at most 64 characters");
  // A metrics label and a column of `keys list`: text on one line (a byte that is not UTF-8
  // aborted the JSON listing of every key, after this one was stored).
  if (!simdjson::validate_utf8(spec.team.data(), spec.team.size()))
    return bad("team must be valid UTF-8");
  for (unsigned char c : spec.team)
    if (c < 0x20 || c == 0x7f)
      return bad("team must not hold control characters (a line break, a tab, ...)");
  for (const auto& o : spec.allow.objectives) {
    bool known = o == "*";
    for (const char* k : kObjectives) known = known || o == k;
    if (!known)
      return bad("unknown objective '" + o +
                 "' (allowed: quality, balanced, cost, lambda, max_cost)");
  }
  const auto& l = spec.limits;
  if (l.requests_per_minute < 0 || l.tokens_per_minute < 0 || !(l.usd_per_day >= 0) ||
      !(l.usd_per_month >= 0))
    return bad("limits must be >= 0 (0 = no limit)");
  // Far above any real limit, and far from overflowing the counters they are compared with.
  constexpr std::int64_t kMaxPerMinute = 1'000'000'000'000;
  constexpr double kMaxUsd = 1e12;
  if (l.requests_per_minute > kMaxPerMinute || l.tokens_per_minute > kMaxPerMinute ||
      !(l.usd_per_day <= kMaxUsd) || !(l.usd_per_month <= kMaxUsd))
    return bad("limits must be at most 10^12 per minute (requests, tokens) and USD 10^12");
  return std::nullopt;
}

nlohmann::json permissions_json(const KeyPermissions& p) {
  return {{"routes", p.routes}, {"models", p.models}, {"objectives", p.objectives}};
}

nlohmann::json limits_json(const KeyLimits& l) {
  return {{"requests_per_minute", l.requests_per_minute},
          {"tokens_per_minute", l.tokens_per_minute},
          {"usd_per_day", l.usd_per_day},
          {"usd_per_month", l.usd_per_month}};
}

std::optional<KeyPermissions> permissions_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  bool ok = true;
  auto list = [&](const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array()) {
      ok = false;
      return out;
    }
    for (const auto& s : *it) {
      if (s.is_string())
        out.push_back(s.get<std::string>());
      else
        ok = false;
    }
    return out;
  };
  KeyPermissions p;
  p.routes = list("routes");
  p.models = list("models");
  p.objectives = list("objectives");
  if (!ok) return std::nullopt;
  return p;
}

std::optional<KeyLimits> limits_from_json(const nlohmann::json& j) {
  KeyLimits l;
  if (!j.is_object()) return std::nullopt;
  bool ok = true;
  auto whole = [&](const char* key, std::int64_t& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0)
      out = it->get<std::int64_t>();
    else
      ok = false;
  };
  auto amount = [&](const char* key, double& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (it->is_number() && it->get<double>() >= 0)
      out = it->get<double>();
    else
      ok = false;
  };
  whole("requests_per_minute", l.requests_per_minute);
  whole("tokens_per_minute", l.tokens_per_minute);
  amount("usd_per_day", l.usd_per_day);
  amount("usd_per_month", l.usd_per_month);
  if (!ok) return std::nullopt;
  return l;
}

namespace {
Error bad_spec(std::string message) {
  return make_error(ErrorKind::kBadRequest, "invalid_key_spec", std::move(message));
}
}  // namespace

Result<KeyPermissions> parse_permissions(const nlohmann::json& j) {
  if (!j.is_object()) return bad_spec("allow must be an object {routes, models, objectives}");
  KeyPermissions p;
  for (const auto& [field, value] : j.items()) {
    std::vector<std::string>* list = field == "routes"       ? &p.routes
                                     : field == "models"     ? &p.models
                                     : field == "objectives" ? &p.objectives
                                                             : nullptr;
    if (!list) return bad_spec("allow." + field + ": unknown field (routes, models, objectives)");
    if (!value.is_array()) return bad_spec("allow." + field + " must be an array of strings");
    for (const auto& s : value) {
      if (!s.is_string() || s.get_ref<const std::string&>().empty())
        return bad_spec("allow." + field + " must be an array of non-empty strings");
      list->push_back(s.get<std::string>());
    }
  }
  return p;
}

Result<KeyLimits> parse_limits(const nlohmann::json& j) {
  if (!j.is_object()) return bad_spec("limits must be an object");
  KeyLimits l;
  for (const auto& [field, value] : j.items()) {
    if (field == "requests_per_minute" || field == "tokens_per_minute") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
        return bad_spec("limits." + field + " must be a whole number >= 0 (0 = no limit)");
      (field == "requests_per_minute" ? l.requests_per_minute : l.tokens_per_minute) =
          value.get<std::int64_t>();
    } else if (field == "usd_per_day" || field == "usd_per_month") {
      if (!value.is_number() || !(value.get<double>() >= 0) || !std::isfinite(value.get<double>()))
        return bad_spec("limits." + field + " must be a number >= 0 (0 = no limit)");
      (field == "usd_per_day" ? l.usd_per_day : l.usd_per_month) = value.get<double>();
    } else {
      return bad_spec("limits." + field +
                      ": unknown field (requests_per_minute, tokens_per_minute, usd_per_day, "
                      "usd_per_month)");
    }
  }
  return l;
}

nlohmann::json key_json(const Key& k) {
  nlohmann::json j = {{"id", k.id},
                      {"name", k.name},
                      {"team", k.team},
                      {"prefix", k.prefix},
                      {"limits", limits_json(k.limits)},
                      {"created_ms", k.created_ms},
                      {"revoked_ms", k.revoked_ms},
                      {"active", k.active()}};
  if (!k.refused.empty()) j["refused"] = k.refused;
  j.update(permissions_json(k.allow));
  return j;
}

}  // namespace switchboard::access
