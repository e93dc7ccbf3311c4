"""Model worker: runs llama.cpp in a child process of Home Assistant.

Run as a script (``python worker.py``), never imported by the integration: a
crash in llama.cpp (SIGILL, SIGSEGV, out of memory) then only ends this process.
It imports nothing from Home Assistant or from the rest of the integration.

Protocol: one JSON object per line. Requests arrive on stdin, each with an
"id"; every request gets exactly one reply on the original stdout with the
same "id" and "ok": true plus the results below, or "ok": false and "error".

  load      model_path, lora_path, n_ctx, n_threads
            -> metadata (selected GGUF keys, string values), n_ctx, n_threads
  generate  prompt (chat-templated text), grammar (GBNF or null), max_tokens,
            temperature, top_p, top_k, min_p, seed, stop, draft (guess tokens
            ahead from the prompt and the grammar's literals; default true)
            -> text, stats (prompt_tokens, cached_tokens, completion_tokens,
               finish_reason, prompt_seconds, generate_seconds, total_seconds,
               grammar_fallbacks, drafted_tokens, draft_accepted)
  prefill   prompt (the beginning of prompts to come) -> stats (prompt_tokens,
            cached_tokens, evaluated_tokens, seconds): evaluated into the KV cache
            so that a request which begins alike processes only the rest; stopped
            by a cancel between chunks of PREFILL_CHUNK tokens (what was evaluated
            stays cached)
  tokenize  text -> count
  ping      -> nothing more
  cancel    target (the id of an earlier request) -> no reply of its own; the
            target, if not yet answered, is answered with "ok": false,
            "cancelled": true as soon as possible: a queued one is not run, a
            running generation stops at its next token, a prefill at its next
            chunk (a generation's prompt processing, once begun, runs to its end)

A failed request does not end the worker; stdin EOF does (exit code 0), once the
request in progress is answered.
"""

from __future__ import annotations

import ctypes
import faulthandler
import json
import math
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from typing import Any, BinaryIO

# GGUF metadata passed back to the integration after loading.
METADATA_KEYS = (
    "general.architecture",
    "general.name",
    "general.basename",
    "general.size_label",
    "general.file_type",
    "tokenizer.chat_template",
    "tokenizer.ggml.model",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
)


# Tokens a prefill evaluates between looks at its cancel flag: a real request waits at most
# this long behind it (64 tokens: ~0.1 s on 2 cores for a 135M model).
PREFILL_CHUNK = 64


class RequestError(Exception):
    """A request that cannot be served; the message is shown to the user."""


class RequestCancelled(Exception):
    """The client cancelled the request (its caller went away)."""


class Cancellations:
    """Ids of cancelled requests, shared by the stdin reader thread and the main thread.

    The client's request ids only grow, so a cancel for an id already answered is ignored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._last_answered = 0

    def cancel(self, request_id: Any) -> None:
        with self._lock:
            if isinstance(request_id, int) and request_id > self._last_answered:
                self._ids.add(request_id)

    def is_cancelled(self, request_id: Any) -> bool:
        return request_id in self._ids

    def answered(self, request_id: Any) -> None:
        with self._lock:
            self._ids.discard(request_id)
            if isinstance(request_id, int):
                self._last_answered = max(self._last_answered, request_id)


def take_stdout() -> BinaryIO:
    """Keep the real stdout for protocol messages and point fd 1 at stderr.

    Must run before llama_cpp is imported: whatever llama.cpp or Python code
    prints to stdout then ends up in stderr and cannot corrupt the protocol.
    """
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(protocol_fd, "wb", buffering=0)


def captured_stderr(func):
    """Run func() with fd 2 going to a temporary file; return (result, text).

    llama.cpp reports grammar syntax errors only by printing them.
    """
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            result = func()
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        tmp.seek(0)
        text = tmp.read().decode("utf-8", "replace").strip()
    return result, text


class Worker:
    """Holds the loaded model and serves requests one at a time."""

    def __init__(self) -> None:
        self.lib: Any = None  # the llama_cpp module, imported by the first load
        self.llm: Any = None  # llama_cpp.Llama
        self.cancellations = Cancellations()
        self._fragments: tuple[str | None, dict] = (None, {})  # the last grammar, its literals indexed
        self._word_starts: frozenset[int] | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            raise RequestError(f"unknown op {op!r}")
        return handler(request)

    def op_ping(self, request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def op_load(self, request: dict[str, Any]) -> dict[str, Any]:
        model_path = request["model_path"]
        lora_path = request.get("lora_path")
        check_gguf(model_path, "model")
        if lora_path:
            check_gguf(lora_path, "LoRA adapter")
        try:
            import llama_cpp  # only now: main() has protected the protocol fd
        except Exception as err:
            raise RequestError(f"llama-cpp-python cannot be imported: {err}") from err
        self.lib = llama_cpp

        n_threads = int(request.get("n_threads") or default_threads())
        # Prompt processing may use every core: Home Assistant is idle, awaiting the reply,
        # and a cold prompt is the slowest part of a request (2 threads: ~2x faster here).
        n_threads_batch = int(request.get("n_threads") or os.process_cpu_count() or 1)
        self.llm = None  # free the previous model first
        self._fragments, self._word_starts = (None, {}), None  # token ids of the previous model
        try:
            self.llm = llama_cpp.Llama(
                model_path=model_path,
                lora_path=lora_path or None,
                n_ctx=int(request.get("n_ctx") or 4096),
                n_threads=n_threads,
                n_threads_batch=n_threads_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise RequestError(
                f"llama.cpp could not load {model_path}: {err}. The file may be "
                "truncated, or its architecture is not supported by this llama.cpp build"
            ) from err
        metadata = {
            key: value for key, value in self.llm.metadata.items() if key in METADATA_KEYS or key.endswith(".context_length")
        }
        self.word_starts()  # a scan of the vocabulary (0.1-0.2 s): at load, not on the first request
        return {"metadata": metadata, "n_ctx": self.context_length(), "n_threads": n_threads}

    def context_length(self) -> int:
        # llama.cpp pads a small context up (to 256), but llama-cpp-python's own buffers keep
        # the size asked for: the smaller of the two is what a prompt and its answer may use.
        llm = self.require_model()
        return min(llm.n_ctx(), llm.context_params.n_ctx or llm.n_ctx())

    def op_tokenize(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"count": len(self.tokenize(request["text"]))}

    def op_generate(self, request: dict[str, Any]) -> dict[str, Any]:
        llm = self.require_model()
        prompt = request["prompt"]
        if not prompt:
            raise RequestError("the prompt is empty")
        max_tokens = int(request.get("max_tokens") or 128)
        grammar = request.get("grammar")
        if grammar:
            self.check_grammar(grammar)

        started = time.perf_counter()
        tokens = self.tokenize(prompt)
        n_ctx = self.context_length()
        if len(tokens) + max_tokens > n_ctx:
            raise RequestError(
                f"prompt is {len(tokens)} tokens, context is {n_ctx} "
                f"(with {max_tokens} kept for the answer); "
                "raise the context length or expose fewer entities"
            )
        cached_tokens = reusable_prefix(llm, tokens)
        llm.n_tokens = cached_tokens  # eval() drops the KV cache from here on
        llm.eval(tokens[cached_tokens:])
        prompt_done = time.perf_counter()
        decoder = Decoder(
            self.lib,
            llm,
            grammar=grammar,
            temperature=float(request.get("temperature", 0.1)),
            top_p=float(request.get("top_p", 0.95)),
            top_k=int(request.get("top_k", 40)),
            min_p=float(request.get("min_p", 0.05)),
            seed=request.get("seed"),
        )
        try:
            drafter = Drafter(tokens, self.fragments(grammar), self.word_starts()) if request.get("draft", True) else None
            text, completion_tokens, finish_reason = decoder.run(
                max_tokens, list(request.get("stop") or []), lambda: self.cancellations.is_cancelled(request.get("id")), drafter
            )
        finally:
            decoder.close()
        finished = time.perf_counter()
        if self.cancellations.is_cancelled(request.get("id")):
            raise RequestCancelled
        return {
            "text": text,
            "stats": {
                "prompt_tokens": len(tokens),
                "cached_tokens": cached_tokens,
                "completion_tokens": completion_tokens,
                "finish_reason": finish_reason,
                "prompt_seconds": round(prompt_done - started, 4),
                "generate_seconds": round(finished - prompt_done, 4),
                "total_seconds": round(finished - started, 4),
                "grammar_fallbacks": decoder.fallbacks,
                "drafted_tokens": decoder.drafted,
                "draft_accepted": decoder.accepted,
            },
        }

    def op_prefill(self, request: dict[str, Any]) -> dict[str, Any]:
        llm = self.require_model()
        started = time.perf_counter()
        tokens = self.tokenize(request["prompt"])
        if len(tokens) >= self.context_length():
            raise RequestError(f"prompt is {len(tokens)} tokens, context is {self.context_length()}")
        cached = common_prefix(llm, tokens)
        llm.n_tokens = cached  # eval() drops the KV cache from here on
        for start in range(cached, len(tokens), PREFILL_CHUNK):
            if self.cancellations.is_cancelled(request.get("id")):
                raise RequestCancelled
            llm.eval(tokens[start : start + PREFILL_CHUNK])
        return {
            "stats": {
                "prompt_tokens": len(tokens),
                "cached_tokens": cached,
                "evaluated_tokens": len(tokens) - cached,
                "seconds": round(time.perf_counter() - started, 4),
            }
        }

    def fragments(self, grammar: str | None) -> dict:
        """The grammar's literals indexed for guessing, kept for the last grammar (a home's
        grammar changes only with its devices)."""
        if not grammar:
            return {}
        if self._fragments[0] != grammar:
            self._fragments = (grammar, grammar_fragments(self.require_model(), grammar))
        return self._fragments[1]

    def word_starts(self) -> frozenset[int]:
        if self._word_starts is None:
            self._word_starts = word_start_tokens(self.require_model())
        return self._word_starts

    def require_model(self):
        if self.llm is None:
            raise RequestError("no model is loaded")
        return self.llm

    def tokenize(self, text: str) -> list[int]:
        # Same tokens as create_completion(text) would use: BOS if the model
        # wants one, special tokens such as <|im_start|> parsed as such.
        return self.require_model().tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def check_grammar(self, grammar: str) -> None:
        """Parse the grammar once up front.

        llama-cpp-python adds the grammar sampler without checking it, and a
        grammar llama.cpp cannot parse would crash the process (NULL sampler).
        """
        lib = self.lib
        vocab = lib.llama_model_get_vocab(self.require_model().model)
        sampler, output = captured_stderr(lambda: lib.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root"))
        if not sampler:
            details = f": {output}" if output else ""
            raise RequestError(f"invalid GBNF grammar{details}")
        lib.llama_sampler_free(sampler)


class Decoder:
    """Token-by-token generation that samples first and checks the grammar after.

    Applying a grammar to the whole vocabulary (49k tokens for SmolLM2) at every step is most of
    the cost of constrained decoding, and grows with the grammar (every exposed entity id is in
    it). Most of the time the token the model picks unconstrained is one the grammar allows, so
    it is sampled without the grammar and checked alone; only when the grammar rejects it is the
    step sampled again over the whole vocabulary with the grammar applied first, as llama.cpp's
    own common sampler does. What comes out always fits the grammar; with greedy decoding it is
    the very text of sampling with the grammar at every step.
    """

    def __init__(self, lib, llm, *, grammar, temperature, top_p, top_k, min_p, seed) -> None:
        self.lib, self.llm = lib, llm
        self.vocab = lib.llama_model_get_vocab(llm.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        self.chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if temperature <= 0:
            lib.llama_sampler_chain_add(self.chain, lib.llama_sampler_init_greedy())
        else:
            for sampler in (
                lib.llama_sampler_init_top_k(top_k),
                lib.llama_sampler_init_top_p(top_p, 1),
                lib.llama_sampler_init_min_p(min_p, 1),
                lib.llama_sampler_init_temp(temperature),
                lib.llama_sampler_init_dist(seed if seed is not None else lib.LLAMA_DEFAULT_SEED),
            ):
                lib.llama_sampler_chain_add(self.chain, sampler)
        self.grammar = lib.llama_sampler_init_grammar(self.vocab, grammar.encode("utf-8"), b"root") if grammar else None
        self.fallbacks = 0  # steps where the grammar rejected the unconstrained choice
        self.drafted = self.accepted = 0  # tokens guessed ahead, and of those the ones sampled

    def close(self) -> None:
        for sampler in (self.chain, self.grammar):
            if sampler:
                self.lib.llama_sampler_free(sampler)
        self.chain = self.grammar = None

    def _allowed(self, token: int) -> bool:
        lib = self.lib
        one = (lib.llama_token_data * 1)(lib.llama_token_data(token, 0.0, 0.0))
        candidates = lib.llama_token_data_array(one, 1, -1, False)
        lib.llama_sampler_apply(self.grammar, ctypes.byref(candidates))
        return one[0].logit != -math.inf

    def _sample_with_grammar(self, index: int) -> int:
        """The step again over the whole vocabulary, grammar first (the chain's state was
        already advanced by the rejected sample; its samplers besides dist keep none)."""
        import numpy as np  # loaded with llama_cpp already

        lib = self.lib
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(self.llm.ctx, index), shape=(self.n_vocab,))
        data = (lib.llama_token_data * self.n_vocab)()
        view = np.ctypeslib.as_array(data)
        view["id"] = np.arange(self.n_vocab, dtype=np.int32)
        view["logit"] = logits
        view["p"] = 0.0
        candidates = lib.llama_token_data_array(data, self.n_vocab, -1, False)
        lib.llama_sampler_apply(self.grammar, ctypes.byref(candidates))
        lib.llama_sampler_apply(self.chain, ctypes.byref(candidates))
        return int(candidates.data[candidates.selected].id)

    def next_token(self, index: int = -1) -> int:
        """The token after the position whose logits are at index (-1: the last evaluated)."""
        token = self.lib.llama_sampler_sample(self.chain, self.llm.ctx, index)
        if self.grammar is None:
            return token
        if not self._allowed(token):
            self.fallbacks += 1
            token = self._sample_with_grammar(index)
        self.lib.llama_sampler_accept(self.grammar, token)
        return token

    def _evaluate(self, tokens: list[int]) -> None:
        """Like Llama.eval, with logits kept for every token (a draft is checked at each one)."""
        llm = self.llm
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        llm._batch.set_batch(batch=tokens, n_past=llm.n_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens : llm.n_tokens + len(tokens)] = tokens
        llm.n_tokens += len(tokens)

    def run(self, max_tokens: int, stop: list[str], cancelled, drafter: Drafter | None = None) -> tuple[str, int, str]:
        """(text, tokens generated, "stop" or "length"), from the logits of the last prompt token.

        With a drafter, each evaluated token goes with the drafter's guess of the tokens after it,
        in one batch (on a CPU a batch of 8 costs about two single tokens). Every token is still
        sampled, in order, from the logits of the text before it; a guess only saves the
        evaluation when the sample equals it, and the KV cache of a wrong guess is dropped. So the
        text is what one-token-at-a-time decoding writes, greedy or sampled with a seed (up to the
        last bits of the logits, which a batch may round differently)."""
        out = b""
        generated: list[int] = []
        index = -1  # where the logits of the next position are
        guessed: list[int] = []  # evaluated guesses not yet reached
        try:
            while len(generated) < max_tokens:
                token = self.next_token(index)
                if self.lib.llama_vocab_is_eog(self.vocab, token):
                    return out.decode("utf-8", "ignore"), len(generated), "stop"
                out += self.llm.detokenize([token], prev_tokens=generated or None)
                generated.append(token)
                text = out.decode("utf-8", "ignore")
                hits = [text.index(s) for s in stop if s and s in text]
                if hits:
                    return text[: min(hits)], len(generated), "stop"
                if cancelled():
                    break
                if drafter is not None:
                    drafter.add(token)
                if guessed and guessed[0] == token:
                    guessed.pop(0)
                    index += 1
                    self.accepted += 1
                    continue
                self.llm.n_tokens -= len(guessed)  # a wrong guess: its cache goes
                guessed = []
                room = max_tokens - len(generated) - 1
                guess = drafter.propose(min(room, MAX_DRAFT)) if drafter is not None and room > 0 else []
                self._evaluate([token, *guess])
                guessed, index = guess, 0
                self.drafted += len(guess)
            return out.decode("utf-8", "ignore"), len(generated), "length"
        finally:
            self.llm.n_tokens -= len(guessed)


# Tokens guessed ahead at most: past about 8, a CPU batch costs nearly as much per token as one
# token alone (benchmarks/bench_grammar.py prints both ways).
MAX_DRAFT = 8


class Drafter:
    """Guesses what the model writes next from what came before (prompt lookup): the tokens
    that followed the longest run of what was just written, looked up in the grammar's literals
    (the fixed parts of a call: '", "target_device": "light.' after 'light.turn_off') and in the
    prompt and reply so far (entity ids, earlier calls). A guess from the prompt stops before a
    token that starts a new word: past an id the prompt goes on with its own text."""

    CONTEXT_NGRAM = 3
    FRAGMENT_NGRAM = 8

    def __init__(self, context: list[int], fragments: dict[tuple[int, ...], list[int]], word_starts: frozenset[int]) -> None:
        self.tokens = list(context)
        self.fragments, self.word_starts = fragments, word_starts
        self.follows: dict[tuple[int, ...], int] = {}  # n-gram -> where the tokens after its last occurrence start
        for end in range(len(self.tokens) - 1):
            self._index(end)

    @classmethod
    def index_fragments(cls, fragments: list[list[int]]) -> dict[tuple[int, ...], list[int]]:
        """n-gram -> the tokens that follow it in every fragment it occurs in (up to where
        they differ: after '{"' every call goes on with 'service": "', then the domain varies)."""
        found: dict[tuple[int, ...], list[int]] = {}
        for tokens in fragments:
            for end in range(len(tokens) - 1):
                after = tokens[end + 1 : end + 1 + MAX_DRAFT]
                for n in range(1, min(cls.FRAGMENT_NGRAM, end + 1) + 1):
                    gram = tuple(tokens[end + 1 - n : end + 1])
                    known = found.get(gram)
                    if known is None:
                        found[gram] = after
                    elif known:
                        same = 0
                        while same < min(len(known), len(after)) and known[same] == after[same]:
                            same += 1
                        found[gram] = known[:same]
        return found

    def _index(self, end: int) -> None:
        tokens = self.tokens
        for n in range(1, min(self.CONTEXT_NGRAM, end + 1) + 1):
            self.follows[tuple(tokens[end + 1 - n : end + 1])] = end + 1

    def add(self, token: int) -> None:
        self.tokens.append(token)
        self._index(len(self.tokens) - 2)

    def propose(self, count: int) -> list[int]:
        for n in range(min(self.FRAGMENT_NGRAM, len(self.tokens)), 0, -1):
            gram = tuple(self.tokens[-n:])
            if gram in self.fragments:
                return self.fragments[gram][:count]
            if n <= self.CONTEXT_NGRAM and gram in self.follows:
                at = self.follows[gram]
                guess = self.tokens[at : at + count]
                for i, token in enumerate(guess):
                    if token in self.word_starts:
                        return guess[:i]
                return guess
        return []


def grammar_fragments(llm, grammar: str) -> dict:
    tokens = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in grammar_literals(grammar)]
    return Drafter.index_fragments(tokens)


def word_start_tokens(llm) -> frozenset[int]:
    """Tokens that begin with a space or a newline."""
    return frozenset(t for t in range(llm.n_vocab()) if llm.detokenize([t], special=False)[:1] in (b" ", b"\n"))


def grammar_literals(grammar: str) -> list[str]:
    """The strings a GBNF grammar spells out: its quoted literals, read past character classes
    ([^"]) and comments; a literal JSON can't decode is skipped (a guess is only a guess)."""
    texts, i, n = [], 0, len(grammar)
    while i < n:
        c = grammar[i]
        if c in '"[':
            close, j = ('"' if c == '"' else "]"), i + 1
            while j < n and grammar[j] != close:
                j += 2 if grammar[j] == "\\" else 1
            if c == '"':
                try:
                    text = json.loads(grammar[i : j + 1])
                except ValueError:
                    text = ""
                if len(text) > 1:
                    texts.append(text)
            i = j + 1
        elif c == "#":
            i = grammar.find("\n", i) % (n + 1) + 1
        else:
            i += 1
    return list(dict.fromkeys(texts))


def reusable_prefix(llm, tokens: list[int]) -> int:
    """Prompt tokens whose KV cache entries survive from the previous request.

    Mirrors Llama.generate(): the longest common prefix with the tokens already
    evaluated, at most all but the last prompt token (which is re-evaluated to
    get fresh logits).
    """
    return min(common_prefix(llm, tokens), len(tokens) - 1)


def common_prefix(llm, tokens: list[int]) -> int:
    """How many of tokens begin the tokens already evaluated (and in the KV cache)."""
    previous = llm.input_ids[: llm.n_tokens].tolist()
    common = 0
    for old, new in zip(previous, tokens, strict=False):
        if old != new:
            break
        common += 1
    return common


def default_threads() -> int:
    """All usable cores but one, which stays free for Home Assistant.

    llama.cpp's threads spin-wait for each other after every operation: when
    another process takes the core of one of them, all stall. SmolLM2-135M on
    2 cores with one other busy process: 2 threads generate 30 tokens/s,
    1 thread 69 (on an idle machine 115 and 72).
    """
    return max(1, (os.process_cpu_count() or 1) - 1)


def check_gguf(path: str, what: str) -> None:
    """Fail early, with a clear message, on files llama.cpp would reject."""
    try:
        with open(path, "rb") as file:
            magic = file.read(4)
    except FileNotFoundError:
        raise RequestError(f"{what} file not found: {path}") from None
    except OSError as err:
        raise RequestError(f"cannot read {what} file {path}: {err.strerror}") from None
    if magic != b"GGUF":
        raise RequestError(f"{what} file {path} is not a GGUF file (it starts with {magic!r}, not b'GGUF')")


def read_requests(stdin: BinaryIO, requests: queue.Queue, cancellations: Cancellations) -> None:
    """Reader thread: queue each request, apply cancel notices at once; None at EOF.

    Reading on while a request runs is what lets a cancel reach a running generation.
    """
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as err:
            requests.put(err)
            continue
        if isinstance(request, dict) and request.get("op") == "cancel":
            cancellations.cancel(request.get("target"))
        else:
            requests.put(request)
    requests.put(None)


def serve(worker: Worker, request: Any) -> dict[str, Any]:
    """The reply to one request, never raising."""
    request_id = request.get("id") if isinstance(request, dict) else None
    try:
        if isinstance(request, Exception):
            raise RequestError(f"not a JSON request: {request}")
        if not isinstance(request, dict):
            raise RequestError("a request must be a JSON object")
        if worker.cancellations.is_cancelled(request_id):
            raise RequestCancelled
        return {"id": request_id, "ok": True, **worker.handle(request)}
    except RequestCancelled:
        return {"id": request_id, "ok": False, "cancelled": True, "error": "cancelled by the client"}
    except RequestError as err:
        return {"id": request_id, "ok": False, "error": str(err)}
    except Exception as err:  # a bug or llama.cpp error: report it, keep serving
        return {"id": request_id, "ok": False, "error": f"{type(err).__name__}: {err}"}
    finally:
        worker.cancellations.answered(request_id)


def main() -> int:
    protocol = take_stdout()
    # On SIGSEGV, SIGILL, SIGABRT...: a Python traceback on stderr, for the crash log.
    faulthandler.enable()
    # Home Assistant ends the worker by closing stdin; Ctrl+C in a terminal
    # running HA must not kill the worker in the middle of a reply.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = Worker()
    requests: queue.Queue = queue.Queue()
    threading.Thread(target=read_requests, args=(sys.stdin.buffer, requests, worker.cancellations), daemon=True).start()
    while (request := requests.get()) is not None:
        protocol.write(json.dumps(serve(worker, request)).encode("utf-8") + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
