#include "pool/prefix_hash.h"

#include <bit>
#include <cstring>

#include "pool/hash.h"

namespace switchboard::pool {
namespace {

// Hashes one block 8 bytes at a time (a multiply and a rotation per word, the full mixer once at
// the end). Not cryptographic: a collision only costs a misrouted request, never a wrong answer.
std::uint64_t hash_block(std::string_view block, std::uint64_t seed) {
  std::uint64_t h = seed ^ (block.size() * 0x9e3779b97f4a7c15ULL);
  std::size_t i = 0;
  for (; i + 8 <= block.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, block.data() + i, 8);
    h = std::rotl(h ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, block.data() + i, block.size() - i);
  return mix64(h ^ tail ^ (static_cast<std::uint64_t>(block.size() - i) << 59));
}

}  // namespace

std::vector<std::uint64_t> prefix_block_hashes(std::string_view text, std::size_t block_chars,
                                               std::size_t max_blocks) {
  std::vector<std::uint64_t> out;
  if (block_chars == 0) return out;
  std::size_t n = std::min(text.size() / block_chars, max_blocks);
  out.reserve(n);
  std::uint64_t chain = 0x5157'4954'4348'424fULL;  // any fixed start value
  for (std::size_t i = 0; i < n; ++i) {
    chain = hash_block(text.substr(i * block_chars, block_chars), chain);
    out.push_back(chain);
  }
  return out;
}

}  // namespace switchboard::pool
