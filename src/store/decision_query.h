// Searching the decision records in SQLite (the admin listener's GET /admin/decisions, the
// dashboard's decision explorer).
//
// Every filter is optional and they combine with AND. Results are newest first, one page at a
// time: `before` is the cursor (the last id of the previous page; ids sort by time, see
// new_decision_id), so a page reads the record batches from the cursor's time down, never an
// OFFSET. Time bounds become id bounds too (id_prefix). `route`, `model`, `outcome` and `key` are
// exact matches; `id` is a prefix match (a pasted partial id finds its record). `key` filters on
// the record's API key name.
//
// The records are stored in encoded batches (store/decision_batches.h) with only their time
// indexed: the other filters decode and test every record of the batches read, so a filter that
// matches rarely reads back until it has a page (or the time bound, or the oldest record). Off the
// request path: blocking (SQLite), run it off the event loop; it opens a read-only connection of
// its own per call.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store/decision_store.h"
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
// completion_tokens, cache (hit|miss|bypass|null), key (name or null), reason.
// Errors: kInternal "store_error" with SQLite's message.
Result<nlohmann::json> search_decisions(const std::string& sqlite_path, const DecisionQuery& query);

// Every stored record, batch by batch in the order they were written (`switchboard decisions`,
// tools). Returns how many were passed to `each`. Errors: kInternal "store_error" (SQLite, or a
// damaged batch: the records before the damage were passed on).
Result<std::int64_t> each_stored_decision(const std::string& sqlite_path,
                                          const std::function<void(const DecisionRecord&)>& each);
// The number of stored records. Errors: kInternal "store_error".
Result<std::int64_t> count_stored_decisions(const std::string& sqlite_path);

}  // namespace switchboard::store
