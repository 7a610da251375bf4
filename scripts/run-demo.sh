#!/usr/bin/env bash
# Starts the demo: one replay backend per model of demo/switchboard.yaml, then the gateway on
# 127.0.0.1:8080 in the foreground. Uses RouterBench's recorded answers when ../shared/data is
# beside the project, else the demo set shipped in demo/data. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWITCHBOARD_BIN:-build/switchboard}
data=demo/data/demo_outcomes.jsonl
if [[ -d ../shared/data/routerbench_zs ]]; then data=../shared/data/routerbench_zs; fi
mkdir -p .demo
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
start_backend() {  # model port input_price output_price
  "$bin" replay-backend --data "$data" --model "$1" --port "$2" --input-price "$3" --output-price "$4" \
    --ttft-ms 150 --tokens-per-sec 80 >".demo/backend-$2.log" 2>&1 &
  pids+=($!)
}
start_backend gpt-4-1106-preview 9101 10.0 30.0
start_backend mistralai/mixtral-8x7b-chat 9102 0.6 0.6
start_backend mistralai/mistral-7b-chat 9103 0.2 0.2
start_embedder() {  # model port: deterministic vectors (docs/apis.md); no recorded answers needed
  "$bin" replay-backend --data demo/data/demo_outcomes.jsonl --model "$1" --port "$2" --embedding-dim 64 >".demo/backend-$2.log" 2>&1 &
  pids+=($!)
}
start_embedder embed-code 9104
start_embedder embed-text 9105
for port in 9101 9102 9103 9104 9105; do
  for _ in $(seq 100); do
    grep -q "listening on" ".demo/backend-$port.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening on" ".demo/backend-$port.log" || { cat ".demo/backend-$port.log"; exit 1; }
done
echo "replay backends ready on data: $data"

# The learned route: a classifier trained on the recorded outcomes in use (RouterBench's train split,
# or the shipped demo set), once per data source; its model directory lives in .demo/.
models=gpt-4-1106-preview,mistralai/mixtral-8x7b-chat,mistralai/mistral-7b-chat
train_data=demo/data/demo_outcomes.jsonl
if [[ $data != "$train_data" ]]; then
  [[ -s .demo/routerbench/train.jsonl ]] || "$bin" import routerbench --in "$data" --out .demo/routerbench
  train_data=.demo/routerbench/train.jsonl
fi
model_dir=.demo/models/classifier
if [[ ! -s $model_dir/manifest.json || $(cat .demo/models/source 2>/dev/null) != "$train_data" ]]; then
  rm -rf "$model_dir"
  "$bin" train --data "$train_data" --policy classifier --out "$model_dir" --models "$models" >/dev/null
  echo "$train_data" >.demo/models/source
fi
{
  cat demo/switchboard.yaml
  echo "  - name: smart         # learned: quality - lambda * cost, per request x-switchboard-objective"
  echo "    policy: {type: classifier, model_dir: $model_dir, models: [${models//,/, }]}  # the chat models it was trained for"
  echo "  - name: adaptive      # learns while serving (POST /v1/feedback): a bandit warm-started from the classifier"
  echo "    policy: {type: bandit, warm_start: $model_dir, models: [${models//,/, }]}"
  echo "  - name: embed         # POST /v1/embeddings: code to the code embedding model, the rest to the text one"
  echo "    policy:"
  echo "      type: rules"
  echo "      rules:"
  echo "        - {name: code, when: {any: [{has_code: true}, {keywords: [python, sql, rust, javascript, function]}]}, model: embed-code}"
  echo "      default: embed-text"
} >.demo/switchboard.yaml
cat <<MSG
Try:
  curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"auto","messages":[{"role":"user","content":"Write a python function to identify non-prime numbers."}]}'
  curl -sN localhost:8080/v1/chat/completions -d '{"model":"best","stream":true,"messages":[{"role":"user","content":"hello"}]}'
  curl -s localhost:8080/v1/route -H 'x-switchboard-objective: cost' \
    -d '{"model":"smart","messages":[{"role":"user","content":"Write a python function to identify non-prime numbers."}]}'
  id=\$(curl -si localhost:8080/v1/chat/completions -d '{"model":"adaptive","messages":[{"role":"user","content":"What is 7*8?"}]}' \\
    | tr -d '\r' | awk 'tolower(\$1)=="x-switchboard-decision:"{print \$2}')
  curl -s localhost:8080/v1/feedback -d "{\"decision_id\":\"\$id\",\"score\":0.2}"   # the route learns from it
  curl -s localhost:8080/v1/chat/completions \\
    -d '{"model":"guarded","messages":[{"role":"user","content":"Mail me at jane@example.com"}]}'
  curl -s localhost:8080/v1/responses -d '{"model":"auto","input":"Write a haiku about routers."}'
  curl -s localhost:8080/v1/messages -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"auto","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}'
  curl -s localhost:8080/v1/completions -d '{"model":"auto","prompt":"Say hi","max_tokens":32}'
  curl -s localhost:8080/v1/embeddings -d '{"model":"embed","input":"def add(a, b): return a + b"}' | head -c 300
  curl -s localhost:9090/metrics                       # metrics and decisions: the admin listener
  curl -s 'localhost:9090/admin/decisions?route=auto&limit=5'
  curl -s -X POST localhost:9090/admin/reload          # or: kill -HUP <gateway pid>

Dashboard (live charts, decision explorer): http://127.0.0.1:9090/dashboard/
MSG
"$bin" serve --config .demo/switchboard.yaml &
pids+=($!)
wait "${pids[-1]}"
