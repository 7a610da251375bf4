// Whole-text number parsing for the command line: parse_whole / parse_finite for values read by
// hand (`--param k=v`), and CLI11 validators built on them for options — CLI11's own Range and
// NonNegativeNumber let NaN through (every comparison with it is false), and `inf` is a number to
// them.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::cli {

// `text` as a whole number in [0, max] written in digits only (no sign, space or suffix: std::stoul
// read "24abc" as 24 and wrapped 2^32 to 0 when cast), else nullopt.
inline std::optional<unsigned long long> parse_whole(std::string_view text, unsigned long long max) {
  unsigned long long v = 0;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

// `text` as a finite number in [lo, hi], all of it (std::stod read "0.5abc" as 0.5 and took
// "nan"), else nullopt.
inline std::optional<double> parse_finite(const std::string& text, double lo, double hi) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v) || v < lo || v > hi) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// CLI11 validators on the two parsers above, so an option and a `--param` value are checked alike.
// A finite number >= 0 (> 0 with `positive`).
inline CLI::Validator finite_number(bool positive) {
  return CLI::Validator(
      [positive](std::string& text) -> std::string {
        constexpr double kMax = std::numeric_limits<double>::max();
        const auto v = parse_finite(text, -kMax, kMax);
        if (!v) return "'" + text + "' is not a finite number";
        if (positive ? !(*v > 0) : !(*v >= 0))
          return "'" + text + "' must be " + (positive ? "> 0" : ">= 0");
        return "";
      },
      positive ? "POSITIVE" : "NON-NEGATIVE");
}

// A whole number >= 0 written in digits: CLI11 reads "-3" into an unsigned option as 2^64 - 3.
inline CLI::Validator whole_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!parse_whole(text, std::numeric_limits<std::int64_t>::max()))
          return "'" + text + "' is not a whole number >= 0";
        return "";
      },
      "WHOLE");
}

}  // namespace switchboard::cli
