// admin/browser_guard.h: what a keyless admin listener refuses because a web page could have sent
// it (DNS rebinding, cross-site posts), and what it still answers (tools, its own dashboard).
#include "admin/browser_guard.h"

#include <gtest/gtest.h>

namespace switchboard::admin {
namespace {

using http::bhttp::field;
using http::bhttp::verb;

// A request as a current browser sends it (Sec-Fetch-Mode on every request), plus `extra`.
http::Request request(verb method, std::string host,
                      std::initializer_list<std::pair<field, std::string>> extra = {}) {
  http::Request r{method, "/admin/keys", 11};
  if (!host.empty()) r.set(field::host, host);
  r.set(field::sec_fetch_mode, "cors");
  for (const auto& [f, v] : extra) r.set(f, v);
  return r;
}

std::string refusal_code(const http::Request& r, std::vector<std::string> allowed = {}) {
  auto e = browser_refusal(r, allowed);
  return e ? e->code : "";
}

TEST(AdminBrowserGuard, HostMustBeAnAddressLocalhostOrListed) {
  for (const char* ok : {"127.0.0.1:9090", "localhost:9090", "LOCALHOST", "[::1]:9090", "10.1.2.3",
                         "dash.localhost:80", "[fe80::1]", "localhost.:9090"})
    EXPECT_EQ(refusal_code(request(verb::get, ok)), "") << ok;
  EXPECT_EQ(refusal_code(request(verb::get, "")), "") << "no Host";
  for (const char* bad : {"attacker.example:9090", "127.0.0.1.nip.io", "localhost.attacker.example",
                          "admin.internal:9090"})
    EXPECT_EQ(refusal_code(request(verb::get, bad)), "host_not_allowed") << bad;
  EXPECT_EQ(refusal_code(request(verb::get, "Admin.Internal:9090"), {"admin.internal"}), "");
  // Tools send no Sec-Fetch-* or Origin: a scraper or curl may use any name, and post.
  http::Request scraper{verb::get, "/metrics", 11};
  scraper.set(field::host, "switchboard:9090");
  EXPECT_EQ(refusal_code(scraper), "");
  http::Request curl{verb::post, "/admin/reload", 11};
  curl.set(field::host, "admin.internal:9090");
  EXPECT_EQ(refusal_code(curl), "");
  auto e = browser_refusal(request(verb::get, "attacker.example:9090"), {});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ErrorKind::kForbidden);
  EXPECT_NE(e->message.find("admin.allowed_hosts"), std::string::npos);
}

TEST(AdminBrowserGuard, ChangesFromAnotherSiteAreRefused) {
  const std::string host = "127.0.0.1:9090";
  EXPECT_EQ(refusal_code(request(verb::post, host, {{field::sec_fetch_site, "cross-site"}})),
            "cross_site_request");
  EXPECT_EQ(refusal_code(request(verb::delete_, host, {{field::sec_fetch_site, "same-site"}})),
            "cross_site_request");
  EXPECT_EQ(refusal_code(request(verb::post, host, {{field::origin, "http://attacker.example"}})),
            "cross_site_request");
  EXPECT_EQ(refusal_code(request(verb::post, host, {{field::origin, "null"}})), "cross_site_request");
  EXPECT_EQ(refusal_code(request(verb::post, host, {{field::origin, "http://127.0.0.1:9091"}})),
            "cross_site_request")
      << "another port is another origin";
  // Its own dashboard, a tool (curl sends neither header), and reads from anywhere with a good Host.
  EXPECT_EQ(refusal_code(request(verb::post, host, {{field::sec_fetch_site, "same-origin"},
                                                    {field::origin, "http://127.0.0.1:9090"}})),
            "");
  EXPECT_EQ(refusal_code(request(verb::post, host, {{field::origin, "http://127.0.0.1:9090"}})), "");
  EXPECT_EQ(refusal_code(request(verb::post, host)), "") << "same-origin fetches may omit Origin";
  EXPECT_EQ(refusal_code(request(verb::get, host, {{field::sec_fetch_site, "cross-site"}})), "")
      << "a cross-site read cannot see the answer (no CORS), and the Host check stops rebinding";
}

TEST(AdminBrowserGuard, AuthorityHost) {
  EXPECT_EQ(authority_host("Example.COM:80"), "example.com");
  EXPECT_EQ(authority_host("[::1]:9090"), "::1");
  EXPECT_EQ(authority_host("[::1]"), "::1");
  EXPECT_EQ(authority_host("host"), "host");
}

}  // namespace
}  // namespace switchboard::admin
