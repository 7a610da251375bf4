// deliver(): the answer chosen by a plan runner goes to the client (pipeline/executor.h).
#include <algorithm>

#include "api/chat_request.h"
#include "api/chat_response.h"
#include "api/sse.h"
#include "guard/redact.h"
#include "pipeline/client_watch.h"
#include "pipeline/executor.h"
#include "pipeline/request_metrics.h"
#include "pool/health.h"

namespace switchboard::pipeline {

using asio::awaitable;

namespace {
constexpr std::size_t kMaxUpstreamBody = 64 * 1024 * 1024;

// `usage` (the upstream's, when it reported one) also says which prompt tokens the provider read
// from or wrote into its prompt cache (priced apart).
void set_cost(RequestContext& ctx, const UpstreamResponse& upstream,
              const std::optional<api::Usage>& usage) {
  if (auto billed = upstream.billed_usd()) {
    ctx.rec.cost_usd = *billed;
  } else {
    ctx.rec.cost_usd = ctx.model->config->price.cost(
        ctx.rec.prompt_tokens, ctx.rec.completion_tokens, usage ? usage->cached_prompt_tokens : 0,
        usage ? usage->cache_write_prompt_tokens : 0);
  }
}

// The request ended in error `code` after its answer had begun to arrive: the record says so and
// switchboard_request_errors_total counts it, as for every error ended before (stage_runner.cc).
void note_error(RequestContext& ctx, const char* outcome, std::string code, std::string message) {
  auto& rec = ctx.rec;
  rec.outcome = outcome;
  rec.error_code = std::move(code);
  rec.error_message = std::move(message);
  ctx.metrics->errors.with({ctx.route_label, rec.model, rec.error_code, rec.api}).inc();
}

// What of a stream relayed so far its client cannot read: an event that is no JSON object (the
// meter's; relayed raw to a chat client, left out by translations), or a part the client's
// translation could not carry (ResponseWriter::stream_failure(): a tool call's arguments that are
// not an object, for a Messages client). The stream ends there, broken, whatever the client's API
// (it ended as a complete answer without that part).
std::optional<Error> unreadable(const UsageMeter& meter, const ResponseWriter& client) {
  if (const Error* e = client.stream_failure()) return *e;  // what its client was told, first
  // (After an error event of the upstream's, the stream failed already: recorded as that.)
  if (meter.saw_bad_event() && !meter.saw_error())
    return make_error(ErrorKind::kUpstreamError, "upstream_bad_event",
                      "the upstream sent an event that is not a JSON object");
  return std::nullopt;
}

// How long, and for how many bytes, the relay reads on after a stream's last event, for the body's
// end (a connection whose body was read to its end goes back to the pool).
constexpr auto kDrainAfterEnd = std::chrono::milliseconds(250);
constexpr std::size_t kMaxDrainBytes = 256 * 1024;

// Metered in the upstream's API and written to that API's writer (pipeline/native/native_api.h).
awaitable<StageResult> relay_stream(RequestContext& ctx, Attempt& answer) {
  UpstreamResponse& upstream = *answer.call;
  const NativeApi& api = *answer.api;
  const auto& mc = *ctx.model->config;
  auto& rec = ctx.rec;
  rec.status = 200;
  ResponseWriter& client = api.writer(ctx);
  const std::unique_ptr<UsageMeter> meter = api.stream_meter();
  // Fed exactly the bytes written to the client, so that an error event can be written as an event
  // of its own whatever the upstream broke off in (sse_closing_bytes). The stream's end event, or
  // an event that breaks it, is the last the client gets: bytes after it in the same read (a
  // stray event after [DONE], the rest of the answer after an event that is no JSON) are not
  // relayed. After the end event the body's own end is awaited briefly (kDrainAfterEnd,
  // kMaxDrainBytes: the connection is reused when it comes), unrelayed; then the client's stream
  // ends — an upstream that keeps sending after its end does not hold the client. (After an
  // error event, which unreadable() does not count as a break, a bad event stops nothing.)
  api::SseParser sse(
      [m = meter.get(), &sse](std::string_view data) {
        m->on_event(data);
        if (m->saw_done() || (m->saw_bad_event() && !m->saw_error())) sse.stop();
      },
      mc.max_stream_line_bytes, mc.max_stream_event_bytes);
  auto headers = ctx.response_headers();
  bool client_ok = co_await client.start_stream(headers);
  std::optional<Error> broken;
  bool over_bound = false;  // broken by a bound of the gateway's (size, duration), not the replica
  bool bad_answer = false;  // broken by what the replica sent (unreadable())
  // The guard's redacted values go back into the client's stream (guard/redact.h).
  std::optional<guard::StreamRestorer> restorer;
  if (!ctx.restore.empty()) restorer.emplace(ctx.restore, ctx.req.json_output);
  std::string restored;
  const Clock::time_point stream_end = ctx.received_at + mc.max_stream_duration;
  // The client leaving (pipeline/client_watch.h) cancels the read waiting on the upstream: a model
  // that streams nothing for a while (reasoning) stops generating then, not at the next write.
  std::optional<ClientWatch::Listening> watching;
  if (ctx.client_watch) {
    ctx.client_watch->arm();
    watching.emplace(*ctx.client_watch, [&upstream] {
      upstream.cancel();
      return true;
    });
    if (client_left(ctx)) upstream.cancel();
  }
  std::size_t relayed = 0;
  bool ended = false;     // the upstream's body ended
  bool finished = false;  // the client's stream was finished (finish_stream())
  std::optional<Clock::time_point> drain_until;  // set at the stream's last event
  std::size_t drained = 0;
  while (client_ok) {
    Clock::time_point deadline = std::min(Clock::now() + mc.stream_idle_timeout, stream_end);
    if (sse.stopped()) {
      if (!drain_until) drain_until = Clock::now() + kDrainAfterEnd;
      deadline = std::min(deadline, *drain_until);
    }
    auto piece = co_await upstream.read_some(deadline);
    if (!piece && sse.stopped()) break;  // the answer is whole: its body's end is not waited for
    if (!piece) {
      broken = piece.error();
      if (Clock::now() >= stream_end) {
        over_bound = true;
        broken = make_error(ErrorKind::kUpstreamTimeout, "upstream_stream_too_long",
                            "the stream lasted longer than max_stream_ms (" +
                                std::to_string(mc.max_stream_duration.count()) + " ms)");
      }
      break;
    }
    relayed += piece->size();
    if (relayed > mc.max_stream_bytes) {
      over_bound = true;
      broken = make_error(ErrorKind::kUpstreamError, "upstream_stream_too_large",
                          "the stream exceeds max_stream_bytes (" +
                              std::to_string(mc.max_stream_bytes) + " bytes)");
      break;
    }
    if (piece->empty()) {  // the upstream finished its body
      ended = true;
      if (restorer && !sse.stopped()) {
        restored = restorer->finish();
        if (!restored.empty() && sse.feed(restored) && sse.consumed() > 0)
          client_ok = co_await client.write_chunk(std::string_view(restored).substr(0, sse.consumed()));
      }
      break;
    }
    if (sse.stopped()) {  // after the stream's last event: drained, not relayed
      sse.feed(*piece);   // (it takes only the "\n" of a "\r\n" split at the end)
      if (sse.consumed() > 0) client_ok = co_await client.write_chunk(piece->substr(0, sse.consumed()));
      drained += piece->size();
      if (drained > kMaxDrainBytes) break;
      continue;
    }
    std::string_view out = *piece;
    if (restorer) {
      restored = restorer->feed(*piece);
      out = restored;
      if (restorer->pending_bytes() > mc.max_stream_event_bytes) {
        over_bound = true;
        broken = make_error(ErrorKind::kUpstreamError, "upstream_stream_too_large",
                            "an event of the upstream stream exceeds " +
                                std::to_string(mc.max_stream_event_bytes) + " bytes");
        if (!out.empty() && sse.feed(out) && sse.consumed() > 0)
          client_ok = co_await client.write_chunk(out.substr(0, sse.consumed()));
        break;
      }
      if (out.empty()) continue;
    }
    const bool within_bounds = sse.feed(out);
    if (sse.consumed() > 0) client_ok = co_await client.write_chunk(out.substr(0, sse.consumed()));
    if (auto bad = unreadable(*meter, client)) {
      broken = std::move(bad);
      bad_answer = true;
      break;
    }
    if (!within_bounds) {
      over_bound = true;
      broken = make_error(
          ErrorKind::kUpstreamError, "upstream_stream_too_large",
          "a line or event of the upstream stream exceeds " +
              std::to_string(std::min(mc.max_stream_line_bytes, mc.max_stream_event_bytes)) +
              " bytes");
      break;
    }
  }
  // An upstream whose body breaks off after its [DONE] event (the connection closed or went silent
  // before the last chunk, say) gave the whole answer: the client's stream ends normally instead of
  // with an error event after [DONE] (found by bench/soak.sh, killing backends).
  if (broken && meter->saw_done() && !bad_answer) broken.reset();
  if (broken && client_left(ctx)) {  // the watch cancelled the read: nobody to tell
    broken.reset();
    client_ok = false;
  }
  watching.reset();
  // What closes the event the upstream broke off in (before finish(), which ends it in the parser).
  const std::string_view closing = api::sse_closing_bytes(sse);
  sse.finish();
  // A body that ended before the answer did (no final event, no finish) was cut short: never
  // passed off as a complete answer, to any client API.
  if (ended && !meter->complete(ctx.req.choices))
    broken = make_error(ErrorKind::kUpstreamError, "upstream_stream_cut",
                        "the upstream's stream ended before its final event");
  if (broken) {
    Error e =
        make_error(broken->kind, "upstream_stream_broken",
                   "the upstream stream ended abnormally after it had started: " + broken->message);
    note_error(ctx, "stream_broken", e.code, e.message);
    // The replica's fault (a reset, silence, a cut), judged now that the stream ended: its attempt
    // says so and it counts toward its ejection (a replica resetting every stream was never
    // ejected). A bound of the gateway's (max_stream_bytes, _ms, line and event sizes) is not.
    if (answer.record && *answer.record < rec.attempts.size())
      rec.attempts[*answer.record].result = e.code;
    if (!over_bound) count_replica_failure(ctx, answer, e.code);
    // Close whatever event the upstream broke off in, so the error is an event of its own — unless
    // the client's stream ended already: a translation that failed on an event of the read that
    // also brought [DONE] (nothing may follow the end; the record says broken all the same). A
    // bad event the meter read stopped the relay before any [DONE] after it.
    const bool after_end = bad_answer && meter->saw_done();
    if (client_ok && !after_end && !closing.empty()) client_ok = co_await client.write_chunk(closing);
    if (client_ok && !after_end) client_ok = co_await client.stream_error(e);
  } else if (!client_ok) {
    rec.outcome = "client_gone";
  } else {
    client_ok = co_await client.finish_stream();
    finished = true;
    // What only the stream's end showed the client's translation could not carry (a call's
    // arguments closed by the end of a body without [DONE]): its stream ended with its error.
    if (!note_refused_answer(ctx, client, answer)) {
      rec.outcome = "ok";
      // (note_attempt left a stream to be judged here.) An error event instead of the answer (an
      // Anthropic replica's overloaded_error, an engine's error then [DONE]) is the replica's fault.
      if (meter->saw_error()) {
        note_error(ctx, "upstream_error", "upstream_stream_error",
                   "the upstream sent an error event in its stream (passed on to the client)");
        if (answer.record && *answer.record < rec.attempts.size())
          rec.attempts[*answer.record].result = "upstream_stream_error";
        count_replica_failure(ctx, answer, "upstream_stream_error");
      } else {
        pool::record_success(*answer.replica, pool::steady_ms(answer.sent_at));
      }
    }
  }
  if (client_ok && !finished) client_ok = co_await client.finish_stream();
  if (!client_ok && rec.outcome == "ok") rec.outcome = "client_gone";
  const std::optional<api::Usage> reported = meter->reported_usage();
  if (reported) {
    rec.prompt_tokens = reported_tokens(reported->prompt_tokens);
    rec.completion_tokens = reported_tokens(reported->completion_tokens);
    rec.tokens_source = "upstream";
  } else {
    rec.prompt_tokens = ctx.req.estimated_prompt_tokens;
    rec.completion_tokens = meter->content_chunks();
    rec.tokens_source = "counted";
  }
  set_cost(ctx, upstream, reported);
  co_return StageResult::next();
}

// A whole answer (or the upstream's error answer) to the client.
awaitable<StageResult> deliver_whole(RequestContext& ctx, Attempt& answer) {
  auto& rec = ctx.rec;
  const auto& mc = *answer.model->config;
  auto& upstream = *answer.call;
  ResponseWriter& client = answer.api->writer(ctx);
  // A body the attempt read was checked there (model_call.cc): only one read here is.
  const bool read_here = !answer.body;
  if (!answer.body) {
    auto whole = co_await upstream.read_all(kMaxUpstreamBody, answer.sent_at + mc.timeout);
    if (!whole) {
      const char* outcome =
          whole.error().kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error";
      co_return StageResult::fail(whole.error(), outcome);
    }
    answer.body = std::move(*whole);
  }
  std::string& whole = *answer.body;
  std::string problem;
  if (read_here && upstream.status() == 200) {
    api::AnswerCheck check = answer.api->check_answer(ctx, whole);
    problem = std::move(check.problem);
    answer.usage_read = check.usage_read;
    answer.usage = std::move(check.usage);
  }
  if (!problem.empty()) {
    // A streaming request answered whole (its body is read only here; a non-streaming one was
    // checked in the attempt, model_call.cc): the same broken replica, found after the attempt
    // was counted a success.
    if (answer.record) ctx.rec.attempts[*answer.record].result = "upstream_bad_answer";
    count_replica_failure(ctx, answer, "upstream_bad_answer");
    co_return StageResult::fail(
        make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                   answer.replica->config->label + " answered 200 with " + problem),
        "upstream_error");
  }
  if (!ctx.restore.empty() && upstream.status() == 200)
    whole = guard::restore_answer_json(whole, ctx.restore, ctx.req.json_output);
  rec.status = static_cast<int>(upstream.status());
  if (upstream.status() == 200) {
    rec.outcome = "ok";
    const std::optional<api::Usage> usage =
        answer.usage_read ? answer.usage : answer.api->usage(whole);
    if (usage) {
      rec.prompt_tokens = reported_tokens(usage->prompt_tokens);
      rec.completion_tokens = reported_tokens(usage->completion_tokens);
      rec.tokens_source = "upstream";
    } else {
      // No usage: the answer's tokens estimated from its text (else its body), as a multi-call
      // plan prices such a call — counting none let a key's budget and token limit miss them.
      rec.prompt_tokens = ctx.req.estimated_prompt_tokens;
      if (ctx.kind != RequestKind::kChat) {
        rec.completion_tokens = 0;  // embeddings generate none: their vectors are no tokens
      } else {
        const auto parsed = api::parse_completion(whole);
        rec.completion_tokens =  // the first choice's text times n, else the whole body's
            parsed && !parsed->content.empty()
                ? api::estimate_tokens(parsed->content.size()) * ctx.req.choices
                : api::estimate_tokens(whole.size());
      }
      rec.tokens_source = "estimated";
    }
    set_cost(ctx, upstream, usage);
  } else {
    // The upstream's own error is passed through unchanged; the record keeps its status.
    note_error(ctx, upstream.status() >= 500 ? "upstream_error" : "client_error",
               "upstream_status_" + std::to_string(upstream.status()), whole.substr(0, 512));
  }
  // (No temporaries inside co_await expressions: GCC 12 may destroy them twice.)
  std::string_view content_type = upstream.content_type();
  if (content_type.empty()) content_type = "application/json";
  auto headers = ctx.response_headers();
  // The upstream's own wait, with its refusal for load: clients and SDKs back off by it.
  // (529: Anthropic's own overload status, which its SDK retries by the header too.)
  if ((upstream.status() == 429 || upstream.status() == 503 || upstream.status() == 529) &&
      !upstream.retry_after().empty())
    headers.emplace_back("retry-after", upstream.retry_after());
  bool client_ok = false;
  if (answer.restreamed && upstream.status() == 200) {
    // The replica answered a streaming request whole: the client gets the events it asked for
    // (re-chunked in model_call.cc), the guard's placeholders restored as in a relayed stream.
    std::string events = std::move(*answer.restreamed);
    client_ok = co_await send_buffered_stream(ctx, client, headers, std::move(events));
  } else {
    client_ok = co_await client.respond(upstream.status(), content_type, headers, std::move(whole));
  }
  if (!note_refused_answer(ctx, client, answer) && !client_ok) rec.outcome = "client_gone";
  co_return StageResult::next();
}

}  // namespace

awaitable<bool> send_buffered_stream(
    RequestContext& ctx, ResponseWriter& client,
    const std::vector<std::pair<std::string_view, std::string_view>>& headers,
    std::string events) {
  if (!ctx.restore.empty()) {
    guard::StreamRestorer restorer(ctx.restore, ctx.req.json_output);
    events = restorer.feed(events);
    events += restorer.finish();
  }
  bool client_ok = co_await client.start_stream(headers);
  if (client_ok) client_ok = co_await client.write_chunk(events);
  if (client_ok) client_ok = co_await client.finish_stream();
  co_return client_ok;
}

bool note_refused_answer(RequestContext& ctx, const ResponseWriter& client, Attempt& answer) {
  const Error* refused = client.refused_answer();
  const Error* failed = refused ? nullptr : client.stream_failure();
  if (!refused && !failed) return false;
  auto& rec = ctx.rec;
  std::string result;
  if (refused) {  // the replica answered wrongly, as with a body that is not JSON
    rec.status = static_cast<int>(http_status(refused->kind));
    note_error(ctx, "upstream_error", refused->code, refused->message.substr(0, 512));
    result = refused->code;
  } else {  // the client's stream (status 200, sent) ended with the translation's error
    result = "upstream_stream_broken";
    note_error(ctx, "stream_broken", result,
               "the upstream stream ended abnormally after it had started: " + failed->message);
  }
  // Its attempt, by the index noted (a multi-call plan that re-sorts the attempts moves the index
  // with it: plans/multi_call.cc).
  const std::optional<std::size_t> at = answer.record;
  if (at && *at < rec.attempts.size()) rec.attempts[*at].result = result;
  count_replica_failure(ctx, answer, result);
  return true;
}

// Not a coroutine: it hands back relay_stream()'s or deliver_whole()'s awaitable, so that only that
// one's frame stays allocated while the answer goes out (as long as a stream lasts:
// bench/streams.sh).
awaitable<StageResult> deliver(RequestContext& ctx, Attempt& answer,
                               const ModelRuntime* first_choice) {
  auto& rec = ctx.rec;
  ctx.model = answer.model;
  rec.model = answer.model->config->name;
  rec.replica = answer.replica->config->id;
  rec.upstream_ms = answer.head_ms;
  if (answer.model != first_choice) rec.reason += "; fell back to " + rec.model;
  ctx.replica = answer.replica;
  upstream_latency_series(ctx, *answer.model, *answer.replica).observe(rec.upstream_ms / 1000);
  auto& upstream = *answer.call;
  const bool upstream_sse = upstream.content_type().starts_with("text/event-stream");
  if (ctx.req.stream && upstream.status() == 200 && upstream_sse)
    return relay_stream(ctx, answer);
  return deliver_whole(ctx, answer);
}

}  // namespace switchboard::pipeline
