// Prompt prefixes as chained block hashes, computed once per request and given to the balancers in
// RouteRequest::prefix_blocks.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace switchboard::pool {

// Splits `text` into consecutive blocks of `block_chars` bytes and returns one hash per *complete*
// block (a trailing partial block is left out, as an inference server caches only full blocks).
// Hash i covers the whole prefix text[0, (i+1)·block_chars): it chains hash i-1 with block i, so
// equal hashes at position i mean (up to 64-bit collisions) equal prompts up to the end of block i.
// At most `max_blocks` hashes (the prompt's beginning). Deterministic across processes and runs.
// block_chars == 0 yields nothing.
std::vector<std::uint64_t> prefix_block_hashes(std::string_view text, std::size_t block_chars,
                                               std::size_t max_blocks = 4096);

}  // namespace switchboard::pool
