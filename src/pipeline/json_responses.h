// The gateway's own JSON answers (not an upstream's): a body with its status, and an error in
// OpenAI's shape with the status of its kind. Shared by the gateway's endpoint handlers.
#pragma once

#include <string>

#include "api/errors.h"
#include "http/server.h"
#include "switchboard/result.h"

namespace switchboard::pipeline {

inline http::Response json_response(unsigned status, std::string body) {
  http::Response r{static_cast<http::bhttp::status>(status), 11};
  r.set(http::bhttp::field::content_type, "application/json");
  r.body() = std::move(body);
  return r;
}

// (The server's overload passes in a second: `retry-after: 1`, as on the API front ends.)
inline http::Response error_response(const Error& e) {
  http::Response r = json_response(http_status(e.kind), api::error_json(e));
  if (e.code == "overloaded") r.set(http::bhttp::field::retry_after, "1");
  return r;
}

}  // namespace switchboard::pipeline
