#include "api/errors.h"

#include <nlohmann/json.hpp>

namespace switchboard::api {

std::string error_json(const Error& error) {
  nlohmann::json j = {{"error",
                       {{"message", error.message},
                        {"type", openai_error_type(error.kind)},
                        {"code", error.code},
                        {"param", nullptr}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_sse_event(const Error& error) { return "data: " + error_json(error) + "\n\n"; }

}  // namespace switchboard::api
