// OpenAI-shaped error bodies: {"error":{"message":...,"type":...,"code":...}}. The HTTP status comes
// from http_status(error.kind), the only place that mapping lives.
#pragma once

#include <string>

#include "switchboard/result.h"

namespace switchboard::api {

std::string error_json(const Error& error);
// One server-sent event carrying the error, for streams that fail after bytes were sent:
// "data: {\"error\":{...}}\n\n".
std::string error_sse_event(const Error& error);

}  // namespace switchboard::api
