#include "sim/trace.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>
#include <string_view>

#include "data/csv_reader.h"

namespace switchboard::sim {
namespace {

constexpr std::int64_t kMaxRequestTokens = 10'000'000;  // per request, each way
constexpr double kMaxTimestampMs = 1e15;                 // ~31,700 years

Error bad(const std::string& message) {
  return make_error(ErrorKind::kBadRequest, "bad_trace", message);
}

// "2023-11-16 18:15:46.6805900" -> microseconds since the epoch; false if malformed.
bool parse_timestamp(const std::string& s, std::int64_t& us) {
  int y, mo, d, h, mi;
  double sec;
  char tail;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%lf%c", &y, &mo, &d, &h, &mi, &sec, &tail) != 6)
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
      sec >= 61)
    return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  std::int64_t whole = static_cast<std::int64_t>(timegm(&tm));  // UTC; only differences matter
  us = whole * 1'000'000LL + static_cast<std::int64_t>(sec * 1e6 + 0.5);
  return true;
}

void finish(Trace& t) {
  std::stable_sort(
      t.requests.begin(), t.requests.end(),
      [](const TraceRequest& a, const TraceRequest& b) { return a.arrival_us < b.arrival_us; });
  if (t.requests.empty()) return;
  std::int64_t t0 = t.requests.front().arrival_us;
  for (auto& r : t.requests) r.arrival_us -= t0;
}

}  // namespace

Result<Trace> parse_mooncake(std::istream& in, const std::string& name, std::size_t limit) {
  Trace t;
  t.format = "mooncake";
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 && line.rfind("\xef\xbb\xbf", 0) == 0) line.erase(0, 3);  // a BOM
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto where = name + ":" + std::to_string(line_no) + ": ";
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad(where + "not a JSON object");
    TraceRequest r;
    try {
      const double ms = j.at("timestamp").get<double>();
      // (A cast of a value beyond int64 is undefined; one that large is no time of a trace.)
      if (!(ms >= 0 && ms <= kMaxTimestampMs))
        return bad(where + "timestamp must be a number of ms in [0, 1e15]");
      r.arrival_us = static_cast<std::int64_t>(ms * 1000.0);
      r.input_tokens = j.at("input_length").get<std::int64_t>();
      r.output_tokens = j.at("output_length").get<std::int64_t>();
      for (const auto& h : j.at("hash_ids")) r.blocks.push_back(h.get<std::uint64_t>());
      if (j.contains("adapter") && !j["adapter"].is_null())
        r.adapter = j["adapter"].get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      return bad(where +
                 "needs numeric timestamp, input_length, output_length and a list hash_ids (" +
                 e.what() + ")");
    }
    if (r.input_tokens <= 0 || r.output_tokens < 0)
      return bad(where + "lengths must be non-negative (input_length > 0)");
    if (r.input_tokens > kMaxRequestTokens || r.output_tokens > kMaxRequestTokens)
      return bad(where + "input_length and output_length must be at most 10,000,000 tokens");
    t.requests.push_back(std::move(r));
    if (limit && t.requests.size() >= limit) break;
  }
  if (t.requests.empty()) return bad(name + ": no requests");
  finish(t);
  return t;
}

Result<Trace> parse_mooncake(const std::string& text, const std::string& name, std::size_t limit) {
  std::istringstream in(text);
  return parse_mooncake(in, name, limit);
}

Result<Trace> parse_azure(const std::string& text, const std::string& name, std::size_t limit) {
  std::istringstream in(text);
  return parse_azure(in, name, limit);
}

Result<Trace> parse_azure(std::istream& in, const std::string& name, std::size_t limit) {
  Trace t;
  t.format = "azure";
  data::CsvReader csv(in, name);
  std::vector<std::string> f;
  auto header = csv.next(f);
  if (!header) return header.error();
  if (!*header || f.size() < 3 || f[0] != "TIMESTAMP" || f[1] != "ContextTokens" ||
      f[2] != "GeneratedTokens")
    return bad(name + ":1: expected the header TIMESTAMP,ContextTokens,GeneratedTokens");
  // No prefix information: every block of every request is distinct.
  std::uint64_t next_block = std::uint64_t{1} << 48;
  for (;;) {
    auto more = csv.next(f);
    if (!more) return more.error();
    if (!*more) break;
    auto where = name + ":" + std::to_string(csv.record_line()) + ": ";
    TraceRequest r;
    if (f.size() < 3 || !parse_timestamp(f[0], r.arrival_us)) return bad(where + "bad TIMESTAMP");
    try {
      std::size_t used = 0;
      r.input_tokens = std::stoll(f[1], &used);
      if (used != f[1].size()) throw std::invalid_argument("");
      r.output_tokens = std::stoll(f[2], &used);
      if (used != f[2].size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      return bad(where + "ContextTokens and GeneratedTokens must be integers");
    }
    if (r.input_tokens <= 0 || r.output_tokens < 0)
      return bad(where + "token counts must be positive");
    // Each 512-token block of a request is simulated as one id: a count beyond any model's
    // context would allocate gigabytes for one line.
    if (r.input_tokens > kMaxRequestTokens || r.output_tokens > kMaxRequestTokens)
      return bad(where + "ContextTokens and GeneratedTokens must be at most 10,000,000");
    std::int64_t n = (r.input_tokens + t.block_tokens - 1) / t.block_tokens;
    for (std::int64_t i = 0; i < n; ++i) r.blocks.push_back(next_block++);
    t.requests.push_back(std::move(r));
    if (limit && t.requests.size() >= limit) break;
  }
  if (t.requests.empty()) return bad(name + ": no requests");
  finish(t);
  return t;
}

namespace {
// A stream's first bytes, already read to tell its format, served again before the rest: a file
// or a pipe is read once, from its start, however much white space opens it.
class ReplayedHead : public std::streambuf {
 public:
  ReplayedHead(std::string head, std::streambuf* rest) : head_(std::move(head)), rest_(rest) {
    setg(head_.data(), head_.data(), head_.data() + head_.size());
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const std::streamsize n = rest_->sgetn(buf_, sizeof buf_);
    if (n <= 0) return traits_type::eof();
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::string head_;
  std::streambuf* rest_;
  char buf_[1 << 16];
};
}  // namespace

Result<Trace> load_trace(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path + ": cannot open the file");
  // The format by the first bytes that are not white space or a byte-order mark (read up to the
  // nine bytes of "TIMESTAMP" after them), then everything from the start.
  std::string head;
  std::size_t first = std::string::npos;
  for (char c; in.get(c);) {
    head += c;
    if (first == std::string::npos &&
        std::string_view(" \t\r\n\xef\xbb\xbf").find(c) == std::string_view::npos)
      first = head.size() - 1;
    if (first != std::string::npos && head.size() >= first + 9) break;
  }
  const bool mooncake = first != std::string::npos && head[first] == '{';
  const bool azure = first != std::string::npos && head.compare(first, 9, "TIMESTAMP") == 0;
  if (!mooncake && !azure)
    return bad(path + ": unknown trace format (expected Mooncake JSON lines or the Azure LLM CSV)");
  in.clear();
  ReplayedHead replayed(std::move(head), in.rdbuf());
  std::istream src(&replayed);
  return mooncake ? parse_mooncake(src, path, limit) : parse_azure(src, path, limit);
}

}  // namespace switchboard::sim
