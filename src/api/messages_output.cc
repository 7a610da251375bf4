#include "api/messages_output.h"

#include "api/json_util.h"

namespace switchboard::api {

using nlohmann::json;

namespace {

// A structured-output format (`where` names it) as chat's response_format.
Result<json> response_format_of(const json& format, const std::string& where) {
  if (!format.is_object() || !member(format, "type").is_string())
    return invalid_request(where + " must be an object with a string type");
  if (string_at(format, "type") != "json_schema")
    return invalid_request(where + ".type must be \"json_schema\", not \"" +
                           string_at(format, "type") + "\"");
  const json& schema = member(format, "schema");
  if (!schema.is_object()) return invalid_request(where + ".schema must be a JSON schema object");
  return json{{"type", "json_schema"},
              {"json_schema",
               {{"name", kMessagesOutputSchemaName}, {"schema", schema}, {"strict", true}}}};
}

// output_config.effort as chat's reasoning_effort.
Result<std::string> effort_of(const json& effort) {
  const std::string e = effort.is_string() ? effort.get<std::string>() : std::string();
  if (e == "low" || e == "medium" || e == "high") return e;
  if (e == "xhigh" || e == "max") return std::string("high");
  return invalid_request("output_config.effort must be one of low, medium, high, xhigh, max");
}

}  // namespace

Result<MessagesOutput> messages_output(const json& request) {
  MessagesOutput out;
  const json& config = member(request, "output_config");
  const json& beta = member(request, "output_format");
  if (!config.is_null() && !config.is_object())
    return invalid_request("output_config must be an object");
  const json& format = member(config, "format");
  if (!format.is_null() && !beta.is_null())
    return invalid_request("output_config.format and output_format (its former name) are both "
                           "set: give one");
  if (!format.is_null() || !beta.is_null()) {
    auto rf = format.is_null() ? response_format_of(beta, "output_format")
                               : response_format_of(format, "output_config.format");
    if (!rf) return rf.error();
    out.response_format = std::move(*rf);
  }
  if (!config.is_object()) return out;
  for (const auto& [key, value] : config.items()) {
    if (key == "format" || value.is_null()) continue;
    if (key == "effort") {
      auto e = effort_of(value);
      if (!e) return e.error();
      out.reasoning_effort = std::move(*e);
    } else if (out.native_only.empty()) {
      out.native_only = "output_config." + key;
    }
  }
  return out;
}

}  // namespace switchboard::api
