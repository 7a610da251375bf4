#pragma once
// The wall clock as the records, meters and APIs write it: milliseconds / seconds since the Unix
// epoch (system_clock; it may step). Durations and deadlines use steady_clock instead.

#include <chrono>
#include <cstdint>

namespace switchboard {

inline std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace switchboard
