// A reusable buffer that hands simdjson a padded copy of a small text without allocating per call
// (simdjson reads up to SIMDJSON_PADDING bytes past the end, so it needs its own copy of a
// string_view). Keep one per call site (thread_local): a view is valid until that scratch's next
// view(). Texts above kMaxKept bytes get a buffer of their own each time, so a thread never keeps
// more than kMaxKept (+ padding) per call site, whatever the largest body it has seen.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

namespace switchboard::api {

class PaddedScratch {
 public:
  static constexpr std::size_t kMaxKept = 64 * 1024;

  simdjson::padded_string_view view(std::string_view text) {
    std::string& buf = text.size() <= kMaxKept ? kept_ : large_;
    buf.assign(text);
    buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
    if (&buf == &kept_) std::string().swap(large_);  // frees the last large text's copy
    return simdjson::padded_string_view(buf.data(), text.size(), buf.size());
  }

 private:
  std::string kept_;
  std::string large_;  // the last large text, freed at the next small one
};

}  // namespace switchboard::api
