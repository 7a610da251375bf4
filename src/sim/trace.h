// Request traces for the fleet simulator: arrival time, prompt and output length, and the prompt's
// prefix blocks.
//
// Formats (chosen by content, not by file name):
//  - Mooncake JSON lines (kvcache-ai/Mooncake FAST'25 traces): {"timestamp": ms, "input_length",
//    "output_length", "hash_ids": [...]}, one id per 512-token block of the prompt; equal ids at
//    the same position mean an equal prefix up to that block. An optional "adapter" string names a
//    LoRA adapter (not in the published traces).
//  - Azure LLM inference CSV (Azure/AzurePublicDataset 2023): TIMESTAMP,ContextTokens,
//    GeneratedTokens. It carries no prefix information, so every request gets blocks of its own
//    (no prefix can be reused) — a pure load-balancing workload.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::sim {

struct TraceRequest {
  std::int64_t arrival_us = 0;  // from the trace's first request
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::vector<std::uint64_t> blocks;  // prefix block ids, one per block_tokens of the prompt
  std::string adapter;                // empty = base model
};

struct Trace {
  std::string format;  // "mooncake" or "azure"
  std::int64_t block_tokens = 512;
  std::vector<TraceRequest> requests;  // by arrival (stable for equal times)
};

// Errors (kBadRequest, "bad_trace"): unreadable file, unknown format, a malformed record (the
// message names the line). `limit` > 0 keeps only the first `limit` requests.
Result<Trace> load_trace(const std::string& path, std::size_t limit = 0);
// The file is read as a stream, record by record (it is never held whole: traces run to gigabytes,
// and `limit` stops the reading early).
Result<Trace> parse_mooncake(std::istream& in, const std::string& name, std::size_t limit = 0);
Result<Trace> parse_azure(std::istream& in, const std::string& name, std::size_t limit = 0);
// The same on text in memory.
Result<Trace> parse_mooncake(const std::string& text, const std::string& name,
                             std::size_t limit = 0);
Result<Trace> parse_azure(const std::string& text, const std::string& name, std::size_t limit = 0);

}  // namespace switchboard::sim
