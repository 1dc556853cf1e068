"""`llamacl serve` driven by the official `openai` client: completions, chat, streaming, n,
logprobs, stop strings, seeded reproducibility under concurrency, every error case with its
HTTP status and error type, and cleanup after clients that disconnect.

Run by scripts/test.sh (after `swift build --build-tests`); alone:
    python3 -m unittest discover -s Tests/serving -v
"""
import concurrent.futures as futures
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import openai

sys.path.insert(0, os.path.dirname(__file__))
from server_process import ROOT, Server, test_model  # noqa: E402

LOADGEN = os.path.join(ROOT, "experiments", "serving", "loadgen.py")

TMP = tempfile.TemporaryDirectory()
MODEL = None
MAIN = None  # the server most tests share


def setUpModule():
    global MODEL, MAIN
    MODEL = test_model(TMP.name)
    MAIN = Server(MODEL, "--parallel", "8", "--max-queue", "64", "--cache-cells", "2048", "--chat-template", "llama2", "--threads", "1")


def tearDownModule():
    if MAIN:
        MAIN.stop()
    TMP.cleanup()


def client(server=None, **kw):
    kw.setdefault("api_key", "none")
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 60)
    return openai.OpenAI(base_url=(server or MAIN).base + "/v1", **kw)


def raw_post(server, path, body, headers=None):
    """POST bytes as they are (malformed bodies the client library would not send); (status, json)."""
    req = urllib.request.Request(server.base + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Endpoints(unittest.TestCase):
    def setUp(self):
        self.c = client()
        self.model = self.c.models.list().data[0].id

    def test_models_and_health(self):
        models = self.c.models.list().data
        self.assertEqual(len(models), 1)
        self.assertEqual(models[0].id, os.path.splitext(os.path.basename(MODEL))[0])

    def test_completion(self):
        r = self.c.completions.create(model=self.model, prompt="Once upon a time", max_tokens=6, seed=1)
        self.assertEqual(r.object, "text_completion")
        self.assertEqual(len(r.choices), 1)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        self.assertIsInstance(r.choices[0].text, str)
        self.assertGreater(r.usage.prompt_tokens, 1)
        self.assertLessEqual(r.usage.completion_tokens, 6)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens)

    def test_completion_from_token_ids(self):
        r = self.c.completions.create(model=self.model, prompt=[1, 450, 4996], max_tokens=3, temperature=0)
        self.assertEqual(r.usage.prompt_tokens, 3)

    def test_chat(self):
        r = self.c.chat.completions.create(model=self.model, messages=[{"role": "system", "content": "Be brief."},
                                                                      {"role": "user", "content": "Hello"}],
                                           max_completion_tokens=5, seed=2)
        self.assertEqual(r.object, "chat.completion")
        self.assertEqual(r.choices[0].message.role, "assistant")
        self.assertIsInstance(r.choices[0].message.content, str)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        self.assertLessEqual(r.usage.completion_tokens, 5)

    def test_streamed_completion_equals_whole(self):
        args = dict(model=self.model, prompt="The weather today", max_tokens=8, seed=3, temperature=1)
        whole = self.c.completions.create(**args)
        chunks = list(self.c.completions.create(stream=True, stream_options={"include_usage": True}, **args))
        text = "".join(ch.choices[0].text for ch in chunks if ch.choices)
        self.assertEqual(text, whole.choices[0].text)
        finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
        self.assertEqual(finishes, [whole.choices[0].finish_reason])
        self.assertEqual(chunks[-1].choices, [])
        self.assertEqual(chunks[-1].usage.completion_tokens, whole.usage.completion_tokens)

    def test_streamed_chat_equals_whole(self):
        args = dict(model=self.model, messages=[{"role": "user", "content": "Tell me a story"}], max_tokens=8, seed=4)
        whole = self.c.chat.completions.create(**args)
        chunks = list(self.c.chat.completions.create(stream=True, **args))
        self.assertEqual(chunks[0].choices[0].delta.role, "assistant")
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
        self.assertEqual(text, whole.choices[0].message.content)
        self.assertEqual(chunks[-1].choices[0].finish_reason, whole.choices[0].finish_reason)

    def test_stream_ends_with_done(self):
        status, body = raw_post(MAIN, "/v1/completions", json.dumps({"prompt": "x", "max_tokens": 2, "stream": True}).encode())
        self.assertEqual(status, 200)
        events = [e for e in body.split("\n\n") if e]
        self.assertTrue(all(e.startswith("data: ") for e in events))
        self.assertEqual(events[-1], "data: [DONE]")

    def test_n4(self):
        r = self.c.completions.create(model=self.model, prompt="A list:", max_tokens=5, n=4, seed=5)
        self.assertEqual(sorted(ch.index for ch in r.choices), [0, 1, 2, 3])
        self.assertGreater(len({ch.text for ch in r.choices}), 1, "samples draw from their own streams")
        chat = self.c.chat.completions.create(model=self.model, messages=[{"role": "user", "content": "hi"}], max_tokens=4, n=4, seed=5)
        self.assertEqual(len(chat.choices), 4)

    def test_completion_logprobs(self):
        r = self.c.completions.create(model=self.model, prompt="One two three", max_tokens=6, temperature=0, logprobs=3)
        lp = r.choices[0].logprobs
        self.assertEqual(len(lp.tokens), r.usage.completion_tokens)
        self.assertEqual(len(lp.token_logprobs), len(lp.tokens))
        self.assertEqual("".join(lp.tokens).lstrip(), r.choices[0].text.lstrip())
        for chosen, top, offset in zip(lp.token_logprobs, lp.top_logprobs, lp.text_offset):
            self.assertLessEqual(chosen, 0)
            self.assertLessEqual(len(top), 3)
            # Greedy: the chosen token is the likeliest.
            self.assertAlmostEqual(chosen, max(top.values()), places=6)
        self.assertEqual(lp.text_offset[0], 0)

    def test_chat_logprobs(self):
        r = self.c.chat.completions.create(model=self.model, messages=[{"role": "user", "content": "hi"}], max_tokens=4,
                                           logprobs=True, top_logprobs=2, seed=6)
        content = r.choices[0].logprobs.content
        self.assertEqual(len(content), r.usage.completion_tokens)
        for t in content:
            self.assertEqual(len(t.top_logprobs), 2)
            self.assertGreaterEqual(t.top_logprobs[0].logprob, t.top_logprobs[1].logprob)
            self.assertEqual(bytes(t.bytes).decode("utf-8", "replace"), t.token)

    def test_stop_strings(self):
        args = dict(model=self.model, prompt="Counting:", max_tokens=16, temperature=0)
        text = self.c.completions.create(**args).choices[0].text
        self.assertGreater(len(text), 6)
        stop = text[len(text) // 2: len(text) // 2 + 2]
        cut = text[:text.index(stop)]
        r = self.c.completions.create(stop=[stop, "\u0000never"], **args)
        self.assertEqual(r.choices[0].text, cut)
        self.assertEqual(r.choices[0].finish_reason, "stop")
        streamed = "".join(ch.choices[0].text for ch in self.c.completions.create(stream=True, stop=stop, **args) if ch.choices)
        self.assertEqual(streamed, cut)

    def test_seed_reproducible_under_load(self):
        """A seeded request gives the same tokens alone and among 15 concurrent requests."""
        probe = dict(model=self.model, prompt="In a hole in the ground", max_tokens=12, temperature=1.0, seed=1234, logprobs=0)

        def tokens(r):
            return r.choices[0].logprobs.tokens, r.choices[0].logprobs.token_logprobs, r.choices[0].text

        alone = tokens(self.c.completions.create(**probe))
        rng = random.Random(7)

        def other(i):
            return self.c.completions.create(model=self.model, prompt=f"Request {i}: " + "word " * rng.randint(1, 30),
                                             max_tokens=rng.randint(4, 16), temperature=0.9, seed=i, n=rng.choice([1, 2]))

        with futures.ThreadPoolExecutor(16) as pool:
            others = [pool.submit(other, i) for i in range(7)]
            under_load = pool.submit(self.c.completions.create, **probe)
            others += [pool.submit(other, i) for i in range(7, 15)]
            for f in others:
                f.result()
            self.assertEqual(tokens(under_load.result()), alone)
        # Unseeded requests differ from each other.
        texts = {self.c.completions.create(model=self.model, prompt="x", max_tokens=8, temperature=1).choices[0].text for _ in range(3)}
        self.assertGreater(len(texts), 1)


class Errors(unittest.TestCase):
    def setUp(self):
        self.c = client()

    def check(self, error, status, type_="invalid_request_error", param=None):
        self.assertEqual(error.status_code, status)
        body = error.body
        self.assertEqual(set(body), {"message", "type", "param", "code"})
        self.assertEqual(body["type"], type_)
        if param:
            self.assertEqual(body["param"], param)
        return body

    def raw(self, body, path="/v1/completions", server=None, headers=None):
        status, text = raw_post(server or MAIN, path, body, headers)
        err = json.loads(text)["error"]
        self.assertEqual(set(err), {"message", "type", "param", "code"})
        return status, err

    def test_malformed_json(self):
        status, err = self.raw(b'{"prompt": "x",')
        self.assertEqual((status, err["type"], err["code"]), (400, "invalid_request_error", "invalid_json"))

    def test_invalid_utf8(self):
        status, err = self.raw(b'{"prompt": "\xff\xfe"}')
        self.assertEqual((status, err["code"]), (400, "invalid_utf8"))

    def test_wrong_field_types(self):
        for extra, param in [({"max_tokens": "ten"}, "max_tokens"), ({"temperature": "hot"}, "temperature"),
                             ({"stop": 3}, "stop"), ({"n": 1.5}, "n"), ({"stream": "yes"}, "stream")]:
            with self.assertRaises(openai.BadRequestError) as e:
                self.c.completions.create(model="m", prompt="x", extra_body=extra)
            self.assertEqual(self.check(e.exception, 400, param=param)["code"], "invalid_type")
        with self.assertRaises(openai.BadRequestError) as e:
            self.c.chat.completions.create(model="m", messages="hello")
        self.check(e.exception, 400, param="messages")

    def test_out_of_range(self):
        for kw, param in [(dict(n=0), "n"), (dict(n=1000), "n"), (dict(max_tokens=0), "max_tokens"), (dict(temperature=5), "temperature"),
                          (dict(logprobs=50), "logprobs")]:
            with self.assertRaises(openai.BadRequestError) as e:
                self.c.completions.create(model="m", prompt="x", **kw)
            self.check(e.exception, 400, param=param)

    def test_context_limits(self):
        with self.assertRaises(openai.BadRequestError) as e:
            self.c.completions.create(model="m", prompt="x", max_tokens=100_000)
        self.assertEqual(self.check(e.exception, 400, param="max_tokens")["code"], "context_length_exceeded")
        with self.assertRaises(openai.BadRequestError) as e:
            self.c.completions.create(model="m", prompt="hello " * 5000, max_tokens=1)
        self.assertEqual(self.check(e.exception, 400, param="prompt")["code"], "context_length_exceeded")
        with self.assertRaises(openai.BadRequestError) as e:
            self.c.completions.create(model="m", prompt=[1, 10**9], max_tokens=1)
        self.check(e.exception, 400, param="prompt")

    def test_unknown_fields_that_matter(self):
        for extra, param in [({"logit_bias": {"5": 10}}, "logit_bias"), ({"frequency_penalty": 0.5}, "frequency_penalty"),
                             ({"suffix": "tail"}, "suffix"), ({"best_of": 3}, "best_of")]:
            with self.assertRaises(openai.BadRequestError) as e:
                self.c.completions.create(model="m", prompt="x", max_tokens=1, extra_body=extra)
            self.assertEqual(self.check(e.exception, 400, param=param)["code"], "unsupported_parameter")
        with self.assertRaises(openai.BadRequestError) as e:
            self.c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                           tools=[{"type": "function", "function": {"name": "f"}}])
        self.check(e.exception, 400, param="tools")
        # Harmless unknown fields are ignored.
        self.c.completions.create(model="m", prompt="x", max_tokens=1, user="someone", extra_body={"whatever": 1})

    def test_unknown_endpoint(self):
        with self.assertRaises(openai.NotFoundError) as e:
            self.c.embeddings.create(model="m", input="x")
        self.check(e.exception, 404)


class Limits(unittest.TestCase):
    """A second server with an API key, one slot, a 2-request queue and a small body limit."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(MODEL, "--api-key", "secret", "--parallel", "1", "--max-queue", "2", "--max-body-bytes", "4096", "--threads", "1")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_api_key(self):
        for key in ["wrong", "secretx", "secre"]:
            with self.assertRaises(openai.AuthenticationError) as e:
                client(self.server, api_key=key).completions.create(model="m", prompt="x", max_tokens=1)
            self.assertEqual(e.exception.status_code, 401)
            self.assertEqual(e.exception.body["type"], "authentication_error")
        status, text = raw_post(self.server, "/v1/completions", b'{"prompt": "x"}')
        self.assertEqual((status, json.loads(text)["error"]["type"]), (401, "authentication_error"))
        r = client(self.server, api_key="secret").completions.create(model="m", prompt="x", max_tokens=1)
        self.assertEqual(len(r.choices), 1)
        # Every /v1/ endpoint, streamed or not.
        wrong = client(self.server, api_key="wrong")
        for call in [lambda: wrong.models.list(),
                     lambda: wrong.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=1),
                     lambda: wrong.completions.create(model="m", prompt="x", max_tokens=1, stream=True)]:
            with self.assertRaises(openai.AuthenticationError) as e:
                call()
            self.assertEqual((e.exception.status_code, e.exception.body["type"]), (401, "authentication_error"))
        urllib.request.urlopen(self.server.base + "/health", timeout=5).read()  # open without a key

    def test_body_too_large(self):
        status, text = raw_post(self.server, "/v1/completions", json.dumps({"prompt": "x" * 10_000}).encode(),
                                {"Authorization": "Bearer secret"})
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(text)["error"]["code"], "request_too_large")
        status, text = raw_post(self.server, "/v1/chat/completions",
                                json.dumps({"messages": [{"role": "user", "content": "x" * 10_000}]}).encode(), {"Authorization": "Bearer secret"})
        self.assertEqual(status, 413)
        error = json.loads(text)["error"]
        self.assertEqual((error["type"], error["code"]), ("invalid_request_error", "request_too_large"))
        # A body just under the limit is read and answered.
        status, _ = raw_post(self.server, "/v1/completions", json.dumps({"prompt": "x", "max_tokens": 1, "user": "u" * 3500}).encode(),
                             {"Authorization": "Bearer secret"})
        self.assertEqual(status, 200)

    def test_full_queue_is_429(self):
        c = client(self.server, api_key="secret")

        def long_request(i):
            try:
                if i % 2:  # streamed: refused before any event is sent
                    list(c.completions.create(model="m", prompt="x", max_tokens=60, temperature=0, stream=True))
                else:
                    c.completions.create(model="m", prompt="x", max_tokens=60, temperature=0)
                return 200
            except openai.RateLimitError as e:
                self.assertEqual(e.body["type"], "rate_limit_error")
                return e.status_code

        refused_before = self.server.metrics().get('llamacl_http_requests_total{endpoint="/v1/completions",code="429"}', 0)
        with futures.ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(long_request, range(6)))
        self.assertIn(429, codes)
        self.assertIn(200, codes)
        self.assertEqual(set(codes), {200, 429})
        m = self.server.metrics()
        self.assertEqual(m['llamacl_http_requests_total{endpoint="/v1/completions",code="429"}'] - refused_before, codes.count(429))
        # The queue drains: the next request is accepted.
        self.assertEqual(len(c.completions.create(model="m", prompt="x", max_tokens=1).choices), 1)


class SlowClients(unittest.TestCase):
    def test_a_client_that_does_not_read_cannot_hold_the_engine(self):
        """A streamed request whose client never reads still runs to its end (its output waits in
        its own mailbox), its cells are freed, and other requests are served meanwhile."""
        import socket
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", MAIN.port))
        body = json.dumps({"prompt": "slow", "max_tokens": 200, "stream": True, "temperature": 0, "ignore_eos": True,
                           "logprobs": 5}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            r = client().completions.create(model="m", prompt="meanwhile", max_tokens=4, temperature=0)
            self.assertEqual(len(r.choices), 1)
            deadline = time.time() + 30
            while time.time() < deadline:
                m = MAIN.metrics()
                if m["llamacl_kv_cells_in_use"] == 0 and m["llamacl_requests_running"] == 0:
                    break
                time.sleep(0.1)
            else:
                self.fail(f"the unread request still holds the engine: {MAIN.metrics()}")
        finally:
            sock.close()


class Disconnects(unittest.TestCase):
    def load(self, disconnect):
        """16 requests, 8 at a time, half streamed; with `disconnect`, clients give up at random."""
        rng = random.Random(11)

        def one(i):
            c = client(timeout=rng.uniform(0.2, 0.6) if disconnect and i % 2 else 60)
            try:
                if i % 2 == 0:
                    stream = c.completions.create(model="m", prompt=f"stream {i}", max_tokens=32, stream=True, temperature=0)
                    for k, _ in enumerate(stream):
                        if disconnect and k == rng.randint(1, 6):
                            stream.close()  # hang up mid-stream
                            break
                else:
                    c.completions.create(model="m", prompt=f"whole {i}", max_tokens=32, temperature=0)
            except (openai.APITimeoutError, openai.APIConnectionError):
                pass

        with futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(16)))

    def wait_idle(self, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            m = MAIN.metrics()
            if m["llamacl_kv_cells_in_use"] == 0 and m["llamacl_requests_running"] == 0 and m["llamacl_requests_waiting"] == 0:
                return m
            time.sleep(0.1)
        self.fail(f"still busy after {seconds} s: {MAIN.metrics()}")

    def test_disconnects_free_cells_and_memory(self):
        self.tokens_before = self.wait_idle()["llamacl_generated_tokens_total"]
        self.load(disconnect=False)  # warm up: allocations that stay (buffers, caches)
        m0 = self.wait_idle()
        before = MAIN.rss_bytes()
        self.load(disconnect=True)
        m = self.wait_idle()
        self.assertEqual(m["llamacl_kv_cells_in_use"], 0)
        # The same requests, but the given-up ones were cancelled, not run to their end.
        full_run = m0["llamacl_generated_tokens_total"] - self.tokens_before
        cut_run = m["llamacl_generated_tokens_total"] - m0["llamacl_generated_tokens_total"]
        self.assertLess(cut_run, 0.8 * full_run)
        after = MAIN.rss_bytes()
        self.assertLess(after, before * 1.10 + 16 * 2**20, f"RSS {before} → {after} bytes")


class LoadgenCleanupCheck(unittest.TestCase):
    def test_loadgen_with_disconnects_leaves_no_cells_in_use(self):
        """The load generator's cleanup check, small: 12 streamed requests, 4 at a time, half of
        them hanging up mid-stream, after an undisturbed warm-up; afterwards /metrics shows no
        KV cell in use and the server's RSS is back to its level before (loadgen --check)."""
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "cleanup.json")
            tokens_before = MAIN.metrics()["llamacl_generated_tokens_total"]
            done = subprocess.run([sys.executable, LOADGEN, "--url", MAIN.base, "--concurrency", "4", "--requests", "3",
                                   "--prompt-tokens", "24", "--max-tokens", "64", "--vocab", "600", "--timeout", "60",
                                   "--disconnect-fraction", "0.5", "--warmup", "--server-pid", str(MAIN.proc.pid), "--check",
                                   "--out", out], capture_output=True, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            with open(out) as f:
                row = json.load(f)[0]
        self.assertEqual((row["requests"], row["errors"]), (12, 0), row)
        self.assertGreater(row["disconnected"], 0, row)
        self.assertEqual(row["kv_cells_in_use_after"], 0)
        self.assertGreater(row["rss_before_bytes"], 0)
        # The warm-up ran 12 × 64 tokens. The hung-up requests were cancelled, not run to their
        # end: they hang up after at most 8 tokens, so well under half of their 64 were made.
        generated = MAIN.metrics()["llamacl_generated_tokens_total"] - tokens_before - 12 * 64
        full = 12 - row["disconnected"]
        self.assertLess(generated, full * 64 + row["disconnected"] * 32, row)
        print(f"\n  loadgen: {row['disconnected']} of 12 hung up, {generated:.0f} tokens generated for the 12, "
              f"KV cells in use after {row['kv_cells_in_use_after']:.0f}, RSS {row['rss_before_bytes'] >> 20} → {row['rss_after_bytes'] >> 20} MiB",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
