"""A model on an inference server instead of the local worker process.

RemoteEngine speaks the interface of worker_client.ModelWorker (generate, count_tokens, the
context length, the failure count), so the agent runs a remote model exactly as a local one:
Home LLM renders the chat-templated prompt and the GBNF grammar itself and sends them as raw
text. Two APIs:

* "openai": an OpenAI-compatible completions server (llama.cpp's llama-server, llama-cpp-python's
  server, vLLM, LM Studio, LocalAI): POST /v1/completions, GET /v1/models.
* "ollama": POST /api/generate in raw mode, GET /api/tags.

Failures (unreachable, timed out, HTTP 5xx, a refused API key) are WorkerError subclasses, so the
agent answers with its translated "generation failed" sentence, and are counted as the worker
counts its crashes. Uses aiohttp (which Home Assistant ships) and nothing of Home Assistant.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from .worker_client import FAILURES_BEFORE_BACKOFF, GenerationError, GenerationResult, WorkerError, WorkerUnavailableError

_LOGGER = logging.getLogger(__name__)

API_OPENAI = "openai"
API_OLLAMA = "ollama"
APIS = (API_OPENAI, API_OLLAMA)

# Where an OpenAI-compatible server takes a GBNF grammar.
GRAMMAR_FIELD_LLAMA_CPP = "grammar"  # llama.cpp's llama-server, llama-cpp-python's server
GRAMMAR_FIELD_VLLM = "guided_grammar"
GRAMMAR_FIELD_NONE = "none"  # the server takes none: output is only validated
GRAMMAR_FIELDS = (GRAMMAR_FIELD_LLAMA_CPP, GRAMMAR_FIELD_VLLM, GRAMMAR_FIELD_NONE)

# Token counting endpoints, tried in this order: llama-server's, then llama-cpp-python's.
_TOKENIZERS: tuple[tuple[str, str], ...] = (("/tokenize", "content"), ("/extras/tokenize", "input"))
_UNPROBED = "unprobed"
_BYTES = "utf-8 bytes"

_MAX_REPLY_BYTES = 16 * 1024 * 1024  # a reply is a few KiB; more is a wrong or hostile server
_MAX_BACKOFF_SECONDS = 600.0  # as the local worker
_DETAIL_CHARS = 300

_T = TypeVar("_T")


class RemoteError(WorkerError):
    """The inference server failed a request in a way that says nothing about the request itself."""


class ServerUnreachableError(RemoteError):
    """No connection to the server, or it closed the connection before answering."""


class ServerTimeoutError(RemoteError):
    """The server did not answer in time."""


class ServerFailedError(RemoteError):
    """The server answered with an HTTP error (5xx, 404) or with something that isn't its API's answer."""


class AuthRefusedError(RemoteError):
    """The server refused the API key (HTTP 401 or 403)."""


class ModelNotServedError(RemoteError):
    """The server is up but does not list the configured model."""


class _ConnectionClosedError(ServerUnreachableError):
    """The connection closed before the answer came (tried once more before it is raised)."""


def split_server_url(text: str, api: str = API_OPENAI) -> tuple[URL, aiohttp.BasicAuth | None]:
    """The server's root URL without credentials, and the credentials it had (as basic auth).

    A trailing /v1 (OpenAI) or /api (Ollama) is dropped: people paste the base URL their other
    clients use, and the paths are added here. Raises ValueError for anything but an http(s) URL
    with a host.
    """
    try:
        url = URL(text.strip())
    except (TypeError, ValueError) as err:
        raise ValueError(f"{text!r} is not a URL: {err}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text!r} is not an http:// or https:// URL with a host name")
    auth = aiohttp.BasicAuth(url.user, url.password or "") if url.user else None
    path = url.path.rstrip("/")
    suffix = "/v1" if api == API_OPENAI else "/api"
    if path.endswith(suffix):
        path = path[: -len(suffix)]
    # A query or fragment means nothing to these APIs (and may hold a secret).
    return url.with_user(None).with_query(None).with_fragment(None).with_path(path or "/"), auth


def url_for_display(text: str) -> str:
    """The URL without credentials, query or fragment: safe for titles, logs and diagnostics."""
    try:
        url = URL(text.strip())
        return str(url.with_user(None).with_query(None).with_fragment(None)).rstrip("/")
    except (TypeError, ValueError):
        return "(not a URL)"


class RemoteEngine:
    """One model on one inference server, behind ModelWorker's interface.

    session: an aiohttp session to use (Home Assistant's shared one); without it the engine opens
    its own and closes it in stop(). n_ctx is the context length configured by the user: the
    engine's context_length unless llama-server reports its own (GET /props).
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api: str = API_OPENAI,
        api_key: str | None = None,
        verify_ssl: bool = True,
        grammar_field: str = GRAMMAR_FIELD_LLAMA_CPP,
        n_ctx: int = 4096,
        session: aiohttp.ClientSession | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 120.0,
        probe_timeout: float = 15.0,
        retry_backoff: float = 15.0,
    ) -> None:
        if api not in APIS:
            raise ValueError(f"unknown API {api!r}; one of {', '.join(APIS)}")
        if grammar_field not in GRAMMAR_FIELDS:
            raise ValueError(f"unknown grammar field {grammar_field!r}; one of {', '.join(GRAMMAR_FIELDS)}")
        self._root, self._auth = split_server_url(url, api)
        if self._auth is not None and api_key:
            raise ValueError("give either credentials in the URL or an API key, not both")
        self.api = api
        self.model = model
        self.display_url = str(self._root).rstrip("/")
        self.verify_ssl = verify_ssl
        # Ollama takes no GBNF grammar (see _generate_ollama).
        self.grammar_field = grammar_field if api == API_OPENAI else GRAMMAR_FIELD_NONE
        self.n_ctx = n_ctx
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.probe_timeout = probe_timeout
        self.retry_backoff = retry_backoff
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._has_key = bool(api_key)
        self._session = session
        self._own_session = False

        # ModelWorker's interface, as diagnostics and the agent read it.
        self.model_path = f"{model} on {self.display_url}"
        self.lora_path: str | None = None
        self.metadata: dict[str, str] = {}
        self.context_length: int | None = None
        self.last_error: str | None = None
        self.failures = 0  # requests failed by the server since the last good answer
        self._starts = 0
        self._reachable = False
        self._retry_at = 0.0
        self._tokenizer = _UNPROBED  # the endpoint that counts tokens, or _BYTES

    @property
    def pid(self) -> int | None:
        """No local process."""
        return None

    @property
    def starts(self) -> int:
        """How many times the server was checked and found serving the model."""
        return self._starts

    @property
    def running(self) -> bool:
        """Whether the latest contact with the server went well."""
        return self._reachable

    async def list_models(self) -> list[str]:
        """The models the server serves (its ids, or Ollama's names).

        Raises ServerUnreachableError, ServerTimeoutError, AuthRefusedError or ServerFailedError.
        """
        path, key, name = ("/v1/models", "data", "id") if self.api == API_OPENAI else ("/api/tags", "models", "name")
        kind = "an OpenAI-compatible" if self.api == API_OPENAI else "an Ollama"
        status, payload, text = await self._http("GET", path, None, self.probe_timeout)
        if status == 404:
            raise ServerFailedError(f"{self.display_url} has no {path} (HTTP 404): is it {kind} server?")
        answer = self._check(path, status, payload, text)
        entries = answer.get(key)
        if not isinstance(entries, list):
            raise ServerFailedError(f"{self.display_url}{path} is not a model list: is it {kind} server?")
        return [str(e[name]) for e in entries if isinstance(e, dict) and isinstance(e.get(name), str)]

    async def start(self) -> None:
        """Check that the server answers and serves the model; learn how it counts tokens and its context.

        Raises ModelNotServedError or, when the server cannot be asked, another RemoteError.
        """
        await self._ensure_session()
        models = await self.list_models()
        if not self._serves(models):
            served = ", ".join(models[:10]) + (", ..." if len(models) > 10 else "") if models else "no models"
            raise ModelNotServedError(f"{self.display_url} does not serve the model {self.model!r} (it serves {served})")
        if self.api == API_OPENAI:
            self._tokenizer = await self._probe_tokenizer()
            server_ctx = await self._server_context()
        else:
            # Ollama has no tokenizer endpoint; its context is the one each request asks for (num_ctx).
            self._tokenizer, server_ctx = _BYTES, None
        self.context_length = server_ctx or self.n_ctx
        self._starts += 1
        self._reachable = True
        self.metadata = {
            "api": self.api,
            "model": self.model,
            "tokenizer": self._tokenizer,
            "context": "reported by the server (/props)" if server_ctx else "configured",
            "grammar_field": self.grammar_field,
        }
        _LOGGER.info(
            "Using %s (%s API; context %s tokens, %s; tokens counted by %s; grammar field: %s)",
            self.model_path,
            self.api,
            self.context_length,
            self.metadata["context"],
            self._tokenizer,
            self.grammar_field,
        )

    async def stop(self) -> None:
        """Close the engine's own HTTP session (a session it was given stays open). Idempotent."""
        self._reachable = False
        if self._own_session and self._session is not None:
            session, self._session = self._session, None
            self._own_session = False
            await session.close()

    async def generate(
        self,
        prompt: str,
        *,
        grammar: str | None = None,
        max_tokens: int = 128,
        temperature: float = 0.1,
        top_p: float = 0.95,
        top_k: int = 40,
        min_p: float = 0.05,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> GenerationResult:
        """Complete an already chat-templated prompt, under the GBNF grammar where the server takes one.

        Raises a RemoteError when the server fails (counted in failures), GenerationError when it
        rejects this request (a 4xx: too long a prompt, ...), WorkerUnavailableError while paused.
        """
        stops = list(stop or [])
        started = time.monotonic()
        if self.api == API_OLLAMA:
            body = self._ollama_body(prompt, max_tokens, temperature, top_p, top_k, min_p, seed, stops)
            text, stats = await self._call("POST", "/api/generate", body, self.request_timeout, _parse_ollama)
        else:
            body = self._openai_body(prompt, grammar, max_tokens, temperature, top_p, top_k, min_p, seed, stops)
            text, stats = await self._call("POST", "/v1/completions", body, self.request_timeout, _parse_openai)
        stats["total_seconds"] = round(time.monotonic() - started, 3)
        return GenerationResult(text=text, stats=stats)

    async def count_tokens(self, text: str) -> int:
        """Tokens the server's tokenizer makes of text (BOS included), or a safe upper bound.

        Without a tokenizer endpoint the count is the UTF-8 length plus one for the BOS token: a
        token covers at least one byte, so the prompt is never longer than counted.
        """
        if self._tokenizer == _UNPROBED:
            self._tokenizer = await self._probe_tokenizer() if self.api == API_OPENAI else _BYTES
        if self._tokenizer == _BYTES:
            return len(text.encode("utf-8")) + 1
        field = dict(_TOKENIZERS)[self._tokenizer]
        body = self._tokenize_body(field, text)
        # A count is no good answer: a server that tokenizes but fails every generation keeps failing.
        return await self._call("POST", self._tokenizer, body, self.probe_timeout, _count_tokens, answers=False)

    def _openai_body(
        self,
        prompt: str,
        grammar: str | None,
        max_tokens: int,
        temperature: float,
        top_p: float,
        top_k: int,
        min_p: float,
        seed: int | None,
        stops: list[str],
    ) -> dict[str, Any]:
        # top_k and min_p are not OpenAI's, but every server this is for takes them.
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "min_p": min_p,
            "stream": False,
        }
        if stops:
            body["stop"] = stops
        if seed is not None:
            body["seed"] = seed
        if grammar and self.grammar_field != GRAMMAR_FIELD_NONE:
            body[self.grammar_field] = grammar
        if self.grammar_field != GRAMMAR_FIELD_VLLM:
            # llama-cpp-python's server and LM Studio default to 1.1, which the local worker doesn't
            # apply: it would push the model off entity ids it has to repeat. vLLM's default is 1.0.
            body["repeat_penalty"] = 1.0
        return body

    def _ollama_body(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float,
        top_p: float,
        top_k: int,
        min_p: float,
        seed: int | None,
        stops: list[str],
    ) -> dict[str, Any]:
        # No grammar and no `format`: Ollama takes no GBNF, and Home LLM's output (JSON lines, or one
        # sentence) is not one JSON document a schema could describe. The reply is validated before
        # anything runs, as for every model, and that is the guard here.
        options: dict[str, Any] = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "min_p": min_p,
            "num_predict": max_tokens,
            # Ollama cuts a prompt longer than its default context silently: ask for the configured one.
            "num_ctx": self.n_ctx,
            "repeat_penalty": 1.0,  # Ollama's default is 1.1 (see _openai_body)
            "stop": stops,
        }
        if seed is not None:
            options["seed"] = seed
        # raw: the prompt is already chat-templated; Ollama must not wrap it in the model's template.
        return {"model": self.model, "prompt": prompt, "raw": True, "stream": False, "options": options}

    def _tokenize_body(self, field: str, text: str) -> dict[str, Any]:
        # Special tokens parsed and BOS added, as the completion endpoints do with a prompt.
        if field == "content":
            return {"content": text, "add_special": True, "parse_special": True}
        return {"input": text, "model": self.model}

    def _serves(self, models: list[str]) -> bool:
        # Ollama names a model without a tag as its :latest.
        return self.model in models or (self.api == API_OLLAMA and ":" not in self.model and f"{self.model}:latest" in models)

    async def _probe_tokenizer(self) -> str:
        """The tokenizer endpoint the server has, or _BYTES. Raises AuthRefusedError and transport errors."""
        for path, field in _TOKENIZERS:
            status, payload, text = await self._http("POST", path, self._tokenize_body(field, "Home LLM"), self.probe_timeout)
            if status in (401, 403):
                self._check(path, status, payload, text)
            if status == 200 and isinstance(payload, dict) and isinstance(payload.get("tokens"), list):
                return path
        _LOGGER.info("%s has no tokenizer endpoint: prompt tokens are counted as UTF-8 bytes (an upper bound)", self.display_url)
        return _BYTES

    async def _server_context(self) -> int | None:
        """llama-server's context per request (GET /props), None from other servers."""
        status, payload, _text = await self._http("GET", "/props", None, self.probe_timeout)
        if status != 200 or not isinstance(payload, dict):
            return None
        settings = payload.get("default_generation_settings")
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        return n_ctx if isinstance(n_ctx, int) and not isinstance(n_ctx, bool) and n_ctx > 0 else None

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        timeout: float,
        parse: Callable[[dict[str, Any]], _T],
        *,
        answers: bool = True,
    ) -> _T:
        """One request of the agent's, with failures counted and paused after as the worker does;
        a good answer (answers: the request gives one) ends the count."""
        if (wait := self._retry_at - time.monotonic()) > 0:
            raise WorkerUnavailableError(
                f"{self.display_url} failed {self.failures} times in a row (last: {self.last_error}); "
                f"it is tried again in {wait:.0f} s"
            )
        try:
            status, payload, text = await self._http(method, path, body, timeout)
            answer = self._check(path, status, payload, text)
            try:
                result = parse(answer)
            except (KeyError, IndexError, TypeError, ValueError) as err:
                raise ServerFailedError(
                    f"{self.display_url}{path} answered with something that is not its API's answer ({err!r}): {text[:200]}"
                ) from None
        except GenerationError as err:  # this request was refused; the server itself is fine
            self.last_error = f"GenerationError: {err}"
            raise
        except RemoteError as err:
            self._failed(err)
            raise
        self._reachable = True
        if answers:
            if self.failures:
                _LOGGER.info("%s answers again after %s failed requests", self.display_url, self.failures)
            self.failures = 0
        return result

    def _failed(self, err: RemoteError) -> None:
        self.last_error = f"{type(err).__name__}: {err}"
        self.failures += 1
        self._reachable = False
        if self.failures == 1:
            _LOGGER.warning("Request to %s failed: %s", self.model_path, err)
        if self.failures >= FAILURES_BEFORE_BACKOFF:
            pause = min(_MAX_BACKOFF_SECONDS, self.retry_backoff * 2 ** (self.failures - FAILURES_BEFORE_BACKOFF))
            self._retry_at = time.monotonic() + pause
            _LOGGER.error(
                "%s failed %s times in a row; not asking it again for %.0f s (last error: %s)",
                self.display_url,
                self.failures,
                pause,
                self.last_error,
            )

    def _check(self, path: str, status: int, payload: Any, text: str) -> dict[str, Any]:
        """The JSON object of a good answer; the error an HTTP error stands for otherwise."""
        if 200 <= status < 300:
            if not isinstance(payload, dict):
                raise ServerFailedError(f"{self.display_url}{path} answered with something that is not JSON: {text[:200]!r}")
            return payload
        detail = _error_detail(payload, text)
        if status in (401, 403):
            if self._has_key:
                raise AuthRefusedError(f"the server refused the API key (HTTP {status} from {self.display_url}: {detail})")
            raise AuthRefusedError(f"the server requires an API key (HTTP {status} from {self.display_url}: {detail})")
        if 400 <= status < 500 and status != 404:
            raise GenerationError(f"{self.display_url}{path} rejected the request (HTTP {status}): {detail}")
        raise ServerFailedError(f"{self.display_url}{path} failed (HTTP {status}): {detail}")

    async def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def _http(self, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> tuple[int, Any, str]:
        """Status, parsed JSON (None if it isn't) and text of the server's answer; transport errors raised.

        A connection closed before the answer is tried once more, within the same time limit: a
        kept-alive connection to a server that restarted since fails that way on first use. The
        requests change nothing on the server, so asking twice is harmless.
        """
        deadline = time.monotonic() + timeout
        try:
            return await self._http_once(method, path, body, timeout)
        except _ConnectionClosedError as err:
            _LOGGER.debug("%s; asking once more", err)
        return await self._http_once(method, path, body, max(0.1, deadline - time.monotonic()))

    async def _http_once(self, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> tuple[int, Any, str]:
        session = await self._ensure_session()
        url = f"{str(self._root).rstrip('/')}{path}"
        try:
            async with session.request(
                method,
                url,
                json=body,
                headers=self._headers,
                auth=self._auth,
                # False turns verification off; True keeps the session's own setting.
                ssl=self.verify_ssl,
                timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=self.connect_timeout),
            ) as response:
                raw = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    raw += chunk
                    if len(raw) > _MAX_REPLY_BYTES:
                        raise ServerFailedError(f"{self.display_url}{path} answered with more than {_MAX_REPLY_BYTES} bytes")
                status = response.status
        except TimeoutError:
            raise ServerTimeoutError(f"{self.display_url} did not answer {path} within {timeout:g} s") from None
        except aiohttp.ClientSSLError as err:
            raise ServerUnreachableError(
                f"the TLS connection to {self.display_url} failed ({err}); a server with a self-signed certificate "
                "needs TLS verification turned off"
            ) from None
        except aiohttp.ClientConnectorError as err:
            reason = err.os_error.strerror or str(err.os_error)
            raise ServerUnreachableError(f"cannot connect to {self.display_url}: {reason}") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as err:
            raise _ConnectionClosedError(f"{self.display_url} closed the connection before it answered ({err})") from None
        except aiohttp.ClientError as err:
            raise ServerUnreachableError(f"the request to {self.display_url} failed: {type(err).__name__}: {err}") from None
        text = raw.decode("utf-8", "replace")
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        return status, payload, text


def _error_detail(payload: Any, text: str) -> str:
    """The message of an error answer: OpenAI's and llama-server's error.message, Ollama's error,
    FastAPI's detail (llama-cpp-python), else the start of the body."""
    detail: Any = None
    if isinstance(payload, dict):
        detail = payload.get("error") or payload.get("detail") or payload.get("message")
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
    if detail is None:
        detail = text.strip() or "no details"
    return str(detail)[:_DETAIL_CHARS]


def _parse_openai(answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    choice = answer["choices"][0]
    text = choice["text"]
    if not isinstance(text, str):
        raise TypeError("choices[0].text is not a string")
    usage = answer.get("usage") or {}
    stats: dict[str, Any] = {
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "finish_reason": choice.get("finish_reason"),
    }
    timings = answer.get("timings")  # llama-server's own addition
    if isinstance(timings, dict):
        for ms, seconds in (("prompt_ms", "prompt_seconds"), ("predicted_ms", "generate_seconds")):
            if isinstance(timings.get(ms), int | float):
                stats[seconds] = round(timings[ms] / 1000, 3)
    return text, stats


def _parse_ollama(answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text = answer["response"]
    if not isinstance(text, str):
        raise TypeError("response is not a string")
    stats: dict[str, Any] = {
        "prompt_tokens": answer.get("prompt_eval_count"),
        "completion_tokens": answer.get("eval_count"),
        "finish_reason": answer.get("done_reason"),
    }
    # Ollama reports durations in nanoseconds.
    for ns, seconds in (("prompt_eval_duration", "prompt_seconds"), ("eval_duration", "generate_seconds")):
        if isinstance(answer.get(ns), int):
            stats[ns] = answer[ns]
            stats[seconds] = round(answer[ns] / 1e9, 3)
    return text, stats


def _count_tokens(answer: dict[str, Any]) -> int:
    tokens = answer["tokens"]
    if not isinstance(tokens, list):
        raise TypeError("tokens is not a list")
    return len(tokens)
