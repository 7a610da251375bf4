// Virtual API keys (docs/keys.md): what a key may do and how its secret is kept.
//
// A secret is "sk-sb-" followed by 48 hex digits (24 bytes from OpenSSL's RAND_bytes). Only its
// SHA-256 (hex) is stored; the secret itself is shown once, when the key is created. Secrets are
// 192-bit random, so an unsalted hash is safe against guessing; lookups hash the presented token
// and find the key by that hash.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::access {

inline constexpr std::string_view kSecretPrefix = "sk-sb-";

// Per-key limits; 0 means "no limit".
struct KeyLimits {
  std::int64_t requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;  // prompt (estimated, then actual) + completion tokens
  double usd_per_day = 0;              // UTC days
  double usd_per_month = 0;            // UTC calendar months
  bool any() const {
    return requests_per_minute > 0 || tokens_per_minute > 0 || usd_per_day > 0 || usd_per_month > 0;
  }
  bool operator==(const KeyLimits&) const = default;
};

// What a key may ask for. Empty lists mean "anything".
struct KeyPermissions {
  std::vector<std::string> routes;  // routes it may name in `model`
  std::vector<std::string> models;  // configured models (or adapters) it may name directly
  // Of: quality, balanced, cost (x-switchboard-objective), lambda (x-switchboard-lambda),
  // max_cost (x-switchboard-max-cost).
  std::vector<std::string> objectives;
  bool operator==(const KeyPermissions&) const = default;
};

// What `keys create` is given.
struct KeySpec {
  std::string name;  // unique among active keys; [A-Za-z0-9_.-], 1-64 characters
  std::string team;  // free text label; may be empty
  KeyPermissions allow;
  KeyLimits limits;
};

struct Key {
  std::string id;  // "key_" + 16 hex digits
  std::string name;
  std::string team;
  std::string hash;    // SHA-256 of the secret, hex
  std::string prefix;  // the secret's first 12 characters, for display ("sk-sb-1a2b3c")
  KeyPermissions allow;
  KeyLimits limits;
  std::int64_t created_ms = 0;
  std::int64_t revoked_ms = 0;  // 0 = active
  // Why the key store refuses to serve this key ("" = it does not): its stored row could not be
  // read (a hand edit, another tool). Listed and revocable like any key; never served — served
  // without its limits or permissions it would be unbounded.
  std::string refused;
  bool active() const { return revoked_ms == 0; }

  // May the client name `name` in `model`? With both lists empty, anything; otherwise a route
  // must be in `routes`, a model (or adapter, or unknown name) in `models` ("*" in a list allows
  // every name of that kind). A route's policy then picks among the route's models.
  bool may_name(std::string_view name, bool is_route) const;
  // Empty `objectives` allows all.
  bool may_use_objective(std::string_view objective) const;
};

// A key as the gateway's registry holds it (access/service.h).
struct LiveKey {
  Key key;
  std::string label;  // metrics label: the key's name, or "other" past kMaxKeyLabels
  std::string team_label;
};

inline constexpr const char* kObjectives[] = {"quality", "balanced", "cost", "lambda", "max_cost"};

// A new secret (kSecretPrefix + 48 hex digits). Throws only if the RNG fails (never on a sane
// system); the caller is the CLI or the admin API, not the request path.
std::string generate_secret();
// SHA-256 of `secret`, 64 lower-case hex digits.
std::string hash_secret(std::string_view secret);
// A new key id: "key_" + 16 hex digits.
std::string generate_key_id();

// Checks a spec: the name's characters and length, objectives from kObjectives, limits >= 0.
// Errors are kBadRequest "invalid_key_spec" naming the field.
std::optional<Error> validate(const KeySpec& spec);

// {"name","team","routes","models","objectives","limits":{rpm,tpm,usd_per_day,usd_per_month}} and
// back (the key store keeps permissions and limits as this JSON).
nlohmann::json permissions_json(const KeyPermissions& p);
nlohmann::json limits_json(const KeyLimits& l);
// Permissions and limits as the key store keeps them (what permissions_json / limits_json wrote):
// nullopt for anything else — not an object, a list that is not of strings, a number of the wrong
// type or negative — and the key store then refuses the key (Key::refused) rather than serve it
// without its bounds.
std::optional<KeyPermissions> permissions_from_json(const nlohmann::json& j);
std::optional<KeyLimits> limits_from_json(const nlohmann::json& j);
// The same, strict, for a key spec a client sends (POST /admin/keys): every field known and of its
// type — a list of strings for routes, models and objectives, a whole number ≥ 0 for the request
// and token limits, a number ≥ 0 for the USD ones. The lenient readers above would take a typo or
// a string for "no restriction" (an empty list allows everything) or a fraction for 0 (no limit).
// Errors: kBadRequest `invalid_key_spec`, naming the field.
Result<KeyPermissions> parse_permissions(const nlohmann::json& j);
Result<KeyLimits> parse_limits(const nlohmann::json& j);
// A key as listed (never the hash): {"id","name","team","prefix","routes",...,"limits",
// "created_ms","revoked_ms"}.
nlohmann::json key_json(const Key& k);

}  // namespace switchboard::access
