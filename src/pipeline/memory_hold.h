// What a request's body turns into in memory, held against the server's body budget with the
// body's own bytes (http::Exchange::hold_memory): per JSON value, measured with bodies of many tiny
// values, the worst case per byte (docs/reliability.md, "Session 29").
#pragma once

#include <cstddef>

namespace switchboard::pipeline {

// One value of a chat body once parsed and used: signals, records, the upstream body (460,000
// one-character messages, 14.9 MB, held 81 MB passed through).
inline constexpr std::size_t kParsedBytesPerValue = 128;
// One value of a body another API's front end translates: its parsed form and the translation's
// chat body (the same 14.9 MB held 228 MB translated to Anthropic).
inline constexpr std::size_t kTranslatedBytesPerValue = 256;

}  // namespace switchboard::pipeline
