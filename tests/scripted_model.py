"""A scripted stand-in for the model worker, for deterministic tests of parsing, validation
and dispatch. It speaks the same interface as worker_client.ModelWorker and records what
the integration sent it; everything around it (Home Assistant, the entities) is real."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from home_llm_core.worker_client import GenerationError, GenerationResult, WorkerCrashedError


@dataclass
class ScriptedWorker:
    # A reply is the text, an exception to raise, or a future to wait for (a slow model).
    replies: list[str | Exception | asyncio.Future] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    started: bool = False
    model_path: str | None = None
    lora_path: str | None = None
    # Instead of replies: answer every request with its user's last words, after a pause that
    # lets concurrent requests interleave (load tests).
    echo: bool = False
    # As ModelWorker counts them: failures of the process since the last good reply.
    failures: int = 0
    last_error: str | None = None
    # The context, as ModelWorker knows it once loaded; count_tokens stands in for the tokenizer.
    n_ctx: int = 4096
    context_length: int | None = None
    counted: int = 0

    # Stands in for ModelWorker's constructor: records which files it was asked to load.
    def __call__(self, model_path: str, *, lora_path: str | None = None, **kwargs: Any) -> ScriptedWorker:
        self.model_path, self.lora_path = model_path, lora_path
        return self

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def count_tokens(self, text: str) -> int:
        """About three bytes a token, as llama.cpp's tokenizers make of English prompts."""
        self.counted += 1
        return len(text.encode("utf-8")) // 3 + 1

    async def generate(self, prompt: str, **kwargs: Any) -> GenerationResult:
        self.requests.append({"prompt": prompt, **kwargs})
        tokens = len(prompt.encode("utf-8")) // 3 + 1
        if tokens + kwargs.get("max_tokens", 128) > (self.context_length or self.n_ctx):
            raise GenerationError(f"prompt is {tokens} tokens, context is {self.context_length or self.n_ctx}")
        if self.echo:
            await asyncio.sleep(0.001 * (len(self.requests) % 7))
            return GenerationResult(text=f"You said: {_last_user_words(prompt)}.", stats={})
        if not self.replies:
            raise WorkerCrashedError("scripted worker has no reply left")
        reply = self.replies.pop(0)
        if isinstance(reply, asyncio.Future):
            reply = await reply
        if isinstance(reply, WorkerCrashedError):
            self.failures, self.last_error = self.failures + 1, f"WorkerCrashedError: {reply}"
        if isinstance(reply, Exception):
            raise reply
        self.failures = 0
        for stop in kwargs.get("stop") or ():  # as llama.cpp: the text ends before a stop string
            reply = reply.split(stop, 1)[0]
        return GenerationResult(text=reply, stats={})


def _last_user_words(prompt: str) -> str:
    """The last user turn of a ChatML prompt (the bundled model's template)."""
    return prompt.rsplit("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
