-- wrk script: POSTs one small chat completion to the URL wrk was given.
-- BENCH_MODEL names the model (default "chat"); BENCH_STREAM=1 asks for a stream.

local model = os.getenv("BENCH_MODEL") or "chat"
local stream = os.getenv("BENCH_STREAM") == "1"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"model":"%s","messages":[{"role":"system","content":"You are terse."},'
    .. '{"role":"user","content":"Say hello to the load bench in a few words."}],'
    .. '"max_tokens":32,"stream":%s}',
  model,
  stream and "true" or "false"
)
