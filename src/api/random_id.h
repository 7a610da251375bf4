// Unique, unguessable ids for the answers the gateway writes in a client API's shape (Responses'
// resp_…/msg_…/fc_…, Messages' msg_… and toolu_…): never derived from the upstream's own ids,
// which may repeat (some servers number completions 0–999, some send none) — clients dedupe
// messages by id, and a stored Responses conversation is found by its id alone.
#pragma once

#include <string>

namespace switchboard::api {

// 128 random bits from the system's entropy source, as 32 lower-case hex digits.
std::string random_hex_id();

}  // namespace switchboard::api
