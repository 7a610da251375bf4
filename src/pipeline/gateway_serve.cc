// Gateway::serve (pipeline/gateway.h): the entry point the HTTP server calls for every request.
//
// Not a coroutine: it returns front()'s or handle()'s own awaitable. handle() is a coroutine whose
// frame (about 1.8 KB with GCC 12: the temporaries of every branch) would otherwise stay allocated
// under each chat request for as long as it lasts, which for a stream is its whole life
// (bench/streams.sh: 21.8 -> 19.1 KB of gateway RSS per open stream).
#include "pipeline/gateway.h"

namespace switchboard::pipeline {

asio::awaitable<void> Gateway::serve(http::Exchange& ex) {
  const auto& req = ex.request();
  if (req.method() == http::bhttp::verb::post) {
    std::string_view target = req.target();
    if (const FrontEnd* fe = front_for(target.substr(0, target.find('?')))) return front(ex, *fe);
  }
  return handle(ex);
}

}  // namespace switchboard::pipeline
