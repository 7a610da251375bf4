// Who may read, rate, continue or delete what a request made with an API key left behind (its
// decision record, its stored Responses conversation), docs/keys.md: the key's name, from the
// time the key was created. Names are unique among active keys only, so a key re-created under
// a revoked key's name holds the name from its own creation on and sees nothing the revoked key
// made before. The anonymous owner (name "") is a caller without a key (where keys are optional):
// it sees what was made without a key, whenever.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::store {

struct Owner {
  std::string key;            // the API key's name; "" for the anonymous owner
  std::int64_t since_ms = 0;  // the key's creation (unix ms); 0 for the anonymous owner

  // Whether a record made at `time_ms` by the key named `key_name` ("" for none) is this owner's.
  bool owns(std::string_view key_name, std::int64_t time_ms) const {
    return key_name == key && (key.empty() || time_ms >= since_ms);
  }
};

}  // namespace switchboard::store
