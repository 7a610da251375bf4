// A streaming RFC 4180 CSV reader: comma-separated fields, optionally enclosed in double quotes; a
// quoted field may contain commas, CR/LF line breaks and doubled quotes ("" stands for ").
// Records end with LF or CRLF; a final record without a line break is accepted; blank lines and a
// leading UTF-8 BOM are skipped.
//
// Strictness (so that a damaged file fails loudly instead of shifting columns): a quote inside an
// unquoted field, anything but a comma or line break after a closing quote, and end of input
// inside a quoted field are errors (kind kBadRequest, code "bad_csv") naming the physical line.
//
// (Debian's libcsv-dev would do the same job but is a C callback API that has not been released
// since 2013 and would add a link dependency for about sixty lines of state machine.)
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::data {

class CsvReader {
 public:
  // `in` must outlive the reader. `name` prefixes error messages (usually the file path).
  CsvReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  // Reads the next record into `fields` (cleared first). Returns true when a record was read,
  // false at end of input, or an error. After an error the reader must not be used again.
  Result<bool> next(std::vector<std::string>& fields);

  // The 1-based physical line on which the record last returned by next() started.
  std::size_t record_line() const { return record_line_; }

 private:
  Error error(const std::string& what) const;
  int get();  // next byte as unsigned char, or EOF
  std::istream& in_;
  std::string pending_;  // bytes read ahead while looking for a BOM
  std::size_t pending_pos_ = 0;
  std::string name_;
  std::size_t line_ = 1;
  std::size_t record_line_ = 0;
  bool started_ = false;
};

}  // namespace switchboard::data
