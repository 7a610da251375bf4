#include "api/json_util.h"

#include <set>

namespace switchboard::api {

const nlohmann::json& member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string string_at(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::int64_t> int_at(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = member(j, key);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<std::int64_t>();
}

Result<nlohmann::json> parse_request_object(std::string_view body) {
  using nlohmann::json;
  std::set<std::string, std::less<>> seen;
  std::string repeated;
  // The callback sees every key with its depth (1 = the top-level object's).
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && repeated.empty() && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) repeated = key;
    }
    return true;
  };
  json j = json::parse(body, on_event, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return make_error(ErrorKind::kBadRequest, "invalid_json", "the request body is not valid JSON");
  if (!j.is_object()) return invalid_request("the request body must be a JSON object");
  if (!repeated.empty()) {
    if (repeated.size() > 64) repeated = repeated.substr(0, 64) + "...";
    return invalid_request("duplicate key '" + repeated + "' in the request body: each field may appear once");
  }
  return j;
}

}  // namespace switchboard::api
