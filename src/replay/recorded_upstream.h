// The offline Upstream (include/switchboard/upstream.h): answers model calls in-process from
// recorded outcomes (data/outcomes.h), so `switchboard eval` runs prompts through the gateway's own
// stages and executor.
//
// A call to model M for a prompt gets M's recorded response for that prompt (looked up by the whole
// conversation, then by the user messages' text, as the replay backend does), as a chat.completion or, for a streaming request,
// the same answer as chat.completion.chunk events, with the recorded latency when there is one.
// Cost: when M has a price here, usage is made up so that the price reproduces the recorded cost
// (replay::compute_usage, exactly as `replay-backend --input-price/--output-price` does) and the
// executor prices it like any upstream's usage; without a price, usage is estimated from the text
// (4 characters a token) and the call is billed the recorded cost. A prompt or model without a
// record gets the replay backend's deterministic placeholder and no billed cost. A malformed body
// gets upstream_unreachable (it cannot happen behind the parse stage). Thread-safe after
// construction (immutable); cheap to share between workers.
#pragma once

#include <map>
#include <string>

#include "data/outcomes.h"
#include "replay/replay_core.h"
#include "switchboard/upstream.h"

namespace switchboard::replay {

class RecordedUpstream final : public Upstream {
 public:
  explicit RecordedUpstream(const data::Outcomes& outcomes,
                            std::map<std::string, Prices, std::less<>> prices = {});
  // From these records only (the evaluator's: those it scores, so that no call is answered and
  // billed as a record it left out).
  explicit RecordedUpstream(std::span<const data::PromptRecord* const> records);
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(
      const ModelCall& call) override;
  // Calls answered so far (all threads).
  std::size_t calls() const { return calls_.load(std::memory_order_relaxed); }

 private:
  std::map<std::string, ReplayBook, std::less<>> books_;  // by model
  std::map<std::string, Prices, std::less<>> prices_;     // by model
  std::atomic<std::size_t> calls_{0};
};

}  // namespace switchboard::replay
