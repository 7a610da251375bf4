#include "store/record_codec.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace switchboard::store {
namespace {

static_assert(std::endian::native == std::endian::little, "doubles are stored little-endian");

constexpr unsigned char kFormat = 1;
constexpr std::size_t kItemSlots = 8;  // items of a list beyond this share the last slot

// The string fields, for the encoder's per-field slots.
enum Field : std::size_t {
  kRoute, kApi, kKeyName, kKeyTeam, kPolicy, kModel, kReplica, kReason, kOutcome, kErrorCode,
  kErrorMessage, kTokensSource, kCandModel, kCandNote, kAttModel, kAttReplica, kAttResult,
  kStageName, kStageOutcome, kGuardCheck, kGuardVerdict, kGuardKind, kGuardTarget, kCallModel,
  kCallReplica, kCallResult, kCallExtracted, kCallNote, kCacheStatus, kCacheMatch, kCacheNote,
  kSessKind, kSessAction, kSessModel, kSessReason, kFieldCount
};

// Flags of one record.
constexpr unsigned kStream = 1, kHasCache = 2, kHasSession = 4;

// The writers below take a cursor into room the caller reserved (kMaxVarint per number).
constexpr std::size_t kMaxVarint = 10;
inline char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
inline char* put_signed(char* p, std::int64_t v) {
  return put_varint(p, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
inline char* put_double(char* p, double v) {
  std::memcpy(p, &v, 8);
  return p + 8;
}
void put_varint(std::string& out, std::uint64_t v) {
  char b[kMaxVarint];
  out.append(b, put_varint(b, v));
}
void put_raw(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s.data(), s.size());
}
// Equal contents, compared inline for the short strings most fields hold (no memcmp call).
inline bool same(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8 && n <= 16) {
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.data(), 8);
    std::memcpy(&b0, b.data(), 8);
    std::memcpy(&a1, a.data() + n - 8, 8);
    std::memcpy(&b1, b.data() + n - 8, 8);
    return a0 == b0 && a1 == b1;
  }
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  return std::memcmp(a.data(), b.data(), n) == 0;
}

// Stage times to 0.1 µs (what the JSON column kept).
std::int64_t tenths(double us) {
  if (!(std::fabs(us) < 1e15)) return 0;  // NaN and infinities too
  const double t = us * 10;
  return static_cast<std::int64_t>(t < 0 ? t - 0.5 : t + 0.5);  // half away from zero (llround)
}

// Reads a blob; every read checks the bounds and sets `bad` instead of reading past the end.
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool bad = false;
  const std::vector<std::string_view>* dict = nullptr;

  explicit Reader(std::string_view s)
      : p(reinterpret_cast<const unsigned char*>(s.data())), end(p + s.size()) {}
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) break;
      const unsigned char b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    bad = true;
    return 0;
  }
  std::int64_t signed_() {
    const auto u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  double dbl() {
    if (end - p < 8) {
      bad = true;
      p = end;
      return 0;
    }
    double v;
    std::memcpy(&v, p, 8);
    p += 8;
    return v;
  }
  unsigned char byte() {
    if (p >= end) {
      bad = true;
      return 0;
    }
    return *p++;
  }
  std::string_view raw() {
    const auto n = varint();
    if (bad || n > static_cast<std::uint64_t>(end - p)) {
      bad = true;
      p = end;
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  std::string str() {
    const auto i = varint();
    if (bad || i >= dict->size()) {
      bad = true;
      return {};
    }
    return std::string((*dict)[i]);
  }
  // A list's length, bounded by the bytes left (every item takes at least one).
  std::size_t count() {
    const auto n = varint();
    if (n > static_cast<std::uint64_t>(end - p)) {
      bad = true;
      return 0;
    }
    return n;
  }
};

void read_record(Reader& in, DecisionRecord& r) {
  r.id = std::string(in.raw());
  r.time_ms = in.signed_();
  r.route = in.str();
  r.api = in.str();
  r.key_name = in.str();
  r.key_team = in.str();
  r.policy = in.str();
  r.model = in.str();
  r.replica = in.str();
  r.reason = in.str();
  r.status = static_cast<int>(in.signed_());
  r.outcome = in.str();
  r.error_code = in.str();
  r.error_message = in.str();
  r.tokens_source = in.str();
  const unsigned flags = in.byte();
  r.stream = flags & kStream;
  r.latency_ms = in.dbl();
  r.upstream_ms = in.dbl();
  r.cost_usd = in.dbl();
  r.prompt_tokens = in.signed_();
  r.completion_tokens = in.signed_();
  for (std::size_t n = in.count(); n-- && !in.bad;) {
    Candidate c;
    c.model = in.str();
    c.predicted_quality = in.dbl();
    c.predicted_cost = in.dbl();
    const unsigned f = in.byte();
    c.eligible = f & 1;
    if (f & 2) c.utility = in.dbl();
    if (f & 4) c.lambda = in.dbl();
    if (f & 8) c.price = in.dbl();
    c.note = in.str();
    r.candidates.push_back(std::move(c));
  }
  for (std::size_t n = in.count(); n-- && !in.bad;) {
    AttemptRecord a;
    a.model = in.str();
    a.replica = in.str();
    a.result = in.str();
    const unsigned f = in.byte();
    a.hedge = f & 1;
    if (f & 2) a.ms = in.dbl();
    a.unavailable = in.varint();
    r.attempts.push_back(std::move(a));
  }
  for (std::size_t n = in.count(); n-- && !in.bad;) {
    StageSpan s;
    s.name = in.str();
    s.us = static_cast<double>(in.signed_()) / 10;
    s.outcome = in.str();
    r.stages.push_back(std::move(s));
  }
  for (std::size_t n = in.count(); n-- && !in.bad;) {
    GuardCheck g;
    g.check = in.str();
    g.verdict = in.str();
    for (std::size_t k = in.count(); k-- && !in.bad;) {
      std::string kind = in.str();
      g.kinds.emplace_back(std::move(kind), static_cast<int>(in.signed_()));
    }
    const unsigned f = in.byte();
    if (f & 1) g.score = in.dbl();
    if (f & 2) g.threshold = in.dbl();
    g.target = in.str();
    g.us = in.dbl();
    r.guard.push_back(std::move(g));
  }
  for (std::size_t n = in.count(); n-- && !in.bad;) {
    CallRecord c;
    c.model = in.str();
    c.replica = in.str();
    c.tier = static_cast<int>(in.signed_());
    c.result = in.str();
    c.ms = in.dbl();
    c.prompt_tokens = in.signed_();
    c.completion_tokens = in.signed_();
    c.cost_usd = in.dbl();
    const unsigned f = in.byte();
    c.accepted = f & 1;
    if (f & 2) c.score = in.dbl();
    c.extracted = in.str();
    c.note = in.str();
    r.calls.push_back(std::move(c));
  }
  if (flags & kHasCache) {
    CacheRecord c;
    c.status = in.str();
    c.entry = std::string(in.raw());
    if (in.byte() & 1) c.similarity = in.dbl();
    c.match = in.str();
    c.saved_usd = in.dbl();
    c.note = in.str();
    r.cache = std::move(c);
  }
  if (flags & kHasSession) {
    SessionRecord s;
    s.kind = in.str();
    s.id = std::string(in.raw());
    s.turn = in.signed_();
    s.action = in.str();
    s.model = in.str();
    s.reason = in.str();
    r.session = std::move(s);
  }
}

// Reads the header and dictionary; calls `each(record_reader, id)` for every record with a reader
// bounded to that record. Stops when `each` returns false.
template <typename F>
bool walk(std::string_view blob, F&& each) {
  Reader in(blob);
  if (in.byte() != kFormat) return false;
  std::vector<std::string_view> dict;
  const std::size_t n = in.count();
  if (in.bad || n == 0) return false;
  dict.reserve(n);
  for (std::size_t i = 0; i < n && !in.bad; ++i) dict.push_back(in.raw());
  const std::size_t records = in.count();
  if (in.bad) return false;
  for (std::size_t i = 0; i < records; ++i) {
    const std::string_view rec = in.raw();
    if (in.bad) return false;
    Reader r(rec);
    r.dict = &dict;
    if (!each(r)) return true;
  }
  return in.p == in.end;
}

}  // namespace

std::int64_t id_time_ms(std::string_view id) {
  if (id.size() < 15 || id.substr(0, 4) != "dec_") return -1;
  std::int64_t t = 0;
  for (std::size_t i = 4; i < 15; ++i) {
    const char c = id[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return -1;
    t = t * 16 + d;
  }
  return t;
}

void BatchEncoder::Buf::grow(std::size_t n) {
  bytes.resize(std::max(2 * bytes.size(), used + n + 256));
}

BatchEncoder::BatchEncoder() : slots_(kFieldCount * kItemSlots) { strings_.push_back({}); }

BatchEncoder::Slot& BatchEncoder::slot(std::size_t field, std::size_t item) {
  return slots_[field * kItemSlots + std::min(item, kItemSlots - 1)];
}

std::uint32_t BatchEncoder::intern(std::string_view s) {
  auto [it, added] = dict_.try_emplace(s, static_cast<std::uint32_t>(strings_.size()));
  if (added) strings_.push_back(s);
  return it->second;
}

void BatchEncoder::str(std::string_view s) {
  const std::uint32_t i = s.empty() ? 0 : intern(s);
  record_.used = static_cast<std::size_t>(put_varint(record_.room(kMaxVarint), i) - record_.bytes.data());
}

inline void BatchEncoder::str(std::string_view s, Slot& slot) {
  std::uint32_t i = 0;
  if (!s.empty()) {
    if (!same(s, slot.last)) {
      slot.last = s;
      slot.index = intern(s);
    }
    i = slot.index;
  }
  record_.used = static_cast<std::size_t>(put_varint(record_.room(kMaxVarint), i) - record_.bytes.data());
}

void BatchEncoder::add(const DecisionRecord& r) {
  const std::int64_t t = record_time_key(r);
  if (count_ == 0 || t < min_ms_) min_ms_ = t;
  if (count_ == 0 || t > max_ms_) max_ms_ = t;
  ++count_;
  Buf& b = record_;
  b.used = 0;
  auto end_at = [&b](char* p) { b.used = static_cast<std::size_t>(p - b.bytes.data()); };
  auto var = [&](std::uint64_t v) { end_at(put_varint(b.room(kMaxVarint), v)); };
  auto sgn = [&](std::int64_t v) { end_at(put_signed(b.room(kMaxVarint), v)); };
  auto dbl = [&](double v) { end_at(put_double(b.room(8), v)); };
  auto byte = [&](unsigned v) { *b.room(1) = static_cast<char>(v); ++b.used; };
  auto raw = [&](std::string_view s) {
    char* p = put_varint(b.room(kMaxVarint + s.size()), s.size());
    std::memcpy(p, s.data(), s.size());
    end_at(p + s.size());
  };
  raw(r.id);
  sgn(r.time_ms);
  str(r.route, slot(kRoute, 0));
  str(r.api, slot(kApi, 0));
  str(r.key_name, slot(kKeyName, 0));
  str(r.key_team, slot(kKeyTeam, 0));
  str(r.policy, slot(kPolicy, 0));
  str(r.model, slot(kModel, 0));
  str(r.replica, slot(kReplica, 0));
  str(r.reason, slot(kReason, 0));
  sgn(r.status);
  str(r.outcome, slot(kOutcome, 0));
  str(r.error_code, slot(kErrorCode, 0));
  str(r.error_message, slot(kErrorMessage, 0));
  str(r.tokens_source, slot(kTokensSource, 0));
  byte(((r.stream ? kStream : 0) | (r.cache ? kHasCache : 0) |
                                (r.session ? kHasSession : 0)));
  dbl(r.latency_ms);
  dbl(r.upstream_ms);
  dbl(r.cost_usd);
  sgn(r.prompt_tokens);
  sgn(r.completion_tokens);
  var(r.candidates.size());
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    const Candidate& c = r.candidates[i];
    str(c.model, slot(kCandModel, i));
    dbl(c.predicted_quality);
    dbl(c.predicted_cost);
    byte(((c.eligible ? 1 : 0) | (c.utility ? 2 : 0) |
                                  (c.lambda ? 4 : 0) | (c.price ? 8 : 0)));
    if (c.utility) dbl(*c.utility);
    if (c.lambda) dbl(*c.lambda);
    if (c.price) dbl(*c.price);
    str(c.note, slot(kCandNote, i));
  }
  var(r.attempts.size());
  for (std::size_t i = 0; i < r.attempts.size(); ++i) {
    const AttemptRecord& a = r.attempts[i];
    str(a.model, slot(kAttModel, i));
    str(a.replica, slot(kAttReplica, i));
    str(a.result, slot(kAttResult, i));
    byte(((a.hedge ? 1 : 0) | (a.ms ? 2 : 0)));
    if (a.ms) dbl(*a.ms);
    var(a.unavailable);
  }
  var(r.stages.size());
  for (std::size_t i = 0; i < r.stages.size(); ++i) {
    const StageSpan& s = r.stages[i];
    str(s.name, slot(kStageName, i));
    sgn(tenths(s.us));
    str(s.outcome, slot(kStageOutcome, i));
  }
  var(r.guard.size());
  for (std::size_t i = 0; i < r.guard.size(); ++i) {
    const GuardCheck& g = r.guard[i];
    str(g.check, slot(kGuardCheck, i));
    str(g.verdict, slot(kGuardVerdict, i));
    var(g.kinds.size());
    for (const auto& [kind, n] : g.kinds) {
      str(kind, slot(kGuardKind, i));
      sgn(n);
    }
    byte(((g.score ? 1 : 0) | (g.threshold ? 2 : 0)));
    if (g.score) dbl(*g.score);
    if (g.threshold) dbl(*g.threshold);
    str(g.target, slot(kGuardTarget, i));
    dbl(g.us);
  }
  var(r.calls.size());
  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    const CallRecord& c = r.calls[i];
    str(c.model, slot(kCallModel, i));
    str(c.replica, slot(kCallReplica, i));
    sgn(c.tier);
    str(c.result, slot(kCallResult, i));
    dbl(c.ms);
    sgn(c.prompt_tokens);
    sgn(c.completion_tokens);
    dbl(c.cost_usd);
    byte(((c.accepted ? 1 : 0) | (c.score ? 2 : 0)));
    if (c.score) dbl(*c.score);
    str(c.extracted);
    str(c.note, slot(kCallNote, i));
  }
  if (r.cache) {
    const CacheRecord& c = *r.cache;
    str(c.status, slot(kCacheStatus, 0));
    raw(c.entry);
    byte(c.similarity ? 1 : 0);
    if (c.similarity) dbl(*c.similarity);
    str(c.match, slot(kCacheMatch, 0));
    dbl(c.saved_usd);
    str(c.note, slot(kCacheNote, 0));
  }
  if (r.session) {
    const SessionRecord& s = *r.session;
    str(s.kind, slot(kSessKind, 0));
    raw(s.id);
    sgn(s.turn);
    str(s.action, slot(kSessAction, 0));
    str(s.model, slot(kSessModel, 0));
    str(s.reason, slot(kSessReason, 0));
  }
  put_raw(body_, std::string_view(b.bytes.data(), b.used));
}

const std::string& BatchEncoder::finish() {
  out_.clear();
  out_.push_back(static_cast<char>(kFormat));
  put_varint(out_, strings_.size());
  for (const auto& s : strings_) put_raw(out_, s);
  put_varint(out_, count_);
  out_ += body_;
  body_.clear();
  dict_.clear();
  strings_.resize(1);
  for (auto& s : slots_) s = Slot{};
  count_ = 0;
  return out_;
}

bool decode_batch(std::string_view blob, const std::function<bool(DecisionRecord&&)>& each) {
  bool ok = true;
  const bool whole = walk(blob, [&](Reader& in) {
    DecisionRecord r;
    read_record(in, r);
    if (in.bad) {
      ok = false;
      return false;
    }
    return each(std::move(r));
  });
  return ok && whole;
}

std::optional<DecisionRecord> find_in_batch(std::string_view blob, std::string_view id) {
  std::optional<DecisionRecord> out;
  walk(blob, [&](Reader& in) {
    Reader peek = in;
    if (peek.raw() != id || peek.bad) return true;
    DecisionRecord r;
    read_record(in, r);
    if (!in.bad) out = std::move(r);
    return false;
  });
  return out;
}

}  // namespace switchboard::store
