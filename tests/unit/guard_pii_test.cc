// The guard's PII detectors (true and false positives per kind, checksums), redaction and
// restoring the originals in plain and streamed answers.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "api/sse.h"
#include "guard/literal_starts.h"
#include "guard/pii.h"
#include "guard/redact.h"
#include "guard/text_fold.h"
#include "guard_unrestore_reference.h"

namespace switchboard::guard {
namespace {

// The kinds found in `text`, in order, as "kind:matched text".
std::vector<std::string> found(std::string_view text) {
  const auto& s = PiiScanner::instance();
  std::vector<std::string> out;
  for (const auto& m : s.scan(text))
    out.push_back(s.kinds()[m.kind] + ":" + std::string(text.substr(m.begin, m.end - m.begin)));
  return out;
}
using V = std::vector<std::string>;
using Placeholders = std::vector<std::pair<std::string, std::string>>;

TEST(GuardChecksums, Luhn) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("79927398713"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_FALSE(luhn_valid(""));
  EXPECT_FALSE(luhn_valid("4111-1111"));
}

TEST(GuardChecksums, Iban) {
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_TRUE(iban_valid("FR1420041010050500013M02606"));
  EXPECT_FALSE(iban_valid("GB82WEST12345698765431"));  // check digits wrong
  EXPECT_FALSE(iban_valid("DE8937040044053201300"));   // one short for DE
  EXPECT_FALSE(iban_valid("G182WEST12345698765432"));  // country not letters
  EXPECT_FALSE(iban_valid("GB82WEST1234569876543!"));
}

TEST(GuardChecksums, Ssn) {
  EXPECT_TRUE(ssn_valid("123", "45", "6789"));
  EXPECT_FALSE(ssn_valid("000", "45", "6789"));
  EXPECT_FALSE(ssn_valid("666", "45", "6789"));
  EXPECT_FALSE(ssn_valid("912", "45", "6789"));
  EXPECT_FALSE(ssn_valid("123", "00", "6789"));
  EXPECT_FALSE(ssn_valid("123", "45", "0000"));
}

TEST(GuardPii, KindsAreRegistered) {
  EXPECT_EQ(PiiScanner::instance().kinds(),
            (V{"card", "email", "iban", "ip", "phone", "secret", "ssn"}));
}

TEST(GuardPii, Email) {
  EXPECT_EQ(found("write to jane.doe+news@mail.example.org today"),
            V{"email:jane.doe+news@mail.example.org"});
  EXPECT_EQ(found("Contact: BOB_42@Example.co.uk."), V{"email:BOB_42@Example.co.uk"});
  EXPECT_EQ(found("ping @jane on slack, or user@localhost, or a@b"), V{});
  EXPECT_EQ(found("git clone git@github"), V{});
  EXPECT_EQ(found("mail jane@example.com--thanks"), V{"email:jane@example.com"});
}

TEST(GuardPii, Phone) {
  EXPECT_EQ(found("call +1 (415) 555-2671 now"), V{"phone:+1 (415) 555-2671"});
  EXPECT_EQ(found("office: 415-555-2671"), V{"phone:415-555-2671"});
  EXPECT_EQ(found("London +44 20 7946 0958"), V{"phone:+44 20 7946 0958"});
  EXPECT_EQ(found("mon portable: 06 12 34 56 78"), V{"phone:06 12 34 56 78"});
  EXPECT_EQ(found("(212) 555-0100"), V{"phone:(212) 555-0100"});
  // Dates, versions, decimals and bare ids are not phone numbers.
  EXPECT_EQ(found("on 2023-01-15 we shipped v1.2.3 with pi=3.14159 for order 1234567890"), V{});
  EXPECT_EQ(found("the range 10-20-30 and 1/2/2024"), V{});
  // Since session 24: North American with its country code, E.164 run together.
  EXPECT_EQ(found("toll free 1-800-555-0199 today"), V{"phone:1-800-555-0199"});
  EXPECT_EQ(found("whatsapp +14155552671"), V{"phone:+14155552671"});
}

TEST(GuardPii, Card) {
  EXPECT_EQ(found("card 4111 1111 1111 1111 exp 12/29"), V{"card:4111 1111 1111 1111"});
  EXPECT_EQ(found("mc 5500-0000-0000-0004"), V{"card:5500-0000-0000-0004"});
  EXPECT_EQ(found("amex 378282246310005."), V{"card:378282246310005"});
  EXPECT_EQ(found("4111 1111 1111 1112"), V{});         // Luhn fails
  EXPECT_EQ(found("1234 5678 9012 3452"), V{});         // no known issuer
  EXPECT_EQ(found("4111 1111-1111 1111"), V{});         // mixed separators
  EXPECT_EQ(found("tracking 41111111111111110"), V{});  // 17 digits, Luhn fails
  // Followed by its expiry or CVV: the greedy run takes their digits, the card is still found.
  EXPECT_EQ(found("Card 4111 1111 1111 1111 12/26"), V{"card:4111 1111 1111 1111"});
  EXPECT_EQ(found("card 4111111111111111 123"), V{"card:4111111111111111"});
  EXPECT_EQ(found("card 4111-1111-1111-1111 2026"), V{"card:4111-1111-1111-1111"});
  EXPECT_EQ(found("mastercard 5555 5555 5555 4444 123"), V{"card:5555 5555 5555 4444"});
}

TEST(GuardPii, Iban) {
  EXPECT_EQ(found("pay to GB82 WEST 1234 5698 7654 32 please"),
            V{"iban:GB82 WEST 1234 5698 7654 32"});
  EXPECT_EQ(found("IBAN: DE89370400440532013000"), V{"iban:DE89370400440532013000"});
  EXPECT_EQ(found("GB82 WEST 1234 5698 7654 31"), V{});  // mod 97 fails
  EXPECT_EQ(found("model XY12 ABCD EFGH"), V{});
}

TEST(GuardPii, Ssn) {
  EXPECT_EQ(found("SSN 123-45-6789."), V{"ssn:123-45-6789"});
  EXPECT_EQ(found("000-12-3456 666-12-3456 987-65-4321"), V{});
  EXPECT_EQ(found("part no. 123-45-67890"), V{});
}

TEST(GuardPii, Ip) {
  EXPECT_EQ(found("server at 192.168.0.1, port 80"), V{"ip:192.168.0.1"});
  EXPECT_EQ(found("v6 2001:db8::8a2e:370:7334 ok"), V{"ip:2001:db8::8a2e:370:7334"});
  EXPECT_EQ(found("mapped ::ffff:192.0.2.1"), V{"ip:::ffff:192.0.2.1"});
  EXPECT_EQ(found("999.1.1.1 and 1.2.3.4.5 and 01.02.03.04"), V{});
  EXPECT_EQ(found("at 12:30:45 use std::vector and a::b"), V{});
}

TEST(GuardPii, Secret) {
  const std::string openai = "sk-proj-" + std::string("Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z");
  EXPECT_EQ(found("key=" + openai), V{"secret:" + openai});
  EXPECT_EQ(found("AKIAIOSFODNN7EXAMPLE is the id"), V{"secret:AKIAIOSFODNN7EXAMPLE"});
  const std::string gh = "ghp_" + std::string(36, 'a');
  EXPECT_EQ(found("token " + gh), V{"secret:" + gh});
  const std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----";
  EXPECT_EQ(found("here:\n" + pem + "\nthanks"), V{"secret:" + pem});
  EXPECT_EQ(found("cut off: -----BEGIN PRIVATE KEY-----\nMIIE"),
            V{"secret:-----BEGIN PRIVATE KEY-----\nMIIE"});
  // Lookalikes: a word ending in "sk-", a short sk-, an AKIA prefix, a public key.
  EXPECT_EQ(found("task-management-system-overview-document; sk-short; AKIA123"), V{});
  EXPECT_EQ(found("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"), V{});
  // Since session 24: Stripe test keys, Hugging Face, GitLab, PGP private key blocks; an sk- run
  // of words is no key.
  const std::string stripe = "sk_test_" + std::string("4eC39HqLyjWDarjtT1zdp7dc");
  EXPECT_EQ(found("stripe " + stripe), V{"secret:" + stripe});
  const std::string hf = "hf_" + std::string("aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
  EXPECT_EQ(found("HF token " + hf), V{"secret:" + hf});
  const std::string gl = "glpat-" + std::string("xXy1Z2aB3cD4eF5gH6iJ");
  EXPECT_EQ(found("gitlab " + gl), V{"secret:" + gl});
  const std::string pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----";
  EXPECT_EQ(found(pgp), V{"secret:" + pgp});
  EXPECT_EQ(found("pip install sk-learn-utils-for-everyone-today"), V{});
}

TEST(GuardPii, MaskSelectsKinds) {
  const auto& s = PiiScanner::instance();
  const std::uint64_t email_only = std::uint64_t{1} << s.kind_index("email");
  EXPECT_EQ(s.scan("a.b@example.com 123-45-6789", email_only).size(), 1u);
  EXPECT_EQ(s.scan("123-45-6789", email_only).size(), 0u);
}

TEST(GuardRedact, SameValueSamePlaceholder) {
  Redaction r;
  const auto out = redact_text(
      "mail a@example.com, then b@example.org, then a@example.com again; SSN 123-45-6789", ~0ull,
      r);
  EXPECT_EQ(out, "mail [EMAIL_1], then [EMAIL_2], then [EMAIL_1] again; SSN [SSN_1]");
  ASSERT_EQ(r.placeholders.size(), 3u);
  EXPECT_EQ(r.placeholders[0], (std::pair<std::string, std::string>{"[EMAIL_1]", "a@example.com"}));
  const auto& s = PiiScanner::instance();
  EXPECT_EQ(r.counts[s.kind_index("email")], 3);
  EXPECT_EQ(r.counts[s.kind_index("ssn")], 1);
}

TEST(GuardRedact, ChatBodyMessagesAndParts) {
  Redaction r;
  const std::string body =
      R"({"model":"guarded","temperature":0.5,"messages":[{"role":"system","content":"be brief"},)"
      R"({"role":"user","content":[{"type":"text","text":"I am a@example.com"},{"type":"image_url","image_url":{"url":"x"}}]},)"
      R"({"role":"user","content":"again: a@example.com and 4111 1111 1111 1111"}]})";
  auto out = redact_chat_body(body, ~0ull, r);
  ASSERT_TRUE(out) << out.error().message;
  auto j = nlohmann::json::parse(*out);
  EXPECT_EQ(j["model"], "guarded");
  EXPECT_EQ(j["temperature"], 0.5);
  EXPECT_EQ(j["messages"][0]["content"], "be brief");
  EXPECT_EQ(j["messages"][1]["content"][0]["text"], "I am [EMAIL_1]");
  EXPECT_EQ(j["messages"][1]["content"][1]["image_url"]["url"], "x");
  EXPECT_EQ(j["messages"][2]["content"], "again: [EMAIL_1] and [CARD_1]");
  EXPECT_EQ(out->find("a@example.com"), std::string::npos);
  EXPECT_FALSE(redact_chat_body("not json", ~0ull, r));
}

TEST(GuardRestore, WholeAnswerJsonEscaped) {
  std::vector<std::pair<std::string, std::string>> p = {{"[EMAIL_1]", "a@example.com"},
                                                        {"[SECRET_1]", "line1\nline\"2"}};
  const std::string answer =
      R"({"choices":[{"message":{"content":"Write to [EMAIL_1]; key [SECRET_1]; [EMAIL_12] [X"}}]})";
  const auto restored = restore_json_text(answer, p);
  auto j = nlohmann::json::parse(restored);
  EXPECT_EQ(j["choices"][0]["message"]["content"],
            "Write to a@example.com; key line1\nline\"2; [EMAIL_12] [X");
}

std::string event(const std::string& content, bool finish = false,
                  const char* field = "content") {
  nlohmann::json j = {{"choices",
                       {{{"index", 0},
                         {"delta", {{field, content}}},
                         {"finish_reason", finish ? nlohmann::json("stop") : nlohmann::json()}}}}};
  return "data: " + j.dump() + "\n\n";
}

// The client's text (of delta field `field`) out of a stream of events.
std::string content_of(const std::string& sse, const char* field = "content") {
  std::string out;
  std::size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    const auto end = sse.find("\n\n", pos);
    const auto data = sse.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") continue;
    auto j = nlohmann::json::parse(data);
    if (j["choices"][0]["delta"].contains(field))
      out += j["choices"][0]["delta"][field].get<std::string>();
  }
  return out;
}

TEST(GuardRestore, StreamedPlaceholderSplitOverChunks) {
  StreamRestorer r(Placeholders{{"[EMAIL_1]", "a@example.com"}, {"[PHONE_1]", "+1 415 555 2671"}});
  std::string out;
  const std::string no_placeholder = event("Hello ");
  out += r.feed(no_placeholder);
  EXPECT_EQ(out, no_placeholder);  // passed through unchanged
  // "[EM" "AIL_" "1] and [" "PHONE_1]" split across events, and the second event split mid-bytes.
  const std::string e2 = event("write to [EM");
  out += r.feed(e2.substr(0, 10));
  out += r.feed(e2.substr(10));
  out += r.feed(event("AIL_"));
  out += r.feed(event("1] or call ["));
  out += r.feed(event("PHONE_1]. [Note"));
  out += r.feed(event("] done [EMA", true));
  out += r.feed("data: [DONE]\n\n");
  out += r.finish();
  EXPECT_EQ(content_of(out),
            "Hello write to a@example.com or call +1 415 555 2671. [Note] done [EMA");
  EXPECT_NE(out.find("data: [DONE]"), std::string::npos);
}

// Events may end with lone CRs or mixed line ends (the SSE grammar): each is restored as it comes,
// not held to the stream's end.
TEST(GuardRestore, EventsEndingWithLoneCrsAreRestoredAsTheyCome) {
  const auto cr = [](std::string e) {
    for (auto& c : e)
      if (c == '\n') c = '\r';
    return e;
  };
  StreamRestorer r(Placeholders{{"[EMAIL_1]", "a@example.com"}});
  const std::string first = r.feed(cr(event("write to [EMAIL_1] ")));
  EXPECT_NE(first.find("a@example.com"), std::string::npos) << first;
  std::string mixed = event("or [EMAIL_1]");
  mixed.replace(mixed.size() - 2, 2, "\n\r\n");
  const std::string second = r.feed(mixed);
  EXPECT_NE(second.find("a@example.com"), std::string::npos) << second;
}

// Whatever the line ends ("\n", "\r\n", a lone "\r", mixed) and wherever the pieces are cut,
// each event reaches the client as an event of its own with its placeholder restored (review:
// "\r\r\n", "\n\r" + data and "\r\n\r" + data were split wrongly or held to the end).
TEST(GuardRestore, AnyLineEndsAnyCutsEachEventRestored) {
  std::mt19937 rng(29);
  const char* ends[] = {"\n", "\r\n", "\r"};
  for (int round = 0; round < 300; ++round) {
    std::string stream;
    const int events = 1 + static_cast<int>(rng() % 5);
    for (int e = 0; e < events; ++e) {
      std::string ev = event("write to [EMAIL_1]");
      ev.resize(ev.size() - 2);  // its "\n\n"
      const char* first = ends[rng() % 3];
      const char* second = ends[rng() % 3];
      if (std::string_view(first) == "\r" && std::string_view(second) == "\n") second = "\r\n";
      stream += ev + first + second;  // ("\r" then "\n" would be one line end, no blank line)
    }
    StreamRestorer r(Placeholders{{"[EMAIL_1]", "a@example.com"}});
    std::string out, cuts;
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 40, stream.size() - at);
      out += r.feed(std::string_view(stream).substr(at, n));
      at += n;
      cuts += std::to_string(at) + " ";
    }
    out += r.finish();
    std::string text;
    int seen = 0;
    api::SseParser client([&](std::string_view d) {
      ++seen;
      text += nlohmann::json::parse(d)["choices"][0]["delta"]["content"].get<std::string>();
    });
    client.feed(out);
    client.finish();
    EXPECT_EQ(seen, events) << out;
    std::string want;
    for (int e = 0; e < events; ++e) want += "write to a@example.com";
    EXPECT_EQ(text, want) << "cut after " << cuts << "\n" << nlohmann::json(stream).dump();
  }
}

TEST(GuardRestore, StreamedReasoningIsRestoredAndReleasedBeforeTheAnswer) {
  for (const char* field : {"reasoning_content", "reasoning"}) {
    StreamRestorer r(Placeholders{{"[EMAIL_1]", "a@example.com"}});
    std::string out = r.feed(event("They wrote [EMA", false, field));
    out += r.feed(event("IL_1] and [EM", false, field));
    out += r.feed(event("Mail ", false, "content"));  // the answer starts: held reasoning first
    out += r.feed(event("[EMAIL_1]", true, "content"));
    out += r.feed("data: [DONE]\n\n");
    out += r.finish();
    EXPECT_EQ(content_of(out, field), "They wrote a@example.com and [EM") << field;
    EXPECT_EQ(content_of(out), "Mail a@example.com") << field;
    // Every piece of reasoning reaches the client no later than the answer's first piece (in the
    // same delta at the latest, which readers take reasoning first).
    std::size_t event_no = 0, last_reasoning = 0, first_content = 0;
    for (std::size_t at = 0; (at = out.find("data: ", at)) != std::string::npos; ++at, ++event_no) {
      const std::string one = out.substr(at, out.find("\n\n", at) - at);
      if (one.find(field) != std::string::npos) last_reasoning = event_no;
      if (one.find("\"content\"") != std::string::npos && !first_content) first_content = event_no;
    }
    EXPECT_LE(last_reasoning, first_content) << out;
  }
}

// Tool calls' arguments are JSON text: a placeholder split over argument pieces is restored, the
// value JSON-escaped; held arguments of one call are released when the next call starts, in a
// delta of their own call's index.
TEST(GuardRestore, StreamedToolCallArgumentsAreRestoredPerCall) {
  StreamRestorer r(Placeholders{{"[EMAIL_1]", "a@example.com"}, {"[NAME_1]", "Ann \"Q\" Lee"}});
  auto call = [](std::size_t index, const std::string& args, bool first = false) {
    nlohmann::json c = {{"index", index}, {"function", {{"arguments", args}}}};
    if (first) {
      c["id"] = "call_" + std::to_string(index);
      c["function"]["name"] = "send";
    }
    nlohmann::json ev = {{"choices", {{{"index", 0},
                                       {"delta", {{"tool_calls", {c}}}},
                                       {"finish_reason", nullptr}}}}};
    return "data: " + ev.dump() + "\n\n";
  };
  std::string out = r.feed(call(0, "", true));
  out += r.feed(call(0, "{\"to\":\"[EMA"));
  out += r.feed(call(0, "IL_1]\",\"cc\":\"[EM"));  // "[EM" is held ...
  out += r.feed(call(1, "{\"who\":\"[NAME_1]\"}", true));  // ... and released as call 1 starts
  out += r.feed(event("", true));
  out += r.feed("data: [DONE]\n\n");
  out += r.finish();
  std::map<std::size_t, std::string> args;
  for (std::size_t at = 0; (at = out.find("data: {", at)) != std::string::npos; ++at) {
    auto j = nlohmann::json::parse(out.substr(at + 6, out.find("\n\n", at) - at - 6));
    auto& d = j["choices"][0]["delta"];
    if (d.contains("tool_calls"))
      for (auto& c : d["tool_calls"]) args[c["index"]] += c["function"]["arguments"].get<std::string>();
  }
  EXPECT_EQ(args[0], R"({"to":"a@example.com","cc":"[EM)");
  EXPECT_EQ(nlohmann::json::parse(args[1])["who"], "Ann \"Q\" Lee") << args[1];
  // Call 0's held piece went out before call 1's first piece.
  const auto released = out.find(R"("arguments":"[EM")");
  ASSERT_NE(released, std::string::npos) << out;
  EXPECT_LT(released, out.find("call_1")) << out;
}

// JSON mode (response_format json_object / json_schema): the content is JSON text, so a value
// with a quote or a newline goes back escaped twice and the content still parses; reasoning stays
// plain text. Without the flag the same answer's content is left unparseable (the old behaviour).
TEST(GuardRestore, JsonModeContentStaysValidJson) {
  const Placeholders p = {{"[SECRET_1]", "line1\nline\"2"}, {"[EMAIL_1]", "a@example.com"}};
  const std::string answer = nlohmann::json{
      {"choices", {{{"message", {{"content", R"({"key":"[SECRET_1]","to":"[EMAIL_1]"})"},
                                 {"reasoning_content", "the key [SECRET_1]"}}}}}}}.dump();
  auto j = nlohmann::json::parse(restore_answer_json(answer, p, true));
  const auto content = nlohmann::json::parse(j["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(content["key"], "line1\nline\"2");
  EXPECT_EQ(content["to"], "a@example.com");
  EXPECT_EQ(j["choices"][0]["message"]["reasoning_content"], "the key line1\nline\"2");
  auto plain = nlohmann::json::parse(restore_answer_json(answer, p));
  EXPECT_TRUE(nlohmann::json::parse(plain["choices"][0]["message"]["content"].get<std::string>(),
                                    nullptr, false)
                  .is_discarded());
}

TEST(GuardRestore, JsonModeStreamedContentStaysValidJson) {
  StreamRestorer r(Placeholders{{"[SECRET_1]", "a\"b\nc"}}, true);
  std::string out = r.feed(event("{\"key\":\"[SEC"));
  out += r.feed(event("RET_1]\"}"));
  out += r.feed(event("", true));
  out += r.feed("data: [DONE]\n\n");
  out += r.finish();
  const std::string text = content_of(out);
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << text;
  EXPECT_EQ(parsed["key"], "a\"b\nc");
  // Text held at [DONE] is JSON text too.
  StreamRestorer held(Placeholders{{"[SECRET_1]", "a\"b"}}, true);
  std::string cut = held.feed(event("\"[SECRET_1]\" [SECRET_"));
  cut += held.feed("data: [DONE]\n\n");
  EXPECT_EQ(content_of(cut), "\"a\\\"b\" [SECRET_");
}

TEST(GuardRestore, HeldTextFlushedAtDone) {
  StreamRestorer r(Placeholders{{"[EMAIL_1]", "a@example.com"}});
  std::string out = r.feed(event("see [EMAIL_"));
  out += r.feed("data: [DONE]\n\n");
  out += r.finish();
  EXPECT_EQ(content_of(out), "see [EMAIL_");
  EXPECT_LT(out.find("[EMAIL_"), out.find("[DONE]"));
}

TEST(GuardRestore, PlaceholderPrefixSuffix) {
  EXPECT_EQ(placeholder_prefix_suffix("abc ["), 1u);
  EXPECT_EQ(placeholder_prefix_suffix("abc [EMA"), 4u);
  EXPECT_EQ(placeholder_prefix_suffix("abc [EMAIL_1"), 8u);
  EXPECT_EQ(placeholder_prefix_suffix("abc [EMAIL_1]"), 0u);
  EXPECT_EQ(placeholder_prefix_suffix("abc [a"), 0u);
  EXPECT_EQ(placeholder_prefix_suffix("abc"), 0u);
}

TEST(GuardRestore, PlainTextAndItsInverse) {
  const std::vector<std::pair<std::string, std::string>> p = {
      {"[EMAIL_1]", "a@b.co"}, {"[EMAIL_2]", "longer.a@b.co"}, {"[PHONE_1]", "555-0100"}};
  const std::string answer = "Mail [EMAIL_1] or [EMAIL_2], call [PHONE_1]; [not one] [EMAIL_9]";
  const std::string restored = restore_text(answer, p);
  EXPECT_EQ(restored, "Mail a@b.co or longer.a@b.co, call 555-0100; [not one] [EMAIL_9]");
  // Back to the placeholders; the longer value is not cut by the shorter one it ends with.
  EXPECT_EQ(unrestore_text(restored, p), answer);
  EXPECT_EQ(unrestore_text("nothing here", p), "nothing here");
  EXPECT_EQ(unrestore_text("a@b.coa@b.co", p), "[EMAIL_1][EMAIL_1]");
  EXPECT_EQ(unrestore_text("x", {{"[E_1]", ""}}), "x") << "an empty value matches nothing";
}

TEST(GuardRestore, UnrestoreAgreesWithTheNaiveLongestLeftmostMatch) {
  // Values over a 3-letter alphabet (many share prefixes and suffixes, some contain others) in
  // texts made of them: the one-pass matcher gives what comparing every value at every byte did.
  std::mt19937 rng(7);
  auto word = [&](std::size_t max_len) {
    std::string w(1 + rng() % max_len, 'a');
    for (char& c : w) c = "abc"[rng() % 3];
    return w;
  };
  for (int round = 0; round < 300; ++round) {
    Placeholders p;
    const std::size_t values = 1 + rng() % 12;
    for (std::size_t i = 0; i < values; ++i)
      p.emplace_back("[V_" + std::to_string(i + 1) + "]", word(6));
    std::string text;
    while (text.size() < 200) text += rng() % 2 ? p[rng() % values].second : word(3);
    ASSERT_EQ(unrestore_text(text, p), testing::unrestore_naive(text, p)) << "round " << round;
  }
}

TEST(GuardRestore, LiteralStartsGivesTheLongestAtEachStart) {
  const std::vector<std::string_view> literals = {"he", "she", "hers", "", "he", "\xff\xfe"};
  const auto starts = LiteralStarts(literals).find("ushers \xff\xfe");
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[0].at, 1u);  // "she"
  EXPECT_EQ(starts[0].index, 1u);
  EXPECT_EQ(starts[1].at, 2u);  // "hers", not "he"
  EXPECT_EQ(starts[1].index, 2u);
  EXPECT_EQ(starts[2].at, 7u);  // bytes above 0x7f
  EXPECT_EQ(starts[2].index, 5u);
  EXPECT_TRUE(LiteralStarts({"", ""}).find("abc").empty());
  EXPECT_EQ(LiteralStarts({"x", "x"}).find("x")[0].index, 0u) << "of equal ones the first";
}

TEST(GuardRestore, ManyPlaceholdersRestoredByTable) {
  Placeholders p;
  for (int i = 1; i <= 40; ++i) p.emplace_back("[EMAIL_" + std::to_string(i) + "]", "u" + std::to_string(i) + "@x.io");
  EXPECT_EQ(restore_text("[EMAIL_40] [EMAIL_4] [EMAIL_41] [EMAIL_4 [[EMAIL_1]]", p),
            "u40@x.io u4@x.io [EMAIL_41] [EMAIL_4 [u1@x.io]");
  EXPECT_EQ(unrestore_text(restore_text("[EMAIL_12], [EMAIL_1]", p), p), "[EMAIL_12], [EMAIL_1]");
}

TEST(GuardRedact, PlaceholderShapedTextInTheRequestIsNeverMade) {
  // The user wrote "[EMAIL_1]" themselves: the real address becomes [EMAIL_2], and restoring the
  // answer leaves the user's own text alone (it was swapped for the address before).
  Redaction r;
  auto out = redact_chat_body(
      R"({"model":"m","messages":[{"role":"user","content":"Template: [EMAIL_1] [CARD_2]."},)"
      R"({"role":"user","content":"Mine is a@example.com"}]})",
      ~0ull, r);
  ASSERT_TRUE(out);
  const auto j = nlohmann::json::parse(*out);
  EXPECT_EQ(j["messages"][0]["content"], "Template: [EMAIL_1] [CARD_2].");
  EXPECT_EQ(j["messages"][1]["content"], "Mine is [EMAIL_2]");
  EXPECT_EQ(restore_text("[EMAIL_1] is a template; yours is [EMAIL_2]", r.placeholders),
            "[EMAIL_1] is a template; yours is a@example.com");
}

TEST(GuardFold, LookAlikesFoldToAsciiWithAMapBack) {
  EXPECT_FALSE(fold_for_detection("plain ascii, caf\xc3\xa9 too")) << "nothing to fold";
  // "1\u00a02" (no-break space), "\uff13" (fullwidth 3), "a\u200bb" (zero-width space inside).
  const std::string text = "1\xc2\xa0" "2 \xef\xbc\x93 a\xe2\x80\x8b" "b\xe2\x80\x91" "c";
  const auto f = fold_for_detection(text);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->text, "1 2 3 ab-c");
  EXPECT_EQ(f->origin(1), 1u);   // the space came from the two bytes at 1
  EXPECT_EQ(f->origin(2), 3u);   // '2'
  EXPECT_EQ(f->origin(4), 5u);   // '3' from the three bytes at 5
  EXPECT_EQ(f->origin(7), 13u);  // 'b', after the removed zero-width space at 10..12
  EXPECT_EQ(f->origin(f->text.size()), text.size());
  EXPECT_LE(f->shifts.size(), 6u) << "a point per folded character, not per byte";
}

TEST(GuardFold, ValuesWrittenWithLookAlikesAreRedactedWhole) {
  // Each passed every detector before session 30 (a no-break-spaced card, fullwidth digits, a
  // zero-width space inside an address, an SSN with non-breaking hyphens).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"card 4111\xc2\xa0" "1111\xc2\xa0" "1111\xc2\xa0" "1111 now", "card [CARD_1] now"},
      {"card \xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91 1111 1111 1111.",
       "card [CARD_1]."},
      {"mail john\xe2\x80\x8b.doe@example.com today", "mail [EMAIL_1] today"},
      {"ssn 123\xe2\x80\x91" "45\xe2\x80\x91" "6789", "ssn [SSN_1]"},
  };
  for (const auto& [text, expected] : cases) {
    Redaction r;
    EXPECT_EQ(redact_text(text, ~0ull, r), expected) << text;
    ASSERT_EQ(r.placeholders.size(), 1u) << text;
    // The value kept for restoring is the text as written, look-alikes and all.
    EXPECT_NE(text.find(r.placeholders[0].second), std::string::npos) << text;
  }
}

TEST(GuardFold, WhatTheTextAsWrittenShowsIsStillFound) {
  // Folding joins a value to what follows a removed character, or turns a dash into '-': the
  // detectors' boundary checks then refuse it in the folded text. The text as written is read
  // too (a review of session 30's first version found these let through).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"card 4111111111111111\xe2\x80\x8bx", "card [CARD_1]\xe2\x80\x8bx"},
      {"card x\xe2\x80\x8b" "4111111111111111", "card x\xe2\x80\x8b[CARD_1]"},
      {"My SSN is 123-45-6789\xe2\x80\x94please keep it", "My SSN is [SSN_1]\xe2\x80\x94please keep it"},
      {"ssn 123-45-6789\xe2\x80\x8bz", "ssn [SSN_1]\xe2\x80\x8bz"},
  };
  for (const auto& [text, expected] : cases) {
    Redaction r;
    EXPECT_EQ(redact_text(text, ~0ull, r), expected) << text;
  }
}

}  // namespace
}  // namespace switchboard::guard
