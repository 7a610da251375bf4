// The replay backend's native front ends: POST /v1/responses (an upstream that speaks the OpenAI
// Responses API, a gateway replica with `api: responses`) and POST /v1/messages (the Anthropic
// Messages API, `api: anthropic`). The request is read the way the gateway's own front end for
// that API reads it (api::parse_responses_request / parse_messages_request: the same prompt key
// as the equivalent chat request), the answer is the recorded one, and the API's shapes — the
// whole body, or its event sequence (response.created … response.completed; message_start …
// message_stop) — are made by the api module's translator from the chat answer the backend would
// have given, so they are exactly what a client of the gateway sees. Errors are in the API's
// own shape. Faults: the error rate and the timings (ttft, tokens per second) apply; hang and
// drop are chat-only. Authentication headers are not checked.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/messages.h"
#include "api/responses.h"
#include "replay/replay_server.h"
#include "replay/replay_wire.h"

namespace switchboard::replay {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;

namespace {
awaitable<void> pause(asio::any_io_executor exec, double ms) {
  if (!(ms > 0)) co_return;
  asio::steady_timer timer(exec);
  timer.expires_after(
      std::chrono::microseconds(static_cast<std::int64_t>(std::llround(ms * 1000))));
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

http::Response json_answer(bhttp::status status, std::string body, unsigned version) {
  http::Response r{status, version};
  r.set(bhttp::field::content_type, "application/json");
  r.body() = std::move(body);
  return r;
}
}  // namespace

void ReplayService::keep_received(std::string_view path, std::string_view body) {
  std::string kept(body.substr(0, kKeepBytes));
  std::lock_guard lock(received_mu_);
  if (received_.size() == kKeepReceived) received_.pop_front();
  received_.emplace_back(std::string(path), std::move(kept));
}

std::string ReplayService::received_json() const {
  nlohmann::json list = nlohmann::json::array();
  {
    std::lock_guard lock(received_mu_);
    for (const auto& [path, body] : received_) {
      nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
      list.push_back(
          {{"path", path}, {"body", parsed.is_discarded() ? nlohmann::json(body) : parsed}});
    }
  }
  return nlohmann::json{{"requests", list}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

awaitable<void> ReplayService::responses(http::Exchange& ex) {
  return native(ex, "/v1/responses", &api::parse_responses_request, &api::responses_translator);
}

awaitable<void> ReplayService::messages(http::Exchange& ex) {
  return native(ex, "/v1/messages", &api::parse_messages_request, &api::messages_translator);
}

template <class Request>
awaitable<void> ReplayService::native(
    http::Exchange& ex, std::string_view path, Result<Request> (*parse)(std::string_view),
    std::unique_ptr<api::AnswerTranslator> (*make_translator)(const Request*)) {
  const InFlight in_flight = begin_request();
  const std::int64_t number = in_flight.number;
  const unsigned version = ex.request().version();
  keep_received(path, ex.request().body());
  auto rreq = parse(ex.request().body());
  auto translator = make_translator(rreq ? &*rreq : nullptr);
  auto fail = [&ex, version, &translator](const Error& e) -> awaitable<void> {
    http::Response r = json_answer(static_cast<bhttp::status>(http_status(e.kind)),
                                   translator->error_body(e), version);
    co_await ex.respond(std::move(r));
  };
  if (!rreq) {
    const Error e = rreq.error();
    co_return co_await fail(e);
  }
  auto req = parse_replay_request(rreq->chat_body);
  if (!req) {
    const Error e = req.error();
    co_return co_await fail(e);
  }
  const FaultOptions f = faults_.get();
  if (pick_fault(draw(), f.error_rate, 0, 0) == Fault::kError) {
    const Error e = make_error(ErrorKind::kInternal, "replay_injected_error",
                               "injected failure (replay-backend error rate)");
    co_return co_await fail(e);
  }
  const Recorded rec = recorded(*req, number);
  const Answer& answer = rec.answer;
  const CompletionHead& head = rec.head;
  const auto pieces = split_pieces(answer.text);
  const double gap_ms = f.tokens_per_sec > 0 ? 1000.0 / f.tokens_per_sec : 0;
  auto exec = ex.executor();
  co_await pause(exec, f.ttft_ms);

  if (!rreq->stream) {
    co_await pause(exec, gap_ms * static_cast<double>(pieces.size()));
    auto whole = translator->whole(completion_json(head, answer.text, answer.usage));
    if (!whole) {
      const Error e = whole.error();
      co_return co_await fail(e);
    }
    http::Response r = json_answer(bhttp::status::ok, std::move(*whole), version);
    co_await ex.respond(std::move(r));
    co_return;
  }
  http::ResponseHead stream_head{bhttp::status::ok, version};
  stream_head.set(bhttp::field::content_type, "text/event-stream");
  stream_head.set(bhttp::field::cache_control, "no-cache");
  if (!co_await ex.start_stream(std::move(stream_head))) co_return;
  std::string out = translator->event(role_chunk_json(head));
  if (!out.empty() && !co_await ex.write_chunk(out)) co_return;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) co_await pause(exec, gap_ms);
    out = translator->event(content_chunk_json(head, pieces[i]));
    if (!out.empty() && !co_await ex.write_chunk(out)) co_return;
  }
  out = translator->event(stop_chunk_json(head));
  out += translator->event(usage_chunk_json(head, answer.usage));
  out += translator->event("[DONE]");
  out += translator->finish();
  if (!out.empty() && !co_await ex.write_chunk(out)) co_return;
  co_await ex.finish_stream();
}

}  // namespace switchboard::replay
