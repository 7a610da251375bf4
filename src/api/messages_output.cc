#include "api/messages_output.h"

#include <algorithm>

#include "api/json_util.h"

namespace switchboard::api {

using nlohmann::json;

namespace {

// Whether `type` names an object (a string, or an array of them with "object" in it).
bool object_typed(const json& type) {
  if (type.is_string()) return type.get_ref<const std::string&>() == "object";
  return type.is_array() && std::find(type.begin(), type.end(), json("object")) != type.end();
}

// Whether a (nested) `schema` keeps to what OpenAI's strict mode takes: every object schema closed
// (additionalProperties false) with every property required; no keyword strict mode refuses
// (allOf, oneOf, not, if/then/else, prefixItems, patternProperties, ...); no boolean schema.
bool strict_subschema(const json& schema) {
  if (!schema.is_object()) return false;
  for (const char* refused : {"allOf", "oneOf", "not", "if", "then", "else", "prefixItems",
                              "patternProperties", "dependentRequired", "dependentSchemas",
                              "unevaluatedProperties"})
    if (schema.contains(refused)) return false;
  const json& properties = member(schema, "properties");
  if (object_typed(member(schema, "type")) || properties.is_object()) {
    if (member(schema, "additionalProperties") != json(false)) return false;
    const json& required = member(schema, "required");
    if (properties.is_object())
      for (const auto& [name, sub] : properties.items()) {
        if (!required.is_array() ||
            std::find(required.begin(), required.end(), json(name)) == required.end())
          return false;
        if (!strict_subschema(sub)) return false;
      }
  }
  if (const json& items = member(schema, "items"); !items.is_null() && !strict_subschema(items))
    return false;
  if (const json& any = member(schema, "anyOf"); !any.is_null()) {
    if (!any.is_array()) return false;
    for (const json& s : any)
      if (!strict_subschema(s)) return false;
  }
  for (const char* key : {"$defs", "definitions"})
    if (const json& defs = member(schema, key); defs.is_object())
      for (const auto& [name, sub] : defs.items())
        if (!strict_subschema(sub)) return false;
  return true;
}

// Whether OpenAI's strict mode takes `schema` as a response format: an object at the root (not
// anyOf), strict all the way down (strict_subschema()). Anthropic takes more (optional
// properties); such a schema asked strictly was refused by OpenAI with a 400.
bool strict_compatible(const json& schema) {
  return object_typed(member(schema, "type")) && !schema.contains("anyOf") &&
         strict_subschema(schema);
}

// A structured-output format (`where` names it) as chat's response_format: strict when the schema
// is one OpenAI's strict mode takes (strict_compatible()), else the schema as guidance.
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
               {{"name", kMessagesOutputSchemaName},
                {"schema", schema},
                {"strict", strict_compatible(schema)}}}};
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
