// Chat completions over an `api: anthropic` replica (api/chat_to_messages.h): what serves a
// request of any client on such a replica (AnthropicApi::serving()) but an Anthropic one it can
// pass through (a Messages client of a multi-call plan or with a guard-rewritten body is served
// here too, translated twice: Messages → chat → Messages and back). The
// request the stages parsed (chat completions, the multi-call plans' buffered body included) is
// translated to a Messages request and posted to the replica's /v1/messages with its x-api-key;
// the answer — whole, streamed or an error — is read back as chat completions, so metering,
// deliver(), the cache, judges and the client's front end work as with a chat replica.
// Refused (api_mismatch): embeddings, and requests the translation cannot carry (n > 1,
// logprobs, JSON response formats, audio or file parts).
#pragma once

#include "pipeline/native/native_api.h"

namespace switchboard::pipeline {

const NativeApi& chat_over_anthropic();

}  // namespace switchboard::pipeline
