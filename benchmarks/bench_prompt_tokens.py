"""Prompt size per format: tokens of the system prompt and per device line, for generated homes
of 10, 50 and 107 devices, in the v1 format (home_llm) beside v2 (home_llm_v2) and Home v3.

Homes come from the data generator (seed fixed); one larger than the generator makes is the
union of several. Tokens are counted by the bundled model's own tokenizer (llama.cpp, in the
worker process), as the agent's prompt is.

    .venv/bin/python benchmarks/bench_prompt_tokens.py [--sizes 10 50 107] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import replace
from datetime import datetime

from home_llm_core.defaults import bundled_model_path
from home_llm_core.home_format import Entity, Home, in_prompt_order, render_system_prompt
from home_llm_core.worker_client import ModelWorker
from homegen.homes import build_home
from homegen.piles import load_piles
from homegen.splits import view

PRESETS = ("home_llm", "home_llm_v2", "home_v3")
NOW = datetime(2026, 11, 26, 20, 30)


def home_of_size(size: int, seed: int) -> Home:
    """A generated home with exactly `size` devices (homes merged, ids kept unique)."""
    rng = random.Random(seed)
    pile_view = view(load_piles("en"), "train")
    entities: dict[str, Entity] = {}
    floors: dict[str, str] = {}
    while len(entities) < size:
        home = build_home(rng, pile_view, "bench", NOW).home
        floors.update(home.floors)
        for entity in home.entities:
            entity_id = entity.entity_id
            while entity_id in entities:
                entity_id += "_2"
            entities[entity_id] = replace(entity, entity_id=entity_id)
            if len(entities) == size:
                break
    return Home(in_prompt_order(entities.values()), floors=floors)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 107])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    worker = ModelWorker(str(bundled_model_path()), n_ctx=512)
    await worker.start()
    try:
        print(f"{'devices':>8} {'format':<12} {'prompt tokens':>14} {'per device':>11} {'fixed part':>11}")
        for size in args.sizes:
            home = home_of_size(size, args.seed)
            empty = Home((), floors=home.floors)
            for preset in PRESETS:
                total = await worker.count_tokens(render_system_prompt(home, now=NOW, preset=preset))
                fixed = await worker.count_tokens(render_system_prompt(empty, now=NOW, preset=preset))
                print(f"{size:>8} {preset:<12} {total:>14} {(total - fixed) / size:>11.1f} {fixed:>11}")
    finally:
        await worker.stop()


if __name__ == "__main__":
    asyncio.run(main())
