// The http embedding provider's blocking offline call (pipeline/embedding_blocking.h); the
// gateway's async call is tested end to end in tests/integration/embeddings_http.test.mjs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string_view>
#include <vector>

#include "pipeline/embedding_blocking.h"

namespace switchboard::pipeline {
namespace {

using ::testing::HasSubstr;

TEST(HttpEmbedding, EmbedTextsFailsCleanlyWhenUnreachable) {
  signals::ExtractorOptions o;
  o.embedding_provider = "http";
  o.embedding_url = "http://127.0.0.1:1";  // nothing listens on port 1
  o.embedding_model = "bge";
  o.embedding_timeout = std::chrono::milliseconds(2000);
  std::vector<std::string_view> texts{"a", "b"};
  auto r = embed_texts(o, texts);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().code, HasSubstr("upstream_"));
}

TEST(HttpEmbedding, EmbedTextsNeedsTheHttpProvider) {
  signals::ExtractorOptions o;  // provider glove
  std::vector<std::string_view> texts{"a"};
  auto r = embed_texts(o, texts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "bad_config");
}

}  // namespace
}  // namespace switchboard::pipeline
