#include "replay/replay_core.h"

#include <algorithm>
#include <cmath>

#include "api/chat_request.h"

namespace switchboard::replay {
Result<ReplayRequest> parse_replay_request(std::string_view body) {
  auto chat = api::parse_chat_request(body);
  if (!chat) return chat.error();
  ReplayRequest req;
  req.model = chat->model;
  req.stream = chat->stream;
  req.include_usage = chat->include_usage;
  req.prompt_key = chat->user_text();
  for (const auto& m : chat->messages) {
    const std::string_view text = chat->text_of(m);
    req.prompt_chars += utf8_length(text);
    data::append_conversation_part(req.conversation_key, m.role, text);
  }
  return req;
}

TokenUsage compute_usage(std::size_t prompt_chars, std::size_t response_chars,
                         std::optional<double> cost, const Prices& prices) {
  TokenUsage u;
  u.prompt_tokens = std::max<std::int64_t>(1, static_cast<std::int64_t>((prompt_chars + 3) / 4));
  std::int64_t fallback =
      std::max<std::int64_t>(1, static_cast<std::int64_t>((response_chars + 3) / 4));
  u.completion_tokens = fallback;
  if (cost && prices.output_per_mtok > 0) {
    double rest = *cost - static_cast<double>(u.prompt_tokens) * prices.input_per_mtok / 1e6;
    double tokens = rest / (prices.output_per_mtok / 1e6);
    if (rest > 0 && std::isfinite(tokens)) {
      u.completion_tokens = std::max<std::int64_t>(1, std::llround(tokens));
    } else if (std::isfinite(tokens) && prices.input_per_mtok > 0) {
      // The prompt's estimate alone costs more than was recorded (chars / 4 overestimates
      // tokens): one completion token, and the prompt tokens the rest of the cost pays for.
      u.completion_tokens = 1;
      const double prompt = (*cost - prices.output_per_mtok / 1e6) / (prices.input_per_mtok / 1e6);
      u.prompt_tokens = std::max<std::int64_t>(1, std::llround(std::max(prompt, 0.0)));
    }
  }
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string prompt_hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  auto folded = static_cast<std::uint32_t>(h ^ (h >> 32));
  for (int i = 7; i >= 0; --i, folded >>= 4) out[static_cast<std::size_t>(i)] = kHex[folded & 0xF];
  return out;
}

std::string placeholder_response(std::string_view model, std::string_view prompt_key) {
  return "This is a replayed placeholder from " + std::string(model) +
         ": no answer was recorded for prompt " + prompt_hash(prompt_key) + ".";
}

std::vector<std::string_view> split_pieces(std::string_view text, std::size_t chars) {
  std::vector<std::string_view> out;
  if (chars == 0) chars = 1;
  std::size_t start = 0, count = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool lead = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (lead && count == chars) {
      out.push_back(text.substr(start, i - start));
      start = i;
      count = 0;
    }
    count += lead;
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

Fault pick_fault(double u, double error_rate, double hang_rate, double drop_rate) {
  if (u < error_rate) return Fault::kError;
  if (u < error_rate + hang_rate) return Fault::kHang;
  if (u < error_rate + hang_rate + drop_rate) return Fault::kDrop;
  return Fault::kNone;
}

std::optional<Cut> parse_cut(std::string_view name) {
  if (name == "event") return Cut::kEvent;
  if (name == "line") return Cut::kLine;
  if (name == "utf8") return Cut::kUtf8;
  return std::nullopt;
}

const char* cut_name(Cut cut) {
  switch (cut) {
    case Cut::kLine:
      return "line";
    case Cut::kUtf8:
      return "utf8";
    case Cut::kEvent:
      break;
  }
  return "event";
}

namespace {

bool has_multibyte(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0xC0; });
}

}  // namespace

DropPlan plan_drop(const std::vector<std::string_view>& pieces, Cut cut) {
  DropPlan plan{pieces.size() / 2, std::nullopt};
  if (cut == Cut::kLine) {
    plan.cut_piece = plan.whole < pieces.size() ? std::string(pieces[plan.whole]) : std::string();
  } else if (cut == Cut::kUtf8) {
    auto it = std::find_if(pieces.begin() + static_cast<std::ptrdiff_t>(plan.whole), pieces.end(),
                           has_multibyte);
    if (it != pieces.end()) {
      plan.whole = static_cast<std::size_t>(it - pieces.begin());
      plan.cut_piece = std::string(*it);
    } else {
      plan.cut_piece = std::string(kCutFiller);
    }
  }
  return plan;
}

std::size_t cut_offset(std::string_view event, Cut cut) {
  if (cut == Cut::kLine) {
    const std::size_t line = std::min(event.find('\n'), event.size());
    return line == 0 ? 0 : std::max<std::size_t>(1, line / 2);
  }
  if (cut == Cut::kUtf8) {
    for (std::size_t i = 0; i < event.size(); ++i)
      if (static_cast<unsigned char>(event[i]) >= 0xC0) return i + 1;
  }
  return 0;
}

ReplayBook ReplayBook::build(const data::Outcomes& outcomes, const std::string& model) {
  std::vector<const data::PromptRecord*> records;
  records.reserve(outcomes.records.size());
  for (const auto& r : outcomes.records) records.push_back(&r);
  return build(records, model);
}

ReplayBook ReplayBook::build(std::span<const data::PromptRecord* const> records,
                             const std::string& model) {
  ReplayBook book;
  for (const data::PromptRecord* r : records) {
    const data::PromptRecord& record = *r;
    auto it = record.outcomes.find(model);
    if (it == record.outcomes.end()) continue;
    const std::size_t at = book.answers_.size();
    bool used = false;
    const auto index = [&](std::unordered_map<std::string, std::size_t>& map, std::string key) {
      auto [slot, inserted] = map.try_emplace(std::move(key), at);
      if (!inserted && !book.answers_[slot->second].response && it->second.response)
        slot->second = at;
      used |= slot->second == at;
    };
    index(book.by_text_, record.user_text());
    index(book.by_conversation_, record.conversation_key());
    if (used)
      book.answers_.push_back({it->second.response, it->second.cost, it->second.latency_ms});
  }
  return book;
}

const RecordedAnswer* ReplayBook::find(const ReplayRequest& request) const {
  if (auto it = by_conversation_.find(request.conversation_key); it != by_conversation_.end())
    return &answers_[it->second];
  auto it = by_text_.find(request.prompt_key);
  return it == by_text_.end() ? nullptr : &answers_[it->second];
}

Answer answer_for(const ReplayBook& book, const ReplayRequest& request, const std::string& model,
                  const Prices& prices) {
  Answer a;
  std::optional<double> cost;
  if (const RecordedAnswer* rec = book.find(request)) {
    cost = rec->cost;
    if (rec->response) {
      a.text = *rec->response;
      a.recorded = true;
    }
  }
  if (!a.recorded) a.text = placeholder_response(model, request.prompt_key);
  a.usage = compute_usage(request.prompt_chars, utf8_length(a.text), cost, prices);
  return a;
}

}  // namespace switchboard::replay
