// Personal data and secrets in prompt text: detectors registered by kind, and the scan that runs
// them all (docs/guard.md).
//
// A detector finds candidate spans with a pattern (RE2) and keeps those its own check accepts
// (a Luhn or mod-97 checksum, a numbering rule, an address parser). Each is a file in
// src/guard/detectors/ registered with PiiDetectorRegistrar under its kind, so a new kind is a new
// file. Detectors are immutable after construction and safe to share between threads; find() does
// no I/O and allocates only what it appends.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/registry.h"

namespace switchboard::guard {

struct PiiMatch {
  std::size_t begin = 0;  // byte offsets into the scanned text
  std::size_t end = 0;
  int kind = 0;  // index into PiiScanner::kinds()
};

class PiiDetector {
 public:
  virtual ~PiiDetector() = default;
  // Appends the spans of `text` this detector accepts (kind left 0; the scanner sets it).
  virtual void find(std::string_view text, std::vector<PiiMatch>& out) const = 0;
};

// `priority`: when spans of two kinds overlap, the kind of lower priority wins (a checksummed card
// number is not also a phone number), then the longer span.
struct PiiDetectorInfo {
  int priority = 100;
  std::string placeholder;  // placeholder prefix: "EMAIL" gives [EMAIL_1], [EMAIL_2], ...
  std::function<std::unique_ptr<PiiDetector>()> make;
};
using PiiDetectorRegistry = Registry<PiiDetectorInfo>;
using PiiDetectorRegistrar = Registrar<PiiDetectorInfo>;

// Every registered detector, in kind-name order. Immutable, thread-safe.
class PiiScanner {
 public:
  static const PiiScanner& instance();
  const std::vector<std::string>& kinds() const { return kinds_; }
  // Index of a kind name, or -1.
  int kind_index(std::string_view name) const;
  const std::string& placeholder(int kind) const { return placeholders_[kind]; }
  // The spans of `text` of the kinds whose bit is set in `mask` (bit i = kinds()[i]), sorted by
  // position, without overlaps. Look-alike characters count as the ASCII they look like (no-break
  // spaces, fullwidth digits, zero-width characters inside a value: guard/text_fold.h).
  std::vector<PiiMatch> scan(std::string_view text, std::uint64_t mask = ~std::uint64_t{0}) const;

 private:
  PiiScanner();
  // Appends the spans the detectors of `mask` find in `text` (overlapping, unsorted).
  void find(std::string_view text, std::uint64_t mask, std::vector<PiiMatch>& all) const;
  // `all` without overlaps: by priority, then longer spans first; sorted by position.
  std::vector<PiiMatch> resolve(std::vector<PiiMatch> all) const;
  std::vector<std::string> kinds_;
  std::vector<std::string> placeholders_;
  std::vector<int> priorities_;
  std::vector<std::unique_ptr<PiiDetector>> detectors_;
};

// --- Checks the detectors share (pure functions; tested on their own).

// Luhn checksum over the decimal digits of `digits` (other characters must have been removed).
bool luhn_valid(std::string_view digits);
// ISO 13616 IBAN check: two letters, two check digits, the rest alphanumeric, the country's length
// where known, and the number mod 97 == 1. `iban` without spaces, upper case.
bool iban_valid(std::string_view iban);
// A US social security number "AAA-GG-SSSS" whose parts are allowed (area not 000, 666 or 9xx,
// group not 00, serial not 0000).
bool ssn_valid(std::string_view area, std::string_view group, std::string_view serial);

}  // namespace switchboard::guard
