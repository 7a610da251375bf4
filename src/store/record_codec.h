// The decision records' storage encoding: many records in one binary blob (one SQLite row per
// batch, store/decision_batches.h), written by the store's writer thread.
//
// A batch blob is: a format byte (1), the batch's string dictionary (a count, then each string as
// length + bytes, index 0 being ""), the record count, then each record as its length followed by
// its fields. Strings that repeat between records (route, model, replica, policy, stage names and
// outcomes, results, notes, ...) are indices into the dictionary; the id, the session id and the
// cache entry are written inline. Integers are LEB128 varints (signed ones zigzag-encoded), doubles
// their 8 bytes, so every field reads back exactly — except stage spans' times, kept to 0.1 µs as
// the old JSON column did. Every field of DecisionRecord is kept but `stored_response`, which the
// `responses` table holds (store/stored_responses.h).
//
// The decoder checks every length against the blob: a damaged blob yields false / nullopt, never a
// read out of bounds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/decision_store.h"

namespace switchboard::store {

// The arrival time in a new_decision_id() id ("dec_" + 11 hex digits of ms + ...); -1 when `id`
// does not begin that way.
std::int64_t id_time_ms(std::string_view id);
// The time a record is filed under: its id's time, or time_ms for an id of another form.
inline std::int64_t record_time_key(const DecisionRecord& r) {
  const auto t = id_time_ms(r.id);
  return t >= 0 ? t : r.time_ms;
}

// Builds one batch. Not thread-safe; the records added must outlive finish() (the dictionary
// refers to their strings).
class BatchEncoder {
 public:
  BatchEncoder();
  void add(const DecisionRecord& r);
  std::size_t count() const { return count_; }
  std::int64_t min_ms() const { return min_ms_; }  // over record_time_key (count() > 0)
  std::int64_t max_ms() const { return max_ms_; }
  // The blob of the records added since the last finish(); resets the encoder. The returned
  // reference is valid until the next add() or finish().
  const std::string& finish();

 private:
  // A field's last string and its index: most fields repeat the previous record's value, so a
  // comparison saves the hash lookup.
  struct Slot {
    std::string_view last;
    std::uint32_t index = 0;
  };
  // A growable byte buffer written through a cursor: one bounds check per field, not per byte.
  struct Buf {
    std::string bytes;
    std::size_t used = 0;
    char* room(std::size_t n) {
      if (used + n > bytes.size()) [[unlikely]]
        grow(n);
      return bytes.data() + used;
    }
    void grow(std::size_t n);
  };
  void str(std::string_view s, Slot& slot);
  void str(std::string_view s);
  std::uint32_t intern(std::string_view s);
  Slot& slot(std::size_t field, std::size_t item);

  std::unordered_map<std::string_view, std::uint32_t> dict_;
  std::vector<std::string_view> strings_;  // by index; [0] = ""
  std::vector<Slot> slots_;
  Buf record_;
  std::string body_, out_;
  std::size_t count_ = 0;
  std::int64_t min_ms_ = 0, max_ms_ = 0;
};

// Calls `each` with every record of `blob`, in order, until it returns false. False when the blob
// is damaged or of an unknown format (the records before the damage were passed on).
bool decode_batch(std::string_view blob, const std::function<bool(DecisionRecord&&)>& each);
// The record of `blob` with this id (decoding only that one); nullopt when absent or damaged.
std::optional<DecisionRecord> find_in_batch(std::string_view blob, std::string_view id);

}  // namespace switchboard::store
