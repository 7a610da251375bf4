// The running config as JSON with its secrets masked (GET /admin/config).
//
// Masked ("***"): the value of every key whose name says it holds a secret — one of its words
// (split at _ - .) is key, apikey, secret, password, passwd, token, authorization, credential(s)
// or bearer — unless the name ends in
// `_env` (the name of an environment variable is shown; its value never is, nor is it read here);
// and the user-info part of every URL (`https://user:pass@host` → `https://***@host`, a Redis URL's
// password too). Scalars become numbers, booleans or null where YAML would read them so; everything
// else is a string.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace switchboard::admin {

nlohmann::json masked_config(const YAML::Node& node);
// The same from YAML text; {"error": ...} when it does not parse.
nlohmann::json masked_config_text(const std::string& yaml_text);
// Whether a key of that name holds a secret (see above).
bool secret_key(std::string_view name);
// A URL with its user-info replaced by "***" (unchanged when it has none).
std::string mask_url(std::string_view value);
// Free text (an error message quoting config values) with the user-info of every URL in it masked
// as mask_url() does: a URL runs from its scheme's "://" to the next blank or quote.
std::string mask_urls_in(std::string_view text);

}  // namespace switchboard::admin
