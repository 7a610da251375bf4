#include "data/routerbench_csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "data/csv_reader.h"
#include "data/python_literal.h"

namespace switchboard::data {
namespace {

using Rows = std::vector<std::vector<std::string>>;

Result<Rows> read_csv(const std::string& text) {
  std::istringstream in(text);
  CsvReader reader(in, "t.csv");
  Rows rows;
  std::vector<std::string> row;
  for (;;) {
    auto got = reader.next(row);
    if (!got) return got.error();
    if (!*got) return rows;
    rows.push_back(row);
  }
}

TEST(CsvReader, PlainQuotedAndEmptyFields) {
  auto rows = read_csv("a,b,c\n1,\"x,y\",\n\"\",\"say \"\"hi\"\"\",z");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(*rows, (Rows{{"a", "b", "c"}, {"1", "x,y", ""}, {"", "say \"hi\"", "z"}}));
}

TEST(CsvReader, MultiLineFieldCrlfBomAndBlankLines) {
  std::istringstream in("\xEF\xBB\xBFh1,h2\r\n\r\n\"line1\nline2\r\nline3\",b\r\nlast,\"q\"\r\n");
  CsvReader reader(in, "t.csv");
  std::vector<std::string> row;
  ASSERT_TRUE(*reader.next(row));
  EXPECT_EQ(row, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(reader.record_line(), 1u);
  ASSERT_TRUE(*reader.next(row));
  EXPECT_EQ(row, (std::vector<std::string>{"line1\nline2\r\nline3", "b"}));
  EXPECT_EQ(reader.record_line(), 3u);
  ASSERT_TRUE(*reader.next(row));
  EXPECT_EQ(row, (std::vector<std::string>{"last", "q"}));
  EXPECT_EQ(reader.record_line(), 6u);
  EXPECT_FALSE(*reader.next(row));
}

TEST(CsvReader, ANonBomPrefixIsKept) {
  auto rows = read_csv("\xEF\xBBx,y\n");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, (Rows{{"\xEF\xBBx", "y"}}));
}

TEST(CsvReader, MalformedInputNamesTheLine) {
  auto unterminated = read_csv("a,b\nc,\"open\nstill open");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.error().message.find("quoted field that starts on line 2"),
            std::string::npos)
      << unterminated.error().message;
  auto stray = read_csv("a,b\nc,d\"e\n");
  ASSERT_FALSE(stray.ok());
  EXPECT_NE(stray.error().message.find("t.csv:2: quote inside an unquoted field"),
            std::string::npos);
  auto after = read_csv("\"a\"b,c\n");
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.error().message.find("after a closing quote"), std::string::npos);
}

TEST(PythonLiteral, ListsAndQuotes) {
  auto v = parse_python_string_list(R"( ['a', "it's" ,'say "x"', ] )");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, (std::vector<std::string>{"a", "it's", "say \"x\""}));
  EXPECT_EQ(*parse_python_string_list("[]"), std::vector<std::string>{});
}

TEST(PythonLiteral, Escapes) {
  auto v = parse_python_string_list(
      R"(['a\nb\tc\\d\'e\"f\rg', '\x41\xe9\u00e9\u20ac\U0001F600', '\101\0', '\d\w', '\ud800'])");
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_EQ(v->size(), 5u);
  EXPECT_EQ((*v)[0], "a\nb\tc\\d'e\"f\rg");
  EXPECT_EQ((*v)[1], "A\xC3\xA9\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ((*v)[2], std::string("A\0", 2));
  EXPECT_EQ((*v)[3], "\\d\\w");
  EXPECT_EQ((*v)[4], "\xEF\xBF\xBD");
}

TEST(PythonLiteral, Rejects) {
  for (const char* bad : {"", "'a'", "['a'", "['a' 'b']", "['a',,]", R"(['\x4'])", "['a'] x",
                          "[\"open]", "[b'x']", R"(['\U00110000'])"}) {
    auto v = parse_python_string_list(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.error().code, "bad_python_literal");
    }
  }
}

const char* kSmallTable =
    ",sample_id,prompt,eval_name,m1,m2,m1|model_response,m2|model_response,m1|total_cost,"
    "m2|total_cost,oracle_model_to_route_to\n"
    "0,t.1,\"['What is 2+2?\\nAnswer:']\",math,1.0,0.0,['4'],\"['It\\'s "
    "\"\"5\"\"']\",0.001,2e-05,m1\n"
    "1,t.2,\"['part one', 'part two']\",math,,1.0,['x'],['y'],0.1,0.2,m2\n"
    "2,t.3,['q'],qa,0.0,1.0,,['ok'],0.5,0.25,m2\n";

TEST(RouterBenchCsv, ConvertsRowsAndDropsIncompleteOnes) {
  std::istringstream in(kSmallTable);
  auto out = read_routerbench_csv(in, "small.csv");
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->records.size(), 2u);  // t.2 lacks m1's score
  const auto& r = out->records[0];
  EXPECT_EQ(r.id, "t.1");
  EXPECT_EQ(r.task, "math");
  EXPECT_EQ(r.user_text(), "What is 2+2?\nAnswer:");
  EXPECT_EQ(r.outcomes.at("m1").score, 1.0);
  EXPECT_DOUBLE_EQ(r.outcomes.at("m2").cost, 2e-05);
  EXPECT_EQ(r.outcomes.at("m1").response, "4");
  EXPECT_EQ(r.outcomes.at("m2").response, "It's \"5\"");
  EXPECT_FALSE(out->records[1].outcomes.at("m1").response.has_value());
  EXPECT_EQ(out->models(), (std::vector<std::string>{"m1", "m2"}));
}

TEST(RouterBenchCsv, KeepsIncompleteRowsWhenAsked) {
  std::istringstream in(kSmallTable);
  auto out = read_routerbench_csv(in, "small.csv", {.require_all_models = false});
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->records.size(), 3u);
  const auto& r = out->records[1];
  EXPECT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.user_text(), "part one\npart two");
  EXPECT_EQ(r.outcomes.count("m1"), 0u);
  EXPECT_EQ(r.outcomes.count("m2"), 1u);
}

TEST(RouterBenchCsv, ErrorsNameLineAndColumn) {
  std::string header = ",sample_id,prompt,eval_name,m1,m1|model_response,m1|total_cost\n";
  struct Case {
    std::string row, expected;
  };
  for (const auto& c : std::vector<Case>{
           {"0,a,['p'],qa,2.0,['r'],0.1\n", "bad.csv:2: column m1: score"},
           {"0,a,['p'],qa,1.0,['r'],cheap\n", "bad.csv:2: column m1|total_cost"},
           {"0,a,p,qa,1.0,['r'],0.1\n", "bad.csv:2: column prompt"},
           {"0,a,['p'],qa,1.0,['r\\x'],0.1\n", "bad.csv:2: column m1|model_response"},
           {"0,a,['p'],qa,1.0\n", "bad.csv:2: row has 5 fields, header has 7"},
       }) {
    std::istringstream in(header + c.row);
    auto out = read_routerbench_csv(in, "bad.csv");
    ASSERT_FALSE(out.ok()) << c.row;
    EXPECT_NE(out.error().message.find(c.expected), std::string::npos) << out.error().message;
  }
  std::istringstream no_prompt(",sample_id,eval_name,m1\n");
  EXPECT_FALSE(read_routerbench_csv(no_prompt, "h.csv").ok());
  // A column named twice: which one held the scores was the first's, silently.
  std::istringstream twice(",sample_id,prompt,eval_name,m1,m1\n0,a,['p'],qa,1.0,0.0\n");
  auto dup = read_routerbench_csv(twice, "dup.csv");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("column 'm1' appears twice"), std::string::npos)
      << dup.error().message;
}

// The header's columns are looked up by hash: 150,000 model columns (a 1 MB header line) are
// read at once, not in minutes (no timing asserted: the layout is checked).
TEST(RouterBenchCsv, AWideHeaderIsReadWhole) {
  std::string header = ",sample_id,prompt,eval_name";
  for (int i = 0; i < 150000; ++i) header += ",m" + std::to_string(i);
  std::istringstream in(header + "\n");
  auto out = read_routerbench_csv(in, "wide.csv");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->records.empty());
}

TEST(RouterBenchCsv, MissingDirectoryIsAnError) {
  auto out = load_routerbench_dir("/nonexistent/dir", Split::kAll);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("/nonexistent/dir"), std::string::npos);
}

// Facts about the published test split (see shared/data/SOURCES.md).
TEST(RouterBenchCsv, RealTestSplit) {
  std::string dir = std::string(SB_SHARED_DATA) + "/routerbench_zs";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not present";
  auto out = load_routerbench_dir(dir, Split::kTest);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->records.size(), 945u);
  EXPECT_EQ(out->models().size(), 11u);
  double score = 0, cost = 0;
  for (const auto& r : out->records) {
    ASSERT_EQ(r.outcomes.size(), 11u) << r.id;
    const auto& o = r.outcomes.at("gpt-4-1106-preview");
    score += o.score;
    cost += o.cost;
    EXPECT_TRUE(o.response.has_value()) << r.id;
  }
  EXPECT_NEAR(score / 945, 0.879, 0.001);
  EXPECT_NEAR(cost, 4.73, 0.01);
  auto train = load_routerbench_dir(dir, Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.error().message;
  EXPECT_EQ(train->records.size(), 2205u);
}

}  // namespace
}  // namespace switchboard::data
