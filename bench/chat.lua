-- wrk script for bench/run.sh: every request is the same small OpenAI chat completion request, for the
-- gateway's static route `bench-route` (nginx forwards it unchanged; the upstream ignores the model).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench-route","messages":[{"role":"user","content":' ..
  '"Summarise in one sentence why a router sits in front of several language model endpoints."}]}'
