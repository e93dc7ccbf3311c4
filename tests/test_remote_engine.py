"""Models on inference servers (home_llm_core/remote_engine.py).

Real parts: llama-cpp-python's own OpenAI-compatible server (python -m llama_cpp.server) runs the
bundled model with its LoRA adapter in a subprocess; the engine and a real Home Assistant with
real demo devices talk to it over HTTP. Servers that cannot run here (llama.cpp's llama-server,
Ollama) are stood in for by in-process aiohttp servers answering with bodies from their
documentation (tests/remote_fixtures/*.json, each with its source); the same kind of scripted
server sends hostile completions to show that nothing unsafe runs, as with a local model.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from homeassistant import config_entries
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, CoreState, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from llama_cpp import Llama
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry

from custom_components.home_llm.const import (
    BUNDLED_AGENT_OPTIONS,
    CONF_API,
    CONF_API_KEY,
    CONF_CHAT_TEMPLATE,
    CONF_CONTEXT_LENGTH,
    CONF_GRAMMAR_FIELD,
    CONF_MAX_TOKENS,
    CONF_MODEL,
    CONF_MODEL_SOURCE,
    CONF_TEMPERATURE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DEFAULT_AGENT_OPTIONS,
    DOMAIN,
    SOURCE_REMOTE,
)
from home_llm_core.defaults import BUNDLED_ADAPTER, bundled_model_path
from home_llm_core.home_format.chat_templates import stop_strings
from home_llm_core.remote_engine import (
    API_OLLAMA,
    API_OPENAI,
    GRAMMAR_FIELD_LLAMA_CPP,
    GRAMMAR_FIELD_NONE,
    GRAMMAR_FIELD_VLLM,
    AuthRefusedError,
    ModelNotServedError,
    RemoteEngine,
    ServerFailedError,
    ServerTimeoutError,
    ServerUnreachableError,
    split_server_url,
    url_for_display,
)
from home_llm_core.worker_client import GenerationError, WorkerError, WorkerUnavailableError

from .conftest import AGENT_ID, MODEL_SUBENTRY_ID
from .test_conversation import call, reply, snapshot, translated_exception

# Every test here talks HTTP on the loopback interface.
pytestmark = pytest.mark.usefixtures("socket_enabled")

FIXTURES = Path(__file__).parent / "remote_fixtures"
MODEL_ALIAS = "home-llm-135m"
API_KEY = "test-key-123"
YES_NO = 'root ::= "yes" | "no"'
# A small exposed home keeps the prompt (and the real model's test) short, as in test_real_model.py.
EXPOSED = {"light.bed_light", "cover.garage_door"}


def recorded(name: str) -> dict[str, Any]:
    """The documented response body of a fixture file (its "source" says where it is from)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())["response"]


# --- llama-cpp-python's server, as a subprocess -------------------------------------------------


def _spawn_llama_server(log: Path, api_key: str | None) -> tuple[subprocess.Popen[bytes], str]:
    """Start llama-cpp-python's server on the bundled model and adapter; its process and URL.

    One thread and a 2048-token context keep it light; port 0 lets it pick a free port, which
    uvicorn then prints, so nothing races for a port.
    """
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(bundled_model_path()), "--lora_path", str(BUNDLED_ADAPTER), "--model_alias", MODEL_ALIAS,
        "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1",
        "--host", "127.0.0.1", "--port", "0",
    ]  # fmt: skip
    if api_key:
        command += ["--api_key", api_key]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if match := re.search(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_bytes()):
            return proc, f"http://127.0.0.1:{match[1].decode()}"
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"llama_cpp.server did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _wait_for_models(url: str, api_key: str | None) -> None:
    """Until GET /v1/models answers (the server is up with its model loaded)."""
    request = urllib.request.Request(f"{url}/v1/models", headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def llama_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server, with an API key, for the module's tests (loading takes a few seconds)."""
    proc, url = _spawn_llama_server(tmp_path_factory.mktemp("llama_server") / "server.log", API_KEY)
    try:
        yield url
    finally:
        _stop(proc)


@pytest.fixture
def llama_server(llama_process: str, socket_enabled: None) -> str:
    _wait_for_models(llama_process, API_KEY)
    return llama_process


@pytest.fixture
async def engines() -> AsyncIterator[Callable[..., RemoteEngine]]:
    """Makes engines with their own HTTP session; all are stopped (sessions closed) at the end."""
    made: list[RemoteEngine] = []

    def make(url: str, model: str = MODEL_ALIAS, **kwargs: Any) -> RemoteEngine:
        made.append(engine := RemoteEngine(url, model, **kwargs))
        return engine

    yield make
    for engine in made:
        await engine.stop()


def _chatml(user: str) -> str:
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


async def test_grammar_reaches_the_server_in_the_field_it_reads(llama_server: str, engines) -> None:
    engine = engines(llama_server, api_key=API_KEY, grammar_field=GRAMMAR_FIELD_LLAMA_CPP)
    await engine.start()
    prompt = _chatml("Write a short poem about the sea.")

    constrained = await engine.generate(prompt, grammar=YES_NO, max_tokens=8, temperature=0.0)
    free = await engine.generate(prompt, max_tokens=8, temperature=0.0)
    # llama-cpp-python's server has no guided_grammar (vLLM's field): the same grammar there is ignored.
    vllm_field = engines(llama_server, api_key=API_KEY, grammar_field=GRAMMAR_FIELD_VLLM)
    ignored = await vllm_field.generate(prompt, grammar=YES_NO, max_tokens=8, temperature=0.0)

    assert constrained.text in ("yes", "no")
    assert free.text.strip() not in ("yes", "no") and ignored.text.strip() not in ("yes", "no")
    assert constrained.stats["finish_reason"] == "stop"
    assert constrained.stats["prompt_tokens"] > 0 and constrained.stats["completion_tokens"] >= 1
    assert constrained.stats["total_seconds"] > 0
    assert engine.failures == 0 and engine.running


async def test_token_count_is_the_local_tokenizers(llama_server: str, engines) -> None:
    engine = engines(llama_server, api_key=API_KEY, n_ctx=1536)
    await engine.start()
    text = _chatml("Set the Wohnzimmer to 22 °C, then turn on light.bed_light, please!")

    local = Llama(model_path=str(bundled_model_path()), vocab_only=True, verbose=False)
    expected = len(local.tokenize(text.encode("utf-8"), add_bos=True, special=True))  # as worker.py counts

    assert await engine.count_tokens(text) == expected
    assert expected != len(text.encode("utf-8")) + 1  # not the byte-length fallback
    assert engine.metadata["tokenizer"] == "/extras/tokenize"
    # llama-cpp-python's server reports no context (no /props): the configured one holds.
    assert engine.context_length == 1536


async def test_a_model_the_server_does_not_serve_fails_start_clearly(llama_server: str, engines) -> None:
    engine = engines(llama_server, "home-llm-3b", api_key=API_KEY)
    with pytest.raises(ModelNotServedError) as caught:
        await engine.start()
    assert str(caught.value) == f"{llama_server} does not serve the model 'home-llm-3b' (it serves {MODEL_ALIAS})"
    assert isinstance(caught.value, WorkerError)


@pytest.mark.parametrize(("api_key", "expected"), [("wrong", "the server refused the API key"), (None, "requires an API key")])
async def test_a_refused_api_key_is_a_clear_error(llama_server: str, engines, api_key: str | None, expected: str) -> None:
    engine = engines(llama_server, api_key=api_key)
    with pytest.raises(AuthRefusedError, match=expected):
        await engine.start()
    with pytest.raises(AuthRefusedError, match=expected):
        await engine.generate(_chatml("hi"))
    assert engine.failures == 1 and "HTTP 401" in engine.last_error


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_wrong_port_is_a_counted_connection_error(engines) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    engine = engines(url, api_key=API_KEY)
    with pytest.raises(ServerUnreachableError, match=f"cannot connect to {url}"):
        await engine.start()
    assert engine.failures == 0  # start() is set-up's check; requests are what count
    for attempt in (1, 2):
        with pytest.raises(WorkerError, match=f"cannot connect to {url}") as caught:
            await engine.generate(_chatml("hi"))
        assert isinstance(caught.value, ServerUnreachableError)
        assert engine.failures == attempt and not engine.running
        assert engine.last_error.startswith("ServerUnreachableError: cannot connect to")


# --- Scripted servers (in process) ---------------------------------------------------------------

HANG = object()  # an answer that never comes (until the server stops)
CLOSE = object()  # the connection closes without an answer
Answer = tuple[int, Any] | object | Callable[[Any], tuple[int, Any]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """An HTTP server in the test's event loop that answers each path as scripted and records
    every request. An answer is (status, JSON body or text), a function of the request body
    giving one, or HANG; the last answer of a path repeats."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        self.url = ""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def on(self, path: str, *answers: Answer) -> None:
        self.answers[path] = list(answers)

    def bodies(self, path: str) -> list[Any]:
        return [s.body for s in self.seen if s.path == path]

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.seen.append(Seen(request.method, request.path, dict(request.headers), body))
        queue = self.answers.get(request.path)
        if not queue:
            return web.json_response({"detail": "Not Found"}, status=404)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if answer is HANG:
            await self._release.wait()
            return web.Response(status=504)
        if answer is CLOSE:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never sent
        if callable(answer):
            answer = answer(body)
        status, payload = answer  # type: ignore[misc]
        if isinstance(payload, str):
            return web.Response(status=status, text=payload)
        return web.json_response(payload, status=status)


@pytest.fixture
async def scripted(socket_enabled: None) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer()
    await server.start()
    yield server
    await server.stop()


def completion(text: str, finish_reason: str = "stop", **extra: Any) -> tuple[int, dict[str, Any]]:
    """A /v1/completions answer, shaped as llama-cpp-python's server answers (seen from the real one above)."""
    return 200, {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        **extra,
    }


def openai_server(server: ScriptedServer, *outputs: Answer, models: tuple[str, ...] = ("scripted",)) -> None:
    """A llama-cpp-python-like server: its model list, token counts of about three bytes a token
    (as ScriptedWorker counts), and the given completions."""
    server.on("/v1/models", (200, {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}))
    server.on("/extras/tokenize", lambda body: (200, {"tokens": [0] * (len(body["input"].encode()) // 3 + 1)}))
    server.on("/v1/completions", *outputs)


def test_server_urls_lose_credentials_and_api_suffixes() -> None:
    root, auth = split_server_url(" http://user:s3cret@gpu.local:8080/v1/?key=abc ")
    assert str(root) == "http://gpu.local:8080/" and auth is not None and (auth.login, auth.password) == ("user", "s3cret")
    root, auth = split_server_url("https://ollama.example/proxy/api", API_OLLAMA)
    assert str(root) == "https://ollama.example/proxy" and auth is None
    assert url_for_display("http://user:s3cret@gpu.local:8080/?key=abc") == "http://gpu.local:8080"
    for bad in ("localhost:8080", "ftp://gpu.local", "http://", ""):
        with pytest.raises(ValueError, match="not an http"):
            split_server_url(bad)
    with pytest.raises(ValueError, match="not both"):
        RemoteEngine("http://user:pw@gpu.local", "m", api_key="k")


async def test_llama_server_context_and_tokenizer(scripted: ScriptedServer, engines) -> None:
    """llama.cpp's llama-server (documented bodies): its context comes from /props, tokens are
    counted by /tokenize, the grammar goes in `grammar`, and timings become stats."""
    props, tokenized = recorded("llama_server_props"), recorded("llama_server_tokenize")
    scripted.on(
        "/v1/models", (200, {"object": "list", "data": [{"id": "qwen2.5-3b", "object": "model", "owned_by": "llamacpp"}]})
    )
    scripted.on("/props", (200, props))
    scripted.on("/tokenize", (200, tokenized))
    scripted.on("/v1/completions", completion("hello", timings={"prompt_ms": 250.0, "predicted_ms": 800.0}))
    engine = engines(scripted.url + "/v1", "qwen2.5-3b", n_ctx=4096)  # the /v1 people paste is dropped

    await engine.start()
    assert engine.context_length == props["default_generation_settings"]["n_ctx"] == 1024
    assert await engine.count_tokens("Turn on the lamp") == len(tokenized["tokens"])
    assert scripted.bodies("/tokenize")[-1] == {"content": "Turn on the lamp", "add_special": True, "parse_special": True}
    assert "/extras/tokenize" not in [s.path for s in scripted.seen]

    result = await engine.generate("PROMPT", grammar=YES_NO, max_tokens=64, temperature=0.2, top_p=0.9, top_k=20, stop=["</s>"])
    assert result.text == "hello"
    assert result.stats["prompt_seconds"] == 0.25 and result.stats["generate_seconds"] == 0.8
    assert scripted.bodies("/v1/completions")[-1] == {
        "model": "qwen2.5-3b",
        "prompt": "PROMPT",
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 20,
        "min_p": 0.05,
        "stream": False,
        "stop": ["</s>"],
        "grammar": YES_NO,
        "repeat_penalty": 1.0,
    }
    assert all("authorization" not in {k.lower() for k in s.headers} for s in scripted.seen)  # no key, no header


async def test_grammar_field_settings(scripted: ScriptedServer, engines) -> None:
    openai_server(scripted, completion("ok"))
    for field in (GRAMMAR_FIELD_VLLM, GRAMMAR_FIELD_NONE):
        await engines(scripted.url, "scripted", grammar_field=field).generate("P", grammar=YES_NO)
    vllm, none = scripted.bodies("/v1/completions")
    assert vllm["guided_grammar"] == YES_NO and "grammar" not in vllm and "repeat_penalty" not in vllm
    assert "grammar" not in none and "guided_grammar" not in none


async def test_without_a_tokenizer_endpoint_tokens_are_bytes(scripted: ScriptedServer, engines) -> None:
    scripted.on("/v1/models", (200, {"data": [{"id": "lm-studio-model"}]}))
    engine = engines(scripted.url, "lm-studio-model", n_ctx=3072)
    await engine.start()
    text = "Licht im Büro"
    assert await engine.count_tokens(text) == len(text.encode("utf-8")) + 1 == 15
    assert engine.metadata["tokenizer"] == "utf-8 bytes" and engine.context_length == 3072
    # Both tokenizers were tried once, at start; counting asked no one.
    assert [s.path for s in scripted.seen].count("/tokenize") == 1


async def test_server_failures_are_counted_and_reset_by_an_answer(scripted: ScriptedServer, engines) -> None:
    openai_server(
        scripted,
        (503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}),
        (500, "Internal Server Error"),
        (200, "<html>a captive portal</html>"),
        completion("back"),
    )
    engine = engines(scripted.url, "scripted", retry_backoff=0.0)
    for attempt, expected in enumerate(["HTTP 503\\): Loading model", "HTTP 500\\): Internal Server Error", "not JSON"], 1):
        with pytest.raises(ServerFailedError, match=expected):
            await engine.generate("P")
        assert engine.failures == attempt
    assert (await engine.generate("P")).text == "back"
    assert engine.failures == 0 and engine.running
    assert "not JSON" in engine.last_error  # kept for diagnostics


async def test_a_server_that_keeps_failing_is_paused(scripted: ScriptedServer, engines) -> None:
    openai_server(scripted, (502, "Bad Gateway"))
    engine = engines(scripted.url, "scripted", retry_backoff=60.0)
    for _ in range(3):
        with pytest.raises(ServerFailedError):
            await engine.generate("P")
    asked = len(scripted.seen)
    with pytest.raises(WorkerUnavailableError, match="failed 3 times in a row"):
        await engine.generate("P")
    assert len(scripted.seen) == asked  # not asked during the pause


async def test_a_closed_connection_is_asked_once_more(scripted: ScriptedServer, engines) -> None:
    """A kept-alive connection to a server that restarted closes on first use: asked again."""
    openai_server(scripted, CLOSE, completion("again"), CLOSE, CLOSE)
    engine = engines(scripted.url, "scripted")
    assert (await engine.generate("P")).text == "again"
    assert engine.failures == 0 and len(scripted.bodies("/v1/completions")) == 2
    with pytest.raises(ServerUnreachableError, match="closed the connection before it answered"):
        await engine.generate("P")  # closed twice
    assert engine.failures == 1 and len(scripted.bodies("/v1/completions")) == 4


def _self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate for 127.0.0.1 that no authority signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


async def test_tls_is_verified_unless_turned_off(socket_enabled: None, tmp_path: Path, engines) -> None:
    server = ScriptedServer()
    url = await server.start(_self_signed_context(tmp_path))
    try:
        openai_server(server, completion("over TLS"))
        verified = engines(url, "scripted")
        with pytest.raises(ServerUnreachableError, match="self-signed certificate needs TLS verification turned off"):
            await verified.start()
        assert server.seen == []  # nothing was sent to a server whose certificate failed
        unverified = engines(url, "scripted", verify_ssl=False)
        await unverified.start()
        assert (await unverified.generate("P")).text == "over TLS"
    finally:
        await server.stop()


async def test_a_rejected_request_is_not_a_server_failure(scripted: ScriptedServer, engines) -> None:
    message = "the request exceeds the available context size, try increasing it"
    openai_server(scripted, (400, {"error": {"code": 400, "message": message, "type": "exceed_context_size_error"}}))
    engine = engines(scripted.url, "scripted")
    with pytest.raises(GenerationError, match=message):
        await engine.generate("P")
    assert engine.failures == 0 and message in engine.last_error


async def test_a_server_that_does_not_answer_times_out(scripted: ScriptedServer, engines) -> None:
    openai_server(scripted, HANG)
    engine = engines(scripted.url, "scripted", request_timeout=0.3)
    with pytest.raises(ServerTimeoutError, match=r"did not answer /v1/completions within 0\.3 s"):
        await engine.generate("P")
    assert engine.failures == 1


async def test_wrong_api_chosen_says_so(scripted: ScriptedServer, engines) -> None:
    openai_server(scripted)
    with pytest.raises(ServerFailedError, match="has no /api/tags \\(HTTP 404\\): is it an Ollama server"):
        await engines(scripted.url, "scripted", api=API_OLLAMA).list_models()


async def test_ollama_documented_answers(scripted: ScriptedServer, engines) -> None:
    scripted.on("/api/tags", (200, recorded("ollama_tags")))
    scripted.on("/api/generate", (200, {**recorded("ollama_generate"), "response": "Hello."}))
    engine = engines(scripted.url, "llama3", api=API_OLLAMA, n_ctx=8192, grammar_field=GRAMMAR_FIELD_LLAMA_CPP)

    assert await engine.list_models() == ["codellama:13b", "llama3:latest"]
    await engine.start()  # "llama3" is llama3:latest
    assert engine.context_length == 8192 and engine.metadata["tokenizer"] == "utf-8 bytes"
    result = await engine.generate("RAW PROMPT", grammar=YES_NO, max_tokens=100, temperature=0.0, top_k=30, stop=["<|im_end|>"])

    assert result.text == "Hello."
    assert result.stats["prompt_tokens"] == 28 and result.stats["completion_tokens"] == 16
    assert result.stats["finish_reason"] == "stop"
    assert result.stats["prompt_eval_duration"] == 236000000 and result.stats["eval_duration"] == 269000000
    assert result.stats["prompt_seconds"] == 0.236 and result.stats["generate_seconds"] == 0.269
    sent = scripted.bodies("/api/generate")[-1]
    assert sent == {
        "model": "llama3",
        "prompt": "RAW PROMPT",
        "raw": True,
        "stream": False,
        "options": {
            "temperature": 0.0,
            "top_p": 0.95,
            "top_k": 30,
            "min_p": 0.05,
            "num_predict": 100,
            "num_ctx": 8192,
            "repeat_penalty": 1.0,
            "stop": ["<|im_end|>"],
        },
    }  # no grammar and no `format`: Ollama takes no GBNF

    mistral = engines(scripted.url, "mistral", api=API_OLLAMA)
    with pytest.raises(ModelNotServedError, match="it serves codellama:13b, llama3:latest"):
        await mistral.start()


async def test_ollama_model_gone_is_a_counted_failure(scripted: ScriptedServer, engines) -> None:
    # Ollama's error body is {"error": "..."}; this message is written for the test, not recorded.
    scripted.on("/api/generate", (404, {"error": "model 'llama3' not found, try pulling it first"}))
    engine = engines(scripted.url, "llama3", api=API_OLLAMA)
    with pytest.raises(ServerFailedError, match="HTTP 404\\): model 'llama3' not found"):
        await engine.generate("P")
    assert engine.failures == 1


# --- A real Home Assistant --------------------------------------------------------------------


def remote_entry(url: str, model: str, *, api: str = API_OPENAI, api_key: str = "", context_length: int = 2048, **agent: Any):
    """A remote entry with one agent, as the config flow makes it (with the agent's options given)."""
    return MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title=f"{model} on {url_for_display(url)}",
        data={
            CONF_MODEL_SOURCE: SOURCE_REMOTE,
            CONF_API: api,
            CONF_URL: url,
            CONF_API_KEY: api_key,
            CONF_MODEL: model,
            CONF_VERIFY_SSL: True,
            CONF_GRAMMAR_FIELD: GRAMMAR_FIELD_LLAMA_CPP if api == API_OPENAI else GRAMMAR_FIELD_NONE,
        },
        options={CONF_CHAT_TEMPLATE: "chatml", CONF_CONTEXT_LENGTH: context_length},
        subentries_data=[
            {
                "subentry_type": "conversation",
                "subentry_id": MODEL_SUBENTRY_ID,
                "title": "Home LLM",
                "data": {**DEFAULT_AGENT_OPTIONS, **agent},
                "unique_id": None,
            }
        ],
    )


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry, exposed: set[str] | None = None) -> RemoteEngine:
    if exposed is not None:
        for state in hass.states.async_all():
            async_expose_entity(hass, conversation.DOMAIN, state.entity_id, state.entity_id in exposed)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    engine = entry.runtime_data.worker
    assert isinstance(engine, RemoteEngine)
    return engine


async def ask(hass: HomeAssistant, text: str):
    return await conversation.async_converse(hass, text, None, Context(), language="en", agent_id=AGENT_ID)


def speech(result) -> str:
    return result.response.speech["plain"]["speech"]


async def test_real_server_turns_on_the_bed_light(hass: HomeAssistant, demo_home: None, llama_server: str) -> None:
    """The bundled model behind llama-cpp-python's server, greedy, with the grammar sent in
    `grammar`: the same command as tests/test_real_model.py, through HTTP."""
    entry = remote_entry(llama_server, MODEL_ALIAS, api_key=API_KEY, **{**BUNDLED_AGENT_OPTIONS, CONF_TEMPERATURE: 0.0})
    await _set_up(hass, entry, EXPOSED)
    try:
        assert hass.states.get("light.bed_light").state == "off"
        result = await ask(hass, "turn on the Bed Light")
        assert hass.states.get("light.bed_light").state == "on", speech(result)
        assert result.response.response_type == intent.IntentResponseType.ACTION_DONE
        assert hass.states.get("cover.garage_door").state == "closed"
        assert hass.states.get("light.kitchen_lights").state == "on"
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_server_killed_mid_request(hass: HomeAssistant, demo_home: None, tmp_path: Path, socket_enabled: None) -> None:
    """The server dies while it holds a request: the agent answers with its translated error,
    Home Assistant stays up and nothing changes; with the server gone the next answer says so."""
    proc, url = _spawn_llama_server(tmp_path / "server.log", api_key=None)
    try:
        _wait_for_models(url, None)
        entry = remote_entry(url, MODEL_ALIAS, **{**BUNDLED_AGENT_OPTIONS, CONF_TEMPERATURE: 0.0})
        engine = await _set_up(hass, entry, EXPOSED)
        generate = engine.generate

        async def generate_as_the_server_dies(prompt: str, **kwargs: Any):
            # Stopped, the server's kernel still takes the request, but nothing answers it; then it is killed.
            proc.send_signal(signal.SIGSTOP)
            request = asyncio.create_task(generate(prompt, **kwargs))
            await asyncio.sleep(0.5)
            assert not request.done()
            proc.kill()
            return await request

        engine.generate = generate_as_the_server_dies  # type: ignore[method-assign]
        before = snapshot(hass)
        result = await ask(hass, "turn on the Bed Light")

        assert result.response.response_type == intent.IntentResponseType.ERROR
        error = engine.last_error.split(": ", 1)[1]
        assert speech(result) == translated_exception("generation_failed", error=error)
        # The connection closed with the request in it; asked once more, the server was dying or gone.
        assert error.startswith((f"{url} closed the connection before it answered", f"cannot connect to {url}: ")), error
        assert engine.failures == 1
        assert hass.state is CoreState.running and snapshot(hass) == before

        engine.generate = generate  # type: ignore[method-assign]
        proc.wait()  # killed is not yet gone: the kernel closes its sockets as it exits
        result = await ask(hass, "turn on the Bed Light")
        assert speech(result).startswith(translated_exception("generation_failed", error=f"cannot connect to {url}: "))
        assert engine.failures == 2 and snapshot(hass) == before
        assert entry.state is config_entries.ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    ("model_output", "explanation"),
    [
        (reply("ok", call("lock.unlock", "lock.front_door")), "can't find a device"),  # exists, but not exposed
        (reply("ok", call("lock.unlock", "light.bed_light")), "Bed Light is a light"),  # another domain's service
        (reply("ok", call("light.turn_on", "light.bed_light", brightness=250)), "between 0% and 100%"),
        (reply("ok", '{"service": "light.turn_on", "target_device": "light.bed_light"'), "couldn't make sense"),
        ('\x00\ufffd```homeassistant\n{"service": ', "couldn't make sense"),
    ],
)
async def test_hostile_server_output_changes_nothing(
    hass: HomeAssistant, demo_home: None, scripted: ScriptedServer, model_output: str, explanation: str
) -> None:
    """A server (or whatever answers at its address) sends what it likes: it is validated as a
    local model's output is, and nothing unsafe runs."""
    openai_server(scripted, completion(model_output))
    entry = remote_entry(scripted.url, "scripted", context_length=4096)  # the whole demo home fits, as in test_conversation
    await _set_up(hass, entry)
    before = snapshot(hass)
    result = await ask(hass, "do something")
    assert snapshot(hass) == before
    assert explanation in speech(result)
    sent = scripted.bodies("/v1/completions")[-1]
    assert sent["prompt"].startswith("<|im_start|>system\n") and "root ::=" in sent["grammar"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_failing_server_raises_a_repair_issue(hass: HomeAssistant, demo_home: None, scripted: ScriptedServer) -> None:
    """The failures the engine counts drive the agent's repair issue, as the worker's crashes do."""
    openai_server(scripted, (502, "Bad Gateway"), (502, "Bad Gateway"), (502, "Bad Gateway"), completion("Hello again."))
    entry = remote_entry(scripted.url, "scripted", context_length=4096)
    engine = await _set_up(hass, entry)
    engine.retry_backoff = 0.0  # no pause after the third failure: the good answer comes at once
    issues = ir.async_get(hass)
    for attempt in (1, 2, 3):
        result = await ask(hass, "hello")
        assert result.response.response_type == intent.IntentResponseType.ERROR
        failing = [i for i in issues.issues.values() if i.domain == DOMAIN and i.translation_key == "model_failing"]
        assert len(failing) == (1 if attempt == 3 else 0)
    assert "HTTP 502" in failing[0].translation_placeholders["error"] and failing[0].translation_placeholders["count"] == "3"
    result = await ask(hass, "hello")
    assert speech(result) == "Hello again."
    assert not [i for i in issues.issues.values() if i.domain == DOMAIN]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_command_through_ollama(hass: HomeAssistant, demo_home: None, scripted: ScriptedServer) -> None:
    """An Ollama server (its documented answers) running the model: the raw prompt goes out,
    a validated call comes back and the light turns on."""
    scripted.on("/api/tags", (200, recorded("ollama_tags")))
    scripted.on("/api/generate", (200, {**recorded("ollama_generate"), "response": call("light.turn_on", "light.bed_light")}))
    entry = remote_entry(scripted.url, "llama3", api=API_OLLAMA, context_length=4096, **BUNDLED_AGENT_OPTIONS)
    await _set_up(hass, entry)
    assert hass.states.get("light.bed_light").state == "off"

    result = await ask(hass, "turn on the bed light")

    assert hass.states.get("light.bed_light").state == "on"
    assert result.response.response_type == intent.IntentResponseType.ACTION_DONE
    (sent,) = scripted.bodies("/api/generate")
    assert sent["model"] == "llama3" and sent["raw"] is True and sent["stream"] is False
    assert sent["options"]["num_predict"] == BUNDLED_AGENT_OPTIONS[CONF_MAX_TOKENS]
    # The request names one device exactly: a question back stops at its first word there too.
    assert sent["options"]["stop"] == [*stop_strings("chatml"), "Which"]
    assert sent["options"]["num_ctx"] == 4096
    assert sent["prompt"].startswith("<|im_start|>system\n") and sent["prompt"].endswith("<|im_start|>assistant\n")
    assert "turn on the bed light" in sent["prompt"]
    assert "format" not in sent and "grammar" not in sent
    await hass.config_entries.async_unload(entry.entry_id)


async def test_server_down_at_setup_is_retried(hass: HomeAssistant, scripted: ScriptedServer) -> None:
    """The server may start after Home Assistant: set-up is retried, with a translated reason."""
    assert await async_setup_component(hass, "homeassistant", {})  # for the conversation dependency
    url = f"http://127.0.0.1:{_closed_port()}"
    entry = remote_entry(url, "scripted")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "remote_unavailable"
    assert entry.reason.startswith(
        translated_exception("remote_unavailable", model="scripted", url=url, error=f"cannot connect to {url}: ")
    )

    # A server that answers but doesn't serve the model is not ready either.
    openai_server(scripted, models=("other",))
    other = remote_entry(scripted.url, "scripted")
    other.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(other.entry_id)
    assert other.state is config_entries.ConfigEntryState.SETUP_RETRY
    assert "does not serve the model 'scripted' (it serves other)" in other.reason
    for created in (entry, other):
        await hass.config_entries.async_remove(created.entry_id)


async def test_diagnostics_hide_keys_and_url_credentials(hass: HomeAssistant, scripted: ScriptedServer, hass_client) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "diagnostics", {})
    openai_server(scripted)
    with_password = remote_entry(scripted.url.replace("http://", "http://homer:d0nut@"), "scripted")
    await _set_up(hass, with_password)
    # The URL's credentials went to the server as basic auth.
    assert scripted.seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"homer:d0nut").decode()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, with_password)
    assert "d0nut" not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"][CONF_URL] == scripted.url
    assert diagnostics["model"] == {
        "server": scripted.url,
        "api": API_OPENAI,
        "name": "scripted",
        "chat_template": "chatml",
        "context_length": 2048,
        "metadata": {
            "api": API_OPENAI,
            "model": "scripted",
            "tokenizer": "/extras/tokenize",
            "context": "configured",
            "grammar_field": GRAMMAR_FIELD_LLAMA_CPP,
        },
    }
    assert diagnostics["worker"] == {"pid": None, "running": True, "starts": 1, "last_error": None}
    await hass.config_entries.async_remove(with_password.entry_id)  # its agent's entity goes with it

    with_key = remote_entry(scripted.url, "scripted", api_key="sk-very-secret")
    await _set_up(hass, with_key)
    assert scripted.seen[-1].headers["Authorization"] == "Bearer sk-very-secret"
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, with_key)
    assert "sk-very-secret" not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"][CONF_API_KEY] == "**REDACTED**"
    await hass.config_entries.async_unload(with_key.entry_id)
