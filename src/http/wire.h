// HTTP/1.1 message heads as one string, so a complete message goes out in one gather write
// (head + body) instead of through Beast's generic serializer, whose buffer-sequence machinery cost
// more CPU than the rest of a proxied request (bench/, callgrind). Used for complete responses
// (upstream requests are written by UpstreamClient::start without a bhttp::fields at all);
// streamed responses keep Beast's chunked writer.
//
// Contract: the message is prepared (prepare_payload(), keep_alive()) before; field names and
// values are written as stored (Beast rejects CR/LF in them when they are set).
#pragma once

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>

namespace switchboard::http {

// An HTTP field name: a token (RFC 9110 5.1).
inline bool header_name_ok(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' ||
                       c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' ||
                       c == '`' || c == '|' || c == '~';
    if (!token) return false;
  }
  return true;
}
// A field value (or request target) that cannot end the line it is written on: no CR, LF or NUL.
// (A plain loop: string_view::find_first_of calls memchr once per character.)
inline bool header_value_ok(std::string_view s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// "HTTP/1.1 200 OK\r\n" + fields + "\r\n".
template <typename Fields>
std::string head_text(const boost::beast::http::header<false, Fields>& h) {
  std::string out;
  out.reserve(256);
  out += h.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  const unsigned status = h.result_int();
  out += static_cast<char>('0' + status / 100 % 10);
  out += static_cast<char>('0' + status / 10 % 10);
  out += static_cast<char>('0' + status % 10);
  out += ' ';
  auto reason = h.reason();
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& f : h) {
    out.append(f.name_string().data(), f.name_string().size());
    out += ": ";
    out.append(f.value().data(), f.value().size());
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace switchboard::http
