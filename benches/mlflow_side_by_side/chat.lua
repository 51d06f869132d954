-- wrk script: POSTs one small MLflow chat invocation to the URL wrk was given
-- (`/endpoints/chat/invocations` of either gateway).

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"messages":[{"role":"user","content":"hello"}]}'
