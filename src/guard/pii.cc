#include "guard/pii.h"
#include "guard/text_fold.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <stdexcept>

namespace switchboard::guard {

const PiiScanner& PiiScanner::instance() {
  static const PiiScanner scanner;
  return scanner;
}

PiiScanner::PiiScanner() {
  for (const auto& name : PiiDetectorRegistry::instance().names()) {
    const PiiDetectorInfo* info = PiiDetectorRegistry::instance().find(name);
    kinds_.push_back(name);
    // Restoring finds placeholders by their shape, '[' A-Z+ '_' digits ']' (guard/redact.h).
    if (info->placeholder.empty() ||
        info->placeholder.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
      throw std::logic_error("PII detector '" + name + "': its placeholder '" + info->placeholder +
                             "' must be capital letters A-Z only");
    placeholders_.push_back(info->placeholder);
    priorities_.push_back(info->priority);
    detectors_.push_back(info->make());
  }
}

int PiiScanner::kind_index(std::string_view name) const {
  for (std::size_t i = 0; i < kinds_.size(); ++i)
    if (kinds_[i] == name) return static_cast<int>(i);
  return -1;
}

std::vector<PiiMatch> PiiScanner::scan(std::string_view text, std::uint64_t mask) const {
  std::vector<PiiMatch> all;
  find(text, mask, all);
  // The detectors also read look-alike characters folded to ASCII (guard/text_fold.h), the spans
  // given back in `text`'s own offsets. Both readings count: folding joins a value to what follows
  // a removed zero-width character or a dash turned '-', which a detector's boundary check then
  // refuses (a card followed by U+200B and a letter, an SSN followed by an em dash).
  if (const std::optional<FoldedText> folded = fold_for_detection(text)) {
    const std::size_t from = all.size();
    find(folded->text, mask, all);
    for (std::size_t i = from; i < all.size(); ++i) {
      all[i].begin = folded->origin(all[i].begin);
      all[i].end = folded->origin(all[i].end);
    }
  }
  return resolve(std::move(all));
}

void PiiScanner::find(std::string_view text, std::uint64_t mask, std::vector<PiiMatch>& all) const {
  for (std::size_t k = 0; k < detectors_.size(); ++k) {
    if (!(mask & (std::uint64_t{1} << k))) continue;
    const std::size_t from = all.size();
    detectors_[k]->find(text, all);
    for (std::size_t i = from; i < all.size(); ++i) all[i].kind = static_cast<int>(k);
  }
}

std::vector<PiiMatch> PiiScanner::resolve(std::vector<PiiMatch> all) const {
  if (all.size() < 2) return all;
  // By priority, then longer spans first, then by position: each kept span excludes any span it
  // overlaps.
  std::vector<std::size_t> order(all.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (priorities_[all[a].kind] != priorities_[all[b].kind])
      return priorities_[all[a].kind] < priorities_[all[b].kind];
    const auto la = all[a].end - all[a].begin, lb = all[b].end - all[b].begin;
    if (la != lb) return la > lb;
    return all[a].begin < all[b].begin;
  });
  // The kept spans are disjoint: by begin, the only one `m` can overlap is the last that begins
  // before m.end (a lookup per match, not a pass over all kept so far).
  std::map<std::size_t, std::size_t> kept;  // begin -> index in `all`
  for (std::size_t i : order) {
    const PiiMatch& m = all[i];
    auto after = kept.lower_bound(m.end);
    if (after != kept.begin() && all[std::prev(after)->second].end > m.begin) continue;
    kept.emplace(m.begin, i);
  }
  std::vector<PiiMatch> out;
  out.reserve(kept.size());
  for (const auto& [begin, i] : kept) out.push_back(all[i]);
  return out;
}

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

namespace {
// Lengths of IBANs by country (ISO 13616 registry, the SEPA countries and a few others).
int iban_length(std::string_view country) {
  struct Entry {
    const char* cc;
    int len;
  };
  static constexpr Entry kLengths[] = {
      {"AD", 24}, {"AE", 23}, {"AT", 20}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
      {"BR", 29}, {"CH", 21}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"EE", 20},
      {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GI", 23}, {"GL", 18},
      {"GR", 27}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27},
      {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
      {"MC", 27}, {"ME", 22}, {"MK", 19}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15},
      {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
      {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"TN", 24}, {"TR", 26},
      {"UA", 29}, {"VA", 22}, {"XK", 20}};
  for (const auto& e : kLengths)
    if (country == e.cc) return e.len;
  return 0;
}
}  // namespace

bool iban_valid(std::string_view iban) {
  if (iban.size() < 15 || iban.size() > 34) return false;
  for (std::size_t i = 0; i < iban.size(); ++i) {
    const char c = iban[i];
    const bool letter = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
    if (i < 2 && !letter) return false;
    if (i >= 2 && i < 4 && !digit) return false;
    if (!letter && !digit) return false;
  }
  if (int len = iban_length(iban.substr(0, 2)); len && static_cast<std::size_t>(len) != iban.size())
    return false;
  // The first four characters move to the end; letters count as 10..35; mod 97 piecewise.
  int rem = 0;
  auto feed = [&rem](char c) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      const int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    }
  };
  for (std::size_t i = 4; i < iban.size(); ++i) feed(iban[i]);
  for (std::size_t i = 0; i < 4; ++i) feed(iban[i]);
  return rem == 1;
}

bool ssn_valid(std::string_view area, std::string_view group, std::string_view serial) {
  if (area.size() != 3 || group.size() != 2 || serial.size() != 4) return false;
  if (area == "000" || area == "666" || area[0] == '9') return false;
  return group != "00" && serial != "0000";
}

}  // namespace switchboard::guard
