// The http embedding provider's request, response parsing and normalisation, truncation and
// endpoint settings (signals/http_embedding.h); the calls (pipeline/embedding_step.h,
// pipeline/embedding_blocking.h) are tested in pipeline_embedding_test.cc and
// tests/integration/embeddings_http.test.mjs.
#include "signals/http_embedding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace switchboard::signals {
namespace {

using ::testing::HasSubstr;

TEST(HttpEmbedding, ParsesAndNormalises) {
  auto r = parse_embeddings_response(R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[3,4.0,0]}],"model":"m"})", 1);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& v = (*r)[0];
  ASSERT_EQ(v.size(), 3u);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  EXPECT_FLOAT_EQ(v[2], 0.0f);
}

TEST(HttpEmbedding, ValuesPastFloatRangeStillGiveAFiniteUnitVector) {
  // 1e39 is past float's range and 1e300 squared overflows a double: both were inf or NaN after
  // normalising, and a NaN predicted quality won every comparison in the policies.
  for (const char* big : {"1e39", "1e300", "-1e308"}) {
    auto r = parse_embeddings_response(std::string(R"({"data":[{"index":0,"embedding":[)") + big +
                                           R"(,1,2]}]})",
                                       1);
    ASSERT_TRUE(r.ok()) << big << ": " << r.error().message;
    double norm2 = 0;
    for (float f : (*r)[0]) {
      EXPECT_TRUE(std::isfinite(f)) << big;
      norm2 += double(f) * f;
    }
    EXPECT_NEAR(norm2, 1.0, 1e-6) << big;
    EXPECT_NEAR(std::abs((*r)[0][0]), 1.0f, 1e-6) << big;
  }
}

TEST(HttpEmbedding, BatchIsOrderedByIndex) {
  auto r = parse_embeddings_response(
      R"({"data":[{"index":1,"embedding":[0,2]},{"index":0,"embedding":[-5,0]}]})", 2);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FLOAT_EQ((*r)[0][0], -1.0f);
  EXPECT_FLOAT_EQ((*r)[1][1], 1.0f);
  double n = 0;
  for (float f : (*r)[1]) n += f * f;
  EXPECT_NEAR(n, 1.0, 1e-6);
}

TEST(HttpEmbedding, BadAnswersAreErrors) {
  auto err = [](std::string_view body, std::size_t n = 1) {
    auto r = parse_embeddings_response(body, n);
    EXPECT_FALSE(r) << body;
    return r ? std::string() : r.error().code + ": " + r.error().message;
  };
  EXPECT_THAT(err("not json"), HasSubstr("embedding_bad_response: embedding endpoint: the answer is not JSON"));
  EXPECT_THAT(err(R"({"error":{"message":"x"}})"), HasSubstr("no `data` array"));
  EXPECT_THAT(err(R"({"data":[]})"), HasSubstr("expected 1 embedding(s), got 0"));
  EXPECT_THAT(err(R"({"data":[{"embedding":[]}]})"), HasSubstr("is empty"));
  EXPECT_THAT(err(R"({"data":[{"embedding":[0,0]}]})"), HasSubstr("all zeros"));
  EXPECT_THAT(err(R"({"data":[{"embedding":"AAAA"}]})"), HasSubstr("not an array"));
  EXPECT_THAT(err(R"({"data":[{"embedding":[1,"x"]}]})"), HasSubstr("non-number"));
  EXPECT_THAT(err(R"({"data":[{"embedding":[1,2]},{"embedding":[1]}]})", 2), HasSubstr("different lengths"));
  EXPECT_THAT(err(R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]})", 2), HasSubstr("twice"));
  EXPECT_THAT(err(R"({"data":[{"index":3,"embedding":[1]}]})"), HasSubstr("out of range"));
}

TEST(HttpEmbedding, RequestBody) {
  std::vector<std::string> one{"hello"};
  auto j = nlohmann::json::parse(embeddings_request_body("bge", one));
  EXPECT_EQ(j["model"], "bge");
  EXPECT_EQ(j["input"], "hello");
  std::vector<std::string> two{"a", "b"};
  j = nlohmann::json::parse(embeddings_request_body("bge", two));
  EXPECT_EQ(j["input"], nlohmann::json::array({"a", "b"}));
}

TEST(HttpEmbedding, HugeInputsKeepHeadAndTail) {
  EXPECT_EQ(embedding_input("short"), "short");
  std::string text(kEmbeddingHeadBytes, 'h');
  text += std::string(100'000, 'm');
  text += std::string(kEmbeddingTailBytes, 't');
  std::string in = embedding_input(text);
  EXPECT_EQ(in.size(), kEmbeddingHeadBytes + 1 + kEmbeddingTailBytes);
  EXPECT_EQ(in.substr(0, kEmbeddingHeadBytes), std::string(kEmbeddingHeadBytes, 'h'));
  EXPECT_EQ(in[kEmbeddingHeadBytes], '\n');
  EXPECT_EQ(in.substr(kEmbeddingHeadBytes + 1), std::string(kEmbeddingTailBytes, 't'));
  // Never splits a UTF-8 character: "é" is 2 bytes, so the cut points fall inside some of them.
  std::string accents;
  while (accents.size() < 3 * (kEmbeddingHeadBytes + kEmbeddingTailBytes)) accents += "a\xC3\xA9";
  std::string cut = embedding_input(accents);
  EXPECT_LE(cut.size(), kEmbeddingHeadBytes + 1 + kEmbeddingTailBytes);
  for (std::size_t i = 0; i + 1 < cut.size(); ++i) {
    if (static_cast<unsigned char>(cut[i]) == 0xC3) {
      EXPECT_EQ(static_cast<unsigned char>(cut[i + 1]), 0xA9);
    }
  }
  EXPECT_NE(static_cast<unsigned char>(cut.back()), 0xC3);
  EXPECT_NE(static_cast<unsigned char>(cut[cut.find('\n') + 1]), 0xA9);
}

TEST(HttpEmbedding, Endpoint) {
  ExtractorOptions o;
  o.embedding_provider = "http";
  o.embedding_url = "http://127.0.0.1:9000";
  o.embedding_model = "bge";
  auto ep = make_http_endpoint(o);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->target, "/v1/embeddings");
  EXPECT_EQ(ep->authorization, "");
  o.embedding_url = "https://api.example.com/v1";
  ep = make_http_endpoint(o);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->target, "/v1/embeddings");
  EXPECT_TRUE(ep->url.tls);
  o.embedding_api_key_env = "SB_TEST_EMBEDDING_KEY_UNSET";
  ::unsetenv("SB_TEST_EMBEDDING_KEY_UNSET");
  ep = make_http_endpoint(o);
  ASSERT_FALSE(ep);
  EXPECT_THAT(ep.error().message, HasSubstr("SB_TEST_EMBEDDING_KEY_UNSET is not set"));
  ::setenv("SB_TEST_EMBEDDING_KEY_UNSET", "k1", 1);
  ep = make_http_endpoint(o);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->authorization, "Bearer k1");
  ::unsetenv("SB_TEST_EMBEDDING_KEY_UNSET");
}

}  // namespace
}  // namespace switchboard::signals
