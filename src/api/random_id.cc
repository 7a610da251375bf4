#include "api/random_id.h"

#include <cstdint>
#include <random>

namespace switchboard::api {

std::string random_hex_id() {
  thread_local std::random_device entropy;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (int word = 0; word < 4; ++word) {
    std::uint32_t bits = entropy();
    for (int i = 0; i < 8; ++i, bits >>= 4) out.push_back(kHex[bits & 15]);
  }
  return out;
}

}  // namespace switchboard::api
