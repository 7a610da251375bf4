// Recorded outcomes: for each prompt, how each model did on it (score, cost, optionally latency and
// the answer it gave). This is the data that offline evaluation, policy training and the replay
// backend share.
//
// On disk the format is JSON Lines, version 1, one prompt per line:
//
//   {"id": "q1", "prompt": "text" | "messages": [{"role": "user", "content": "text"}, ...],
//    "task": "optional label",
//    "outcomes": {"<model>": {"score": 0.0-1.0, "cost": <USD >= 0>,
//                             "latency_ms": <optional, >= 0>, "response": "<optional>"}}}
//
// Unknown keys are ignored at every level. "prompt" is shorthand for one user message; when both
// "prompt" and "messages" are present, "messages" wins. Blank lines are skipped.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::data {

struct Message {
  std::string role;  // "user", "system", "assistant"
  std::string content;
  bool operator==(const Message&) const = default;
};

struct ModelOutcome {
  double score = 0;  // in [0, 1]
  double cost = 0;   // US dollars for this call, >= 0
  std::optional<double> latency_ms;
  std::optional<std::string> response;
  bool operator==(const ModelOutcome&) const = default;
};

struct PromptRecord {
  std::string id;
  std::vector<Message> messages;
  std::string task;                              // empty when unlabelled
  std::map<std::string, ModelOutcome> outcomes;  // by model name

  // The contents of the user messages joined by "\n": the key under which a request's prompt is
  // looked up (see replay/). System and assistant messages are not part of it.
  std::string user_text() const;
  // Every message, its role included (append_conversation_part): tells apart records whose user
  // text is the same and whose system or assistant messages differ.
  std::string conversation_key() const;
  bool operator==(const PromptRecord&) const = default;
};

// Appends one message to a conversation key: its role, U+001F, its text, U+001E.
void append_conversation_part(std::string& key, std::string_view role, std::string_view text);

struct Outcomes {
  std::vector<PromptRecord> records;  // in file order

  // Every model that has an outcome on at least one record, sorted.
  std::vector<std::string> models() const;
};

// Reads a JSONL outcomes file line by line. Errors (kind kBadRequest, code "bad_outcomes"): the
// file cannot be opened; a line is not a JSON object; a field is missing, ill-typed or out of
// range; an id repeats. The message names the file, the 1-based line number and the field, e.g.
// "data.jsonl:7: outcomes.gpt-4.score must be a number in [0, 1]".
Result<Outcomes> read_outcomes_jsonl(const std::string& path);

// Parses one line (without its newline). `where` prefixes error messages ("file:line").
Result<PromptRecord> parse_outcome_line(std::string_view line, const std::string& where);

// One record as a single JSON line (no newline). A record whose only message is a user message is
// written with "prompt", any other with "messages"; an empty task is omitted. Invalid UTF-8 in
// strings is replaced by U+FFFD.
std::string to_jsonl_line(const PromptRecord& record);

// Writes all records, one per line, replacing the file. Returns the number of records written, or
// an error (kind kInternal, code "write_failed") naming the path when it cannot be written.
Result<std::size_t> write_outcomes_jsonl(const Outcomes& outcomes, const std::string& path);

}  // namespace switchboard::data
