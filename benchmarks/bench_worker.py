"""Benchmark of the model worker with the real model.

Prints the prompt processing time of a ~2000-token prompt without KV cache
reuse (cold: its beginning changed) and with it (warm: only the user's
question at the end changed), then generation speed after a short and after
the long prompt, with and without a grammar.

    .venv/bin/python benchmarks/bench_worker.py [--model PATH] [--threads N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from home_llm_core.defaults import BundledModelMissingError, bundled_model_path
from home_llm_core.worker_client import ModelWorker


def default_model() -> str:
    try:
        return str(bundled_model_path())
    except BundledModelMissingError as err:
        sys.exit(f"{err} (or run scripts/bootstrap.sh)")


def chatml(system: str, user: str) -> str:
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def system_prompt(header: str, entities: int) -> str:
    lines = [
        header,
        "You control a smart home. Answer briefly. These are the devices:",
        *(
            f"light.room_{i}_ceiling 'Room {i} ceiling light' = {'on' if i % 3 else 'off'}, brightness {i * 7 % 100}%"
            for i in range(entities)
        ),
    ]
    return "\n".join(lines)


async def sized_system_prompt(worker, target_tokens: int) -> int:
    """Number of entity lines that makes the whole prompt about target_tokens."""
    entities = 10
    while True:
        prompt = chatml(system_prompt("Current time: 10:00", entities), "Turn on room 1.")
        tokens = await worker.count_tokens(prompt)
        if tokens >= target_tokens:
            return entities
        entities = max(entities + 1, int(entities * target_tokens / tokens))


def report(label: str, results) -> None:
    stats = [r.stats for r in results]
    seconds = statistics.median(s["prompt_seconds"] for s in stats)
    evaluated = statistics.median(s["prompt_tokens"] - s["cached_tokens"] for s in stats)
    print(
        f"  {label:<6} prompt {stats[0]['prompt_tokens']:5d} tokens, "
        f"{statistics.median(s['cached_tokens'] for s in stats):6.0f} cached: "
        f"{seconds * 1000:7.1f} ms to first token "
        f"({evaluated / seconds:6.0f} evaluated tokens/s)"
    )


def report_generation(label: str, results) -> None:
    tokens = sum(r.stats["completion_tokens"] for r in results)
    seconds = sum(r.stats["generate_seconds"] for r in results)
    print(f"  {label:<24} {tokens:4d} tokens in {seconds:5.2f} s: {tokens / seconds:6.1f} tokens/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="GGUF file (default: SmolLM2-135M)")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=2000)
    args = parser.parse_args()

    worker = ModelWorker(args.model or default_model(), n_ctx=4096, n_threads=args.threads)
    started = time.perf_counter()
    await worker.start()
    print(
        f"model {worker.metadata.get('general.name')}, threads {args.threads or 'default (all cores but one)'}, "
        f"worker pid {worker.pid}: started and loaded in {time.perf_counter() - started:.2f} s"
    )
    try:
        entities = await sized_system_prompt(worker, args.prompt_tokens)
        questions = ["Turn on room 1.", "Is room 2 on?", "Dim room 3 to 20%.", "Turn off all lights."]
        cold, warm = [], []
        for round_ in range(args.rounds):
            # A changed first line (the current time) invalidates the whole cache.
            system = system_prompt(f"Current time: 10:{round_:02d}", entities)
            cold.append(await worker.generate(chatml(system, questions[0]), max_tokens=1))
            warm.append(await worker.generate(chatml(system, questions[1 + round_ % 3]), max_tokens=1))
        print(f"prompt processing, median of {args.rounds}:")
        report("cold", cold)
        report("warm", warm)

        counting = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"
        short = [await worker.generate(counting, max_tokens=128, temperature=0) for _ in range(3)]
        # After the long prompt (cached), free and tool-call shaped constrained answers.
        grammar = (
            r'root ::= "{\"action\": \"" ("turn_on" | "turn_off") "\", \"entity\": \"light.room_" [0-9]+ '
            r'"_ceiling\", \"say\": \"" [a-zA-Z ,.]+ "\"}"'
        )
        system = system_prompt("Current time: 11:00", entities)
        await worker.generate(chatml(system, questions[0]), max_tokens=1)
        free, constrained = [], []
        for question in questions:
            prompt = chatml(system, question)
            free.append(await worker.generate(prompt, max_tokens=64, temperature=0))
            constrained.append(await worker.generate(prompt, grammar=grammar, max_tokens=64, temperature=0))
        print("generation (completion tokens / time after the first token):")
        report_generation("short prompt, free", short)
        report_generation("long prompt, free", free)
        report_generation("long prompt, grammar", constrained)
        print(f"  example grammar output: {constrained[0].text}")
    finally:
        await worker.stop()


if __name__ == "__main__":
    asyncio.run(main())
