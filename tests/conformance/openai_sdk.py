"""Drives a running towergate with the real openai SDK.

The gateway at $TOWERGATE_URL fronts the testkit's mock upstream, which
answers "echo: <last user message>" and counts one token per word. Endpoints:
`chat` (llm/v1/chat), `completions` (llm/v1/completions), `embed`
(llm/v1/embeddings), and `cached` (llm/v1/chat, answers cached for 10
minutes). $TOWERGATE_KEY is a valid key.
"""

import os
import unittest

import openai

URL = os.environ["TOWERGATE_URL"]
KEY = os.environ["TOWERGATE_KEY"]


def client(key=KEY):
    return openai.OpenAI(base_url=f"{URL}/v1", api_key=key, max_retries=0, timeout=30)


class OpenAiSdk(unittest.TestCase):
    def test_models_lists_the_endpoints(self):
        ids = {model.id for model in client().models.list()}
        self.assertTrue({"chat", "completions", "embed"} <= ids, ids)

    def test_chat(self):
        answer = client().chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hello there"}]
        )
        self.assertEqual(answer.choices[0].message.content, "echo: hello there")
        self.assertEqual(answer.choices[0].finish_reason, "stop")
        self.assertEqual(answer.usage.prompt_tokens, 2)
        self.assertEqual(answer.usage.completion_tokens, 3)

    def test_chat_stream_with_usage(self):
        stream = client().chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "stream me please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, "echo: stream me please")
        self.assertGreater(len(chunks), 3)
        self.assertIsNotNone(chunks[-1].usage)
        self.assertEqual(chunks[-1].usage.prompt_tokens, 3)

    def test_chat_stream_without_usage(self):
        stream = client().chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "no usage"}], stream=True
        )
        chunks = list(stream)
        self.assertTrue(all(c.usage is None for c in chunks))

    def test_tool_calls(self):
        answer = client().chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "weather in Paris"}],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "parameters": {"type": "object", "properties": {}},
                    },
                }
            ],
        )
        call = answer.choices[0].message.tool_calls[0]
        self.assertEqual(call.function.name, "get_weather")
        self.assertEqual(answer.choices[0].finish_reason, "tool_calls")

    def test_unknown_fields_reach_the_upstream(self):
        answer = client().chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"mock": {"reply": "passed through"}},
        )
        self.assertEqual(answer.choices[0].message.content, "passed through")

    def test_completions(self):
        answer = client().completions.create(model="completions", prompt="say hi")
        self.assertEqual(answer.choices[0].text, "echo: say hi")

    def test_embeddings(self):
        answer = client().embeddings.create(model="embed", input=["first", "second"])
        self.assertEqual(len(answer.data), 2)
        self.assertEqual(len(answer.data[0].embedding), 8)
        self.assertNotEqual(answer.data[0].embedding, answer.data[1].embedding)

    def test_unknown_endpoint_is_not_found(self):
        with self.assertRaises(openai.NotFoundError) as caught:
            client().chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "hi"}]
            )
        self.assertIn("nope", caught.exception.message)

    def test_wrong_key_is_unauthorized(self):
        with self.assertRaises(openai.AuthenticationError):
            client(key="wrong").chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "hi"}]
            )

    def test_upstream_error_keeps_status_and_message(self):
        with self.assertRaises(openai.InternalServerError) as caught:
            client().chat.completions.create(
                model="chat",
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"mock": {"fault": "status:503"}},
            )
        self.assertEqual(caught.exception.status_code, 503)
        self.assertIn("mock upstream fault", caught.exception.message)

    def test_wrong_type_is_bad_request_naming_the_field(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            client().chat.completions.create(
                model="chat",
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"temperature": "hot"},
            )
        self.assertIn("temperature", caught.exception.message)


class CachedAnswers(unittest.TestCase):
    def ask(self, content, **extra):
        return client().chat.completions.with_raw_response.create(
            model="cached", messages=[{"role": "user", "content": content}], **extra
        )

    def test_a_repeated_question_is_answered_from_the_cache(self):
        first = self.ask("cache me")
        second = self.ask("cache me")
        self.assertEqual(first.headers["x-towergate-cache"], "miss")
        self.assertEqual(second.headers["x-towergate-cache"], "hit")
        self.assertEqual(first.parse().model_dump(), second.parse().model_dump())

    def test_a_cached_stream_replays_chunk_for_chunk(self):
        extra = {"stream": True, "stream_options": {"include_usage": True}}
        first = self.ask("stream and cache me", **extra)
        original = [chunk.model_dump() for chunk in first.parse()]
        second = self.ask("stream and cache me", **extra)
        replayed = [chunk.model_dump() for chunk in second.parse()]
        self.assertEqual(first.headers["x-towergate-cache"], "miss")
        self.assertEqual(second.headers["x-towergate-cache"], "hit")
        self.assertEqual(replayed, original)
        self.assertIsNotNone(replayed[-1]["usage"])

    def test_no_cache_from_the_caller_bypasses(self):
        self.ask("fresh please")
        fresh = client().chat.completions.with_raw_response.create(
            model="cached",
            messages=[{"role": "user", "content": "fresh please"}],
            extra_headers={"Cache-Control": "no-cache"},
        )
        self.assertEqual(fresh.headers["x-towergate-cache"], "bypass")


if __name__ == "__main__":
    unittest.main(verbosity=2)
