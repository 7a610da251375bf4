// HTTP/1.1 message heads as one string, so a complete message goes out in one gather write
// (head + body) instead of through Beast's generic serializer, whose buffer-sequence machinery cost
// more CPU than the rest of a proxied request (bench/, callgrind). Used for complete responses and
// upstream requests; streamed responses keep Beast's chunked writer.
//
// Contract: the message is prepared (prepare_payload(), keep_alive()) before; field names and
// values are written as stored (Beast rejects CR/LF in them when they are set).
#pragma once

#include <boost/beast/http.hpp>
#include <string>

namespace switchboard::http {

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

// "POST /target HTTP/1.1\r\n" + fields + "\r\n".
template <typename Fields>
std::string head_text(const boost::beast::http::header<true, Fields>& h) {
  std::string out;
  out.reserve(256);
  auto method = h.method_string();
  out.append(method.data(), method.size());
  out += ' ';
  auto target = h.target();
  out.append(target.data(), target.size());
  out += h.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
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
