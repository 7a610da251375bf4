// OpenAI-shaped error bodies: {"error":{"message":...,"type":...,"code":...}}. The HTTP status comes
// from http_status(error.kind), the only place that mapping lives.
#pragma once

#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::api {

// `param` is the request field a 400 `invalid_request` message opens with, by the messages'
// convention ("'temperature' must be ...", "messages[1].content must be ...", "input: ..."), as
// OpenAI's SDKs expose it (error.param); null for other errors and messages.
// `chat_fields` false (the Responses and completions APIs, whose requests are translated into a
// chat body the gateway then reads): no `param` naming the chat body's messages, which the client
// never sent.
std::string error_json(const Error& error, bool chat_fields = true);
// That field of `message` ("" when it opens with none).
std::string error_param(std::string_view message);
// One server-sent event carrying the error, for streams that fail after bytes were sent:
// "data: {\"error\":{...}}\n\n".
std::string error_sse_event(const Error& error);

}  // namespace switchboard::api
