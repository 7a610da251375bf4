// Searching the decision records in SQLite (the admin listener's GET /admin/decisions, the
// dashboard's decision explorer).
//
// Every filter is optional and they combine with AND. Results are newest first, one page at a
// time: `before` is the cursor (the last id of the previous page; ids sort by time, see
// new_decision_id), so a page is an index range scan of the primary key, never an OFFSET. Time
// bounds become id bounds too (id_prefix). `route`, `model`, `outcome` and `key` are exact
// matches; `id` is a prefix match (a pasted partial id finds its record). `key` filters on the
// record's API key name when the table has a `key_name` column (added by the keys module; without it
// the filter matches nothing and summaries carry no key).
//
// Blocking (SQLite): run it off the event loop. Opens a read-only connection of its own per call
// (the admin listener is not a hot path).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "switchboard/result.h"

namespace switchboard::store {

struct DecisionQuery {
  std::string id;  // prefix of the id
  std::string route;
  std::string model;
  std::string outcome;                   // ok, client_error, upstream_error, ...
  std::string key;                       // the API key's name (records of the keys module)
  std::optional<int> status;             // HTTP status sent
  std::optional<std::int64_t> since_ms;  // time_ms >= since (unix ms)
  std::optional<std::int64_t> until_ms;  // time_ms < until
  std::string before;                    // cursor: only ids below it
  int limit = 50;                        // 1..500
};

// {"data": [summary...], "next": cursor or null}. A summary: id, time_ms, route, policy, model,
// replica, status, outcome, error_code, stream, latency_ms, cost_usd, prompt_tokens,
// completion_tokens, cache (hit|miss|bypass|null), key (when the table has one), reason.
// Errors: kInternal "store_error" with SQLite's message.
Result<nlohmann::json> search_decisions(const std::string& sqlite_path, const DecisionQuery& query);

}  // namespace switchboard::store
