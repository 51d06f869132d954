"""Drives a running gateway with MLflow's own deployments client.

The gateway at $TOWERGATE_URL (towergate, or MLflow's own `mlflow gateway
start` with the same file, which this suite also passes) fronts the testkit's
mock upstream, which answers "echo: <last user message>", counts one token per
word, and names in its answer the model it was asked for. Endpoints:

- `chat` (llm/v1/chat, model gpt-4o-mini, limit 1000 calls per minute)
- `chat-b` (llm/v1/chat, model gpt-4o)
- `chat-limited` (llm/v1/chat, model gpt-4o-mini, limit 1 call per minute,
  used only by the rate-limit test)
- `completions` (llm/v1/completions, model gpt-3.5-turbo-instruct)
- `embed` (llm/v1/embeddings, model text-embedding-3-small)

and the route `chat-split` (llm/v1/chat, TRAFFIC_SPLIT, chat 50 / chat-b 50).

When $TOWERGATE_KEY is set the gateway requires that key, and the client
sends it the way MLflow does: `MLFLOW_TRACKING_TOKEN` becomes
`Authorization: Bearer ...`.
"""

import json
import os
import unittest

# Nothing leaves loopback: MLflow sends usage telemetry unless told not to.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
# MLflow's client retries 429, 500, 502 and 503 (POSTs included) up to seven
# times with exponential backoff, honouring Retry-After. The suite wants each
# answer as the gateway gave it, so it turns the retries off.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ.setdefault("MLFLOW_DEPLOYMENT_PREDICT_TIMEOUT", "30")
os.environ.setdefault("MLFLOW_DEPLOYMENT_CLIENT_HTTP_REQUEST_TIMEOUT", "30")
if os.environ.get("TOWERGATE_KEY"):
    os.environ["MLFLOW_TRACKING_TOKEN"] = os.environ["TOWERGATE_KEY"]

import requests  # noqa: E402  (installed with mlflow)
from mlflow.deployments import BaseDeploymentClient, get_deploy_client  # noqa: E402
from mlflow.gateway.schemas import chat, completions, embeddings  # noqa: E402

URL = os.environ["TOWERGATE_URL"].rstrip("/")
KEY = os.environ.get("TOWERGATE_KEY")
ENDPOINTS = {"chat", "chat-b", "chat-limited", "completions", "embed"}


def client():
    return get_deploy_client(URL)


def auth_headers():
    return {"Authorization": f"Bearer {KEY}"} if KEY else {}


def user(text):
    return {"messages": [{"role": "user", "content": text}]}


def sse_payloads(response):
    """The `data:` payloads of an SSE answer, in order, `[DONE]` included."""
    payloads = []
    for line in response.iter_lines(decode_unicode=True):
        if line and line.startswith("data:"):
            payloads.append(line[len("data:") :].strip())
    return payloads


class MlflowClient(unittest.TestCase):
    def assert_http_error(self, status, call):
        """Runs `call`, which must raise the client's error for `status`; returns the answer."""
        with self.assertRaises(requests.exceptions.HTTPError) as caught:
            call()
        response = caught.exception.response
        self.assertIsNotNone(response, caught.exception)
        self.assertEqual(response.status_code, status, response.text)
        return response

    # --- endpoints ---------------------------------------------------------------

    def test_list_endpoints_names_the_endpoints_and_not_the_routes(self):
        endpoints = client().list_endpoints()
        names = [endpoint.name for endpoint in endpoints]
        self.assertEqual(set(names), ENDPOINTS, names)
        self.assertEqual(len(names), len(set(names)), names)
        types = {endpoint.name: endpoint.endpoint_type for endpoint in endpoints}
        self.assertEqual(types["chat"], "llm/v1/chat")
        self.assertEqual(types["completions"], "llm/v1/completions")
        self.assertEqual(types["embed"], "llm/v1/embeddings")

    def test_get_endpoint_describes_it(self):
        endpoint = client().get_endpoint("chat")
        self.assertEqual(endpoint.name, "chat")
        self.assertEqual(endpoint.endpoint_type, "llm/v1/chat")
        self.assertEqual(endpoint.model.name, "gpt-4o-mini")
        self.assertEqual(endpoint.model.provider, "openai")
        self.assertIsNotNone(endpoint.limit)
        self.assertEqual(endpoint.limit.calls, 1000)
        self.assertEqual(endpoint.limit.renewal_period, "minute")
        self.assertIn(
            endpoint.endpoint_url,
            {f"{URL}/gateway/chat/invocations", f"{URL}/endpoints/chat/invocations"},
        )

    def test_get_endpoint_without_a_limit(self):
        endpoint = client().get_endpoint("chat-b")
        self.assertEqual(endpoint.model.name, "gpt-4o")
        self.assertIsNone(endpoint.limit)

    def test_endpoint_url_answers_invocations(self):
        endpoint = client().get_endpoint("chat")
        answer = requests.post(
            endpoint.endpoint_url, json=user("via the url"), headers=auth_headers(), timeout=30
        )
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertEqual(answer.json()["choices"][0]["message"]["content"], "echo: via the url")

    def test_get_unknown_endpoint_is_not_found(self):
        response = self.assert_http_error(404, lambda: client().get_endpoint("nope"))
        self.assertIn("nope", response.json()["detail"])

    def test_a_route_is_not_an_endpoint(self):
        self.assert_http_error(404, lambda: client().get_endpoint("chat-split"))

    # --- predict -----------------------------------------------------------------

    def test_predict_chat(self):
        answer = client().predict(endpoint="chat", inputs=user("hello there"))
        chat.ResponsePayload.model_validate(answer)
        self.assertEqual(answer["object"], "chat.completion")
        self.assertEqual(answer["model"], "gpt-4o-mini")
        choice = answer["choices"][0]
        self.assertEqual(choice["message"]["role"], "assistant")
        self.assertEqual(choice["message"]["content"], "echo: hello there")
        self.assertEqual(choice["finish_reason"], "stop")
        self.assertEqual(answer["usage"]["prompt_tokens"], 2)
        self.assertEqual(answer["usage"]["completion_tokens"], 3)
        self.assertEqual(answer["usage"]["total_tokens"], 5)

    def test_predict_chat_echoes_the_last_user_message(self):
        inputs = {
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"},
                {"role": "user", "content": "second question"},
            ],
            "temperature": 0.2,
            "max_tokens": 50,
        }
        answer = client().predict(endpoint="chat", inputs=inputs)
        self.assertEqual(answer["choices"][0]["message"]["content"], "echo: second question")

    def test_unknown_fields_reach_the_upstream(self):
        inputs = {**user("hi"), "mock": {"reply": "passed through"}}
        answer = client().predict(endpoint="chat", inputs=inputs)
        self.assertEqual(answer["choices"][0]["message"]["content"], "passed through")

    def test_predict_completions(self):
        answer = client().predict(
            endpoint="completions", inputs={"prompt": "say hi", "max_tokens": 20}
        )
        completions.ResponsePayload.model_validate(answer)
        self.assertEqual(answer["model"], "gpt-3.5-turbo-instruct")
        self.assertEqual(answer["choices"][0]["text"], "echo: say hi")
        self.assertEqual(answer["usage"]["prompt_tokens"], 2)
        self.assertEqual(answer["usage"]["completion_tokens"], 3)

    def test_predict_embeddings(self):
        answer = client().predict(endpoint="embed", inputs={"input": ["first", "second"]})
        embeddings.ResponsePayload.model_validate(answer)
        self.assertEqual(answer["model"], "text-embedding-3-small")
        self.assertEqual([item["index"] for item in answer["data"]], [0, 1])
        self.assertEqual(len(answer["data"][0]["embedding"]), 8)
        self.assertNotEqual(answer["data"][0]["embedding"], answer["data"][1]["embedding"])
        self.assertEqual(answer["usage"]["prompt_tokens"], 2)

    def test_predict_embeddings_of_one_string(self):
        answer = client().predict(endpoint="embed", inputs={"input": "just one"})
        self.assertEqual(len(answer["data"]), 1)
        self.assertEqual(len(answer["data"][0]["embedding"]), 8)

    def test_predict_on_a_traffic_split_reaches_both_destinations(self):
        models = set()
        for i in range(40):
            answer = client().predict(endpoint="chat-split", inputs=user(f"split {i}"))
            self.assertEqual(answer["choices"][0]["message"]["content"], f"echo: split {i}")
            models.add(answer["model"])
        # 40 draws at 50/50 all landing on one side: about 2 in a trillion.
        self.assertEqual(models, {"gpt-4o-mini", "gpt-4o"})

    def test_gateway_path_answers_like_endpoints_path(self):
        for path in ("endpoints", "gateway"):
            for name in ("chat", "chat-split"):
                with self.subTest(path=path, name=name):
                    answer = requests.post(
                        f"{URL}/{path}/{name}/invocations",
                        json=user(f"{path} {name}"),
                        headers=auth_headers(),
                        timeout=30,
                    )
                    self.assertEqual(answer.status_code, 200, answer.text)
                    content = answer.json()["choices"][0]["message"]["content"]
                    self.assertEqual(content, f"echo: {path} {name}")

    # --- errors ------------------------------------------------------------------

    def test_predict_on_an_unknown_endpoint_is_not_found(self):
        self.assert_http_error(404, lambda: client().predict(endpoint="nope", inputs=user("hi")))

    def test_a_wrong_shape_is_unprocessable(self):
        for inputs in ({"messages": "not a list"}, {"prompt": "no messages"}):
            with self.subTest(inputs=inputs):
                response = self.assert_http_error(
                    422, lambda: client().predict(endpoint="chat", inputs=inputs)
                )
                self.assertIn("detail", response.json())

    def test_malformed_json_is_unprocessable(self):
        answer = requests.post(
            f"{URL}/endpoints/chat/invocations",
            data="{not json",
            headers={"Content-Type": "application/json", **auth_headers()},
            timeout=30,
        )
        self.assertEqual(answer.status_code, 422, answer.text)
        self.assertIn("detail", answer.json())

    def test_upstream_error_keeps_status_and_message(self):
        inputs = {**user("hi"), "mock": {"fault": "status:400"}}
        response = self.assert_http_error(
            400, lambda: client().predict(endpoint="chat", inputs=inputs)
        )
        self.assertIn("mock upstream fault", json.dumps(response.json()["detail"]))

    def test_limit_refuses_the_call_past_it(self):
        client().predict(endpoint="chat-limited", inputs=user("the one call"))
        response = self.assert_http_error(
            429, lambda: client().predict(endpoint="chat-limited", inputs=user("one too many"))
        )
        self.assertEqual(response.json(), {"error": "Rate limit exceeded: 1 per 1 minute"})
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:
            self.assertGreater(int(retry_after), 0)

    # --- streaming ---------------------------------------------------------------

    def test_predict_stream_if_the_client_has_it(self):
        deploy = client()
        if type(deploy).predict_stream is BaseDeploymentClient.predict_stream:
            self.skipTest(f"{type(deploy).__name__} has no predict_stream in this MLflow")
        chunks = list(
            deploy.predict_stream(endpoint="chat", inputs={**user("stream me"), "stream": True})
        )
        text = "".join(
            (choice.get("delta") or {}).get("content") or ""
            for chunk in chunks
            for choice in chunk.get("choices", [])
        )
        self.assertEqual(text, "echo: stream me")

    def test_stream_over_http(self):
        inputs = {
            **user("stream me please"),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with requests.post(
            f"{URL}/endpoints/chat/invocations",
            json=inputs,
            headers=auth_headers(),
            stream=True,
            timeout=30,
        ) as answer:
            self.assertEqual(answer.status_code, 200, answer.text)
            self.assertTrue(
                answer.headers["Content-Type"].startswith("text/event-stream"),
                answer.headers["Content-Type"],
            )
            payloads = sse_payloads(answer)
        chunks = [json.loads(p) for p in payloads if p != "[DONE]"]
        self.assertNotIn("[DONE]", payloads[:-1], "nothing may follow [DONE]")
        for chunk in chunks:
            chat.StreamResponsePayload.model_validate(chunk)
        text = "".join(
            choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
        )
        self.assertEqual(text, "echo: stream me please")
        finishes = [c["finish_reason"] for chunk in chunks for c in chunk["choices"]]
        self.assertIn("stop", finishes)
        self.assertEqual(chunks[-1]["usage"]["prompt_tokens"], 3)

    def test_stream_on_a_traffic_split(self):
        with requests.post(
            f"{URL}/endpoints/chat-split/invocations",
            json={**user("split stream"), "stream": True},
            headers=auth_headers(),
            stream=True,
            timeout=30,
        ) as answer:
            self.assertEqual(answer.status_code, 200, answer.text)
            payloads = sse_payloads(answer)
        chunks = [json.loads(p) for p in payloads if p != "[DONE]"]
        text = "".join(
            choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
        )
        self.assertEqual(text, "echo: split stream")
        self.assertIn(chunks[0]["model"], {"gpt-4o-mini", "gpt-4o"})


@unittest.skipUnless(KEY, "the gateway has no auth ($TOWERGATE_KEY unset)")
class MlflowClientAuth(unittest.TestCase):
    """The gateway's key, sent by the client from `MLFLOW_TRACKING_TOKEN`."""

    def setUp(self):
        self.saved = os.environ.get("MLFLOW_TRACKING_TOKEN")

    def tearDown(self):
        if self.saved is None:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        else:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.saved

    def test_the_tracking_token_is_the_key(self):
        os.environ["MLFLOW_TRACKING_TOKEN"] = KEY
        self.assertIn("chat", {e.name for e in client().list_endpoints()})
        answer = client().predict(endpoint="chat", inputs=user("with a key"))
        self.assertEqual(answer["choices"][0]["message"]["content"], "echo: with a key")

    def test_no_token_is_unauthorized(self):
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        for call in (
            lambda: client().list_endpoints(),
            lambda: client().get_endpoint("chat"),
            lambda: client().predict(endpoint="chat", inputs=user("no key")),
        ):
            with self.assertRaises(requests.exceptions.HTTPError) as caught:
                call()
            self.assertEqual(caught.exception.response.status_code, 401)

    def test_a_wrong_token_is_unauthorized(self):
        os.environ["MLFLOW_TRACKING_TOKEN"] = "wrong"
        with self.assertRaises(requests.exceptions.HTTPError) as caught:
            client().predict(endpoint="chat", inputs=user("wrong key"))
        self.assertEqual(caught.exception.response.status_code, 401)

    def test_health_needs_no_token(self):
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        answer = requests.get(f"{URL}/health", timeout=30)
        self.assertEqual(answer.status_code, 200, answer.text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
