// The API front ends registered by path (pipeline/front_end.h, pipeline/fronts/): which paths
// exist, what each makes of a good and a malformed body before `parse`.
#include "pipeline/front_end.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchboard::pipeline {
namespace {

std::unique_ptr<FrontEnd> front(const std::string& path) {
  const FrontEndFactory* f = FrontEndRegistry::instance().find(path);
  return f ? (*f)() : nullptr;
}

TEST(FrontEnds, EveryApiIsRegisteredByItsPath) {
  auto names = FrontEndRegistry::instance().names();
  for (const char* path : {"/v1/chat/completions", "/v1/responses", "/v1/messages",
                           "/v1/completions", "/v1/embeddings"})
    EXPECT_NE(std::find(names.begin(), names.end(), path), names.end()) << path;
}

TEST(FrontEnds, ChatAndEmbeddingsPassTheBodyThrough) {
  auto chat = front("/v1/chat/completions");
  FrontRequest r = chat->translate(R"({"model":"m","messages":[]})");
  EXPECT_FALSE(r.body);
  EXPECT_FALSE(r.translator);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(chat->kind(), RequestKind::kChat);
  EXPECT_EQ(chat->upstream_path(), "/v1/chat/completions");
  auto emb = front("/v1/embeddings");
  EXPECT_EQ(emb->kind(), RequestKind::kEmbeddings);
  EXPECT_EQ(emb->upstream_path(), "/v1/embeddings");
  EXPECT_FALSE(emb->translate("{}").body);
}

TEST(FrontEnds, TranslatedApisGiveAChatBodyOrTheirError) {
  for (const char* path : {"/v1/responses", "/v1/messages", "/v1/completions"}) {
    auto fe = front(path);
    ASSERT_TRUE(fe) << path;
    EXPECT_EQ(fe->upstream_path(), "/v1/chat/completions");
    FrontRequest bad = fe->translate("{oops");
    ASSERT_TRUE(bad.error) << path;
    EXPECT_EQ(bad.error->kind, ErrorKind::kBadRequest);
    ASSERT_TRUE(bad.translator) << path;  // errors still go out in the API's shape
  }
  FrontRequest m =
      front("/v1/messages")
          ->translate(
              R"({"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(m.body);
  auto chat = nlohmann::json::parse(*m.body);
  EXPECT_EQ(chat["messages"][0]["content"], "hi");
  EXPECT_EQ(nlohmann::json::parse(
                m.translator->error_body(make_error(ErrorKind::kBadRequest, "x", "y")))["type"],
            "error");
  FrontRequest r = front("/v1/responses")->translate(R"({"model":"auto","input":"hi"})");
  ASSERT_TRUE(r.body);
  EXPECT_EQ(nlohmann::json::parse(*r.body)["messages"][0]["role"], "user");
  FrontRequest c = front("/v1/completions")->translate(R"({"model":"auto","prompt":"hi"})");
  ASSERT_TRUE(c.body);
  EXPECT_EQ(nlohmann::json::parse(*c.body)["messages"][0]["content"], "hi");
}

}  // namespace
}  // namespace switchboard::pipeline
