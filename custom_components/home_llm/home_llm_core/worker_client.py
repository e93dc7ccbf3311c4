"""Asyncio client for the model worker process (worker.py).

llama.cpp runs in a child process so that a crash (SIGILL, SIGSEGV, out of
memory) or a slow generation can never take down or block Home Assistant.
This module uses only the standard library.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_STDERR_LINES_KEPT = 50
# Replies carry the model metadata (chat template) and generated text.
_STREAM_LIMIT = 32 * 1024 * 1024
_STOP_GRACE_SECONDS = 3.0


class WorkerError(Exception):
    """Base class of all model worker errors."""


class ModelLoadError(WorkerError):
    """The worker could not load the model."""


class WorkerCrashedError(WorkerError):
    """The worker process died while serving a request."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class WorkerTimeoutError(WorkerError):
    """The worker did not answer in time; it was killed."""


class GenerationError(WorkerError):
    """The worker rejected a request (prompt too long, bad grammar, ...)."""


class WorkerBusyError(WorkerError):
    """Too many requests are waiting for the model, or one waited too long: try again later."""


class WorkerUnavailableError(WorkerError):
    """The worker failed several times in a row; it is not tried again until a pause is over."""


# A failed worker is restarted on the next request; from this many failures in a row on, the
# next try waits (retry_backoff seconds, doubling, at most _MAX_BACKOFF_SECONDS).
FAILURES_BEFORE_BACKOFF = 3
_MAX_BACKOFF_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """Generated text and the worker's statistics.

    stats: prompt_tokens, cached_tokens, completion_tokens, finish_reason
    ("stop" or "length"), prompt_seconds, generate_seconds, total_seconds.
    """

    text: str
    stats: dict[str, Any]


# What the usual fatal signals mean for a llama.cpp process.
_SIGNAL_HINTS = {
    "SIGKILL": "killed from outside, often by the kernel when memory runs out",
    "SIGILL": "llama.cpp was built for CPU instructions this processor lacks",
    "SIGSEGV": "a crash in llama.cpp",
    "SIGBUS": "a crash in llama.cpp, or the model file changed while in use",
    "SIGABRT": "llama.cpp aborted",
}


def describe_exit(returncode: int | None) -> str:
    """'SIGKILL: killed from outside...', 'exit code 1', ... for a finished process."""
    if returncode is None:
        return "still running"
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
    return f"{name}: {_SIGNAL_HINTS[name]}" if name in _SIGNAL_HINTS else name


async def _exited(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    """Wait up to seconds for proc to exit; whether it did."""
    try:
        async with asyncio.timeout(seconds):
            await proc.wait()
    except TimeoutError:
        return False
    return True


class ModelWorker:
    """Runs one model in a child process and sends it one request at a time.

    The process is started by start() or, transparently, by the first
    generate(); after a crash or timeout the next generate() starts a new one.
    n_threads None lets the worker use all usable cores but one. python is the
    interpreter that has llama-cpp-python installed.
    """

    def __init__(
        self,
        model_path: str,
        *,
        lora_path: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        python: str = sys.executable,
        request_timeout: float = 120.0,
        load_timeout: float = 120.0,
        retry_backoff: float = 15.0,
        max_waiting: int = 8,
        queue_timeout: float = 60.0,
    ) -> None:
        self.model_path = model_path
        self.lora_path = lora_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.python = python
        self.request_timeout = request_timeout
        self.load_timeout = load_timeout
        self.retry_backoff = retry_backoff
        # One request runs at a time; at most max_waiting wait behind it, none longer than queue_timeout.
        self.max_waiting = max_waiting
        self.queue_timeout = queue_timeout
        self._waiting = 0
        # Filled by the load reply: selected GGUF metadata and the actual context.
        self.metadata: dict[str, str] = {}
        self.context_length: int | None = None

        self._lock = asyncio.Lock()
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = False  # process running with the model loaded
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES_KEPT)
        self._request_ids = itertools.count(1)
        self._prefilling: int | None = None  # the id of a prefill in flight, which any other request cancels
        self._starts = 0
        self.last_error: str | None = None  # the latest failure of a request or a start, for diagnostics
        self.failures = 0  # of the process (load failed, crashed, hung) since the last good request
        self._retry_at = 0.0  # time.monotonic() before which no new process is started

    @property
    def pid(self) -> int | None:
        """Process id of the worker, None if there is none."""
        return self._proc.pid if self._proc is not None else None

    @property
    def starts(self) -> int:
        """How many worker processes were started: 1 + restarts."""
        return self._starts

    @property
    def running(self) -> bool:
        """Whether the worker process is alive with the model loaded."""
        return self._ready and self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        """Start the worker and load the model (replacing a running worker).

        Raises ModelLoadError.
        """
        async with self._lock:
            await self._start()

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
        draft: bool = True,
    ) -> GenerationResult:
        """Complete an already chat-templated prompt, optionally under a GBNF grammar. draft:
        guess tokens ahead (same text, fewer evaluation steps; off only to compare).

        Raises GenerationError, WorkerCrashedError, WorkerTimeoutError or
        ModelLoadError (when the worker had to be restarted and that failed).
        """
        request = {
            "op": "generate",
            "prompt": prompt,
            "grammar": grammar,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "min_p": min_p,
            "seed": seed,
            "stop": list(stop or []),
            "draft": draft,
        }
        reply = await self._call(request)
        return GenerationResult(text=reply["text"], stats=reply["stats"])

    async def prefill(self, prompt: str) -> dict[str, Any] | None:
        """Evaluate the beginning of prompts to come into the worker's KV cache, at the lowest
        priority: only when the process is up and nothing else runs or waits, and cancelled
        by the next other request (what it evaluated stays cached). Its stats, or None when
        it was skipped, cancelled or refused.

        Raises WorkerCrashedError or WorkerTimeoutError (the process is then restarted by
        the next request, as after a failed generate()).
        """
        if not self.running or self._lock.locked() or self._waiting:
            return None
        async with self._lock:
            try:
                reply = await self._request({"op": "prefill", "prompt": prompt}, self.request_timeout)
            except (WorkerCrashedError, WorkerTimeoutError) as err:
                self._failed(err)
                raise
        if not reply.get("ok"):
            if not reply.get("cancelled"):
                _LOGGER.debug("Prefill refused by the model worker: %s", reply.get("error"))
            return None
        return reply["stats"]

    async def count_tokens(self, text: str) -> int:
        """Number of tokens the model's tokenizer makes of text (BOS included)."""
        reply = await self._call({"op": "tokenize", "text": text})
        return reply["count"]

    async def stop(self) -> None:
        """Stop the worker: close its stdin, then terminate, then kill. Idempotent."""
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is None:
            return
        if proc.returncode is None:
            # The worker exits on EOF as soon as its current request is done.
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
            if not await _exited(proc, _STOP_GRACE_SECONDS):
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                if not await _exited(proc, _STOP_GRACE_SECONDS):
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        _LOGGER.info("Model worker (pid %s) stopped (%s)", proc.pid, describe_exit(proc.returncode))
        await self._finish_stderr()

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send a request once the worker is ready and return its ok reply."""
        async with self._turn():
            if not self.running and (wait := self._retry_at - time.monotonic()) > 0:
                raise WorkerUnavailableError(
                    f"the model process failed {self.failures} times in a row (last: {self.last_error}); "
                    f"it is tried again in {wait:.0f} s"
                )
            try:
                if not self.running:
                    await self._start()
                reply = await self._request(request, self.request_timeout)
            except (ModelLoadError, WorkerCrashedError, WorkerTimeoutError) as err:
                self._failed(err)
                raise
        if not reply.get("ok"):
            self.last_error = f"GenerationError: {reply.get('error')}"
            raise GenerationError(reply.get("error") or "unknown error in the model worker")
        if request["op"] == "generate":  # a process that tokenizes but dies generating keeps failing
            self.failures = 0
        return reply

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """The worker to oneself, in the order asked, within the queue's limits."""
        if self._waiting >= self.max_waiting:
            raise WorkerBusyError(f"{self._waiting} requests are already waiting for the model")
        if self._prefilling is not None and self._proc is not None:
            self._send_cancel(self._proc, self._prefilling, quiet=True)
        self._waiting += 1
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise WorkerBusyError(f"the model was busy with other requests for {self.queue_timeout:g} s") from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

    def _failed(self, err: WorkerError) -> None:
        """Count a failure of the process; from FAILURES_BEFORE_BACKOFF on, pause before the next start."""
        self.last_error = f"{type(err).__name__}: {err}"
        self.failures += 1
        if self.failures >= FAILURES_BEFORE_BACKOFF:
            pause = min(_MAX_BACKOFF_SECONDS, self.retry_backoff * 2 ** (self.failures - FAILURES_BEFORE_BACKOFF))
            self._retry_at = time.monotonic() + pause
            _LOGGER.error(
                "The model process failed %s times in a row; not starting it again for %.0f s (last error: %s)",
                self.failures,
                pause,
                self.last_error,
            )

    async def _start(self) -> None:
        """Spawn a worker process and load the model. Caller holds the lock."""
        await self._kill()
        self._stderr_tail.clear()
        try:
            self._proc = proc = await asyncio.create_subprocess_exec(
                self.python,
                "-u",
                str(WORKER_SCRIPT),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=_STREAM_LIMIT,
            )
        except OSError as err:
            raise ModelLoadError(f"cannot start the model process with {self.python}: {err}") from err
        self._starts += 1
        self._stderr_task = asyncio.create_task(self._drain_stderr(proc), name=f"home_llm worker {proc.pid} stderr")
        _LOGGER.info(
            "%s model worker (pid %s) for %s",
            "Restarting" if self._starts > 1 else "Starting",
            proc.pid,
            self.model_path,
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        request = {
            "op": "load",
            "model_path": self.model_path,
            "lora_path": self.lora_path,
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
        }
        try:
            reply = await self._request(request, self.load_timeout)
        except WorkerCrashedError as err:
            raise ModelLoadError(
                f"the model process crashed while loading {self.model_path} "
                f"({describe_exit(err.returncode)}){self._stderr_summary()}"
            ) from None
        except WorkerTimeoutError:
            raise ModelLoadError(f"loading {self.model_path} took longer than {self.load_timeout:g} s") from None
        except BaseException:  # cancelled: do not leave a half-loaded process
            await self._kill()
            raise
        if not reply.get("ok"):
            await self._kill()
            raise ModelLoadError(reply.get("error") or "unknown error loading the model")
        self.metadata = reply.get("metadata", {})
        self.context_length = reply.get("n_ctx")
        self._ready = True
        _LOGGER.info(
            "Model worker (pid %s) loaded %s in %.2f s (context %s tokens, %s threads)",
            proc.pid,
            self.metadata.get("general.name", self.model_path),
            loop.time() - started,
            self.context_length,
            reply.get("n_threads"),
        )

    async def _request(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for the reply with the same id."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        request_id = next(self._request_ids)
        line = json.dumps({"id": request_id, **request}).encode("utf-8") + b"\n"
        reply = None
        if request["op"] == "prefill":
            self._prefilling = request_id
        try:
            async with asyncio.timeout(timeout):
                try:
                    proc.stdin.write(line)
                    await proc.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the process is gone: stdout reaches EOF below
                # Replies to requests whose caller was cancelled arrive late;
                # skip them.
                while reply is None and (raw := await proc.stdout.readline()):
                    try:
                        message = json.loads(raw)
                    except ValueError:
                        _LOGGER.warning("Model worker sent a non-JSON line: %r", raw[:200])
                        continue
                    if isinstance(message, dict) and message.get("id") == request_id:
                        reply = message
        except asyncio.CancelledError:
            # The caller went away (a closed websocket, a stopped pipeline): have the
            # worker drop the request instead of finishing it for nobody.
            self._send_cancel(proc, request_id, quiet=request["op"] == "prefill")
            raise
        except TimeoutError:
            _LOGGER.error(
                "Model worker (pid %s) did not answer within %g s; killing it",
                proc.pid,
                timeout,
            )
            await self._kill()
            raise WorkerTimeoutError(
                f"the model did not answer within {timeout:g} s; "
                "its process was stopped and will be restarted on the next request"
            ) from None
        finally:
            self._prefilling = None
        if reply is None:
            raise await self._crashed(proc)
        return reply

    def _send_cancel(self, proc: asyncio.subprocess.Process, request_id: int, *, quiet: bool = False) -> None:
        if proc.returncode is not None or proc.stdin is None or proc.stdin.is_closing():
            return
        notice = {"id": next(self._request_ids), "op": "cancel", "target": request_id}
        with contextlib.suppress(OSError):
            proc.stdin.write(json.dumps(notice).encode("utf-8") + b"\n")
        if quiet:  # a prefill giving way to a real request: the usual case, not news
            return
        _LOGGER.info(
            "Request %s to the model worker (pid %s) was cancelled by its caller; the worker stops it at its next token",
            request_id,
            proc.pid,
        )

    async def _crashed(self, proc: asyncio.subprocess.Process) -> WorkerCrashedError:
        """Collect the exit status of a worker whose stdout closed."""
        if proc is not self._proc:
            return WorkerCrashedError("the model process was stopped", proc.returncode)
        # Normally already dead; one that closed stdout but kept running is killed.
        await _exited(proc, _STOP_GRACE_SECONDS)
        await self._kill()
        how = describe_exit(proc.returncode)
        _LOGGER.error(
            "Model worker (pid %s) died (%s); last output:\n%s",
            proc.pid,
            how,
            "\n".join(self._stderr_tail) or "(none)",
        )
        return WorkerCrashedError(
            f"the model process died ({how}); it will be restarted on the next request",
            proc.returncode,
        )

    async def _kill(self) -> None:
        """Kill the current process, if any, and wait for it."""
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
        await self._finish_stderr()

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        """Log the worker's stderr so the pipe never fills up."""
        assert proc.stderr is not None
        while raw := await proc.stderr.readline():
            text = raw.decode("utf-8", "replace").rstrip()
            self._stderr_tail.append(text)
            _LOGGER.debug("worker %s: %s", proc.pid, text)

    async def _finish_stderr(self) -> None:
        """Wait briefly for the stderr of a finished process to be read."""
        task, self._stderr_task = self._stderr_task, None
        if task is None:
            return
        try:
            async with asyncio.timeout(1.0):
                await task
        except TimeoutError:
            # A grandchild may still hold the pipe open; stop reading it.
            task.cancel()

    def _stderr_summary(self, lines: int = 5) -> str:
        tail = [line for line in self._stderr_tail if line.strip()][-lines:]
        return ": " + " | ".join(tail) if tail else ""
