#!/usr/bin/env python3
"""Synthetic training and test data for Home LLM.

    python data/generate_data.py [--seed 0] [--train-size 20000] [--test-size 2000]
                                 [--out data/output] [--language en] [--preset home_llm]
                                 [--requests-per-home 1] [--train-share CATEGORY=SHARE ...]

Writes <out>/train.jsonl, <out>/test.jsonl and <out>/stats.json, and prints the per-category
table. Every line is one chat (system, user, assistant messages rendered by the integration's
own format module) plus its structured truth in the evaluator's case-file format. Same seed,
same bytes. See data/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from home_llm_core import home_format
from homegen.dataset import Config, category_weights, generate
from homegen.splits import SPLITS
from homegen.stats import SplitStats, table

DEFAULT_OUT = Path(__file__).resolve().parent / "output"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--train-size", type=int, default=20000, help="training examples (default 20000)")
    parser.add_argument("--test-size", type=int, default=2000, help="test examples (default 2000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default data/output/)")
    parser.add_argument("--language", default="en", help="piles to use: data/piles/<language>/ (default en)")
    parser.add_argument(
        "--preset",
        default=home_format.DEFAULT_PRESET,
        choices=sorted(home_format.PRESETS),
        help="prompt format (default home_llm)",
    )
    parser.add_argument(
        "--requests-per-home",
        type=int,
        default=1,
        help="training requests that share one rendered home, for packed training (default 1; the test split always 1)",
    )
    parser.add_argument(
        "--train-share",
        action="append",
        default=[],
        metavar="CATEGORY=SHARE",
        help="a category's share of the training split, e.g. refusal=0.15 (repeatable; the others are "
        "scaled to fill the rest; the test split always keeps the standard shares)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores); the output doesn't depend on it"
    )
    return parser.parse_args(argv)


def _shares(pairs: list[str]) -> tuple[tuple[str, float], ...]:
    shares = []
    for pair in pairs:
        name, _, share = pair.partition("=")
        try:
            shares.append((name.strip(), float(share)))
        except ValueError:
            raise SystemExit(f"--train-share wants CATEGORY=SHARE, e.g. refusal=0.15; got {pair!r}") from None
    return tuple(shares)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.requests_per_home < 1:
        raise SystemExit("--requests-per-home must be at least 1")
    config = Config(seed=args.seed, language=args.language, preset=args.preset)
    train_config = replace(config, requests_per_home=args.requests_per_home, category_shares=_shares(args.train_share))
    try:
        category_weights(train_config)
    except ValueError as error:
        raise SystemExit(f"--train-share: {error}") from None
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stats = {}
    for split, size in zip(SPLITS, (args.train_size, args.test_size), strict=True):
        stats[split] = SplitStats()
        with (args.out / f"{split}.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
            # Test homes stay one per request: every case is scored on a home of its own.
            split_config = train_config if split == "train" else config
            for line, summary in generate(split_config, split, size, args.workers):
                handle.write(line + "\n")
                stats[split].add(summary)
    report = {
        "seed": args.seed,
        "language": args.language,
        "preset": args.preset,
        **({"requests_per_home": args.requests_per_home} if args.requests_per_home > 1 else {}),
        **({"train_shares": dict(train_config.category_shares)} if train_config.category_shares else {}),
        "splits": {name: s.as_dict() for name, s in stats.items()},
    }
    (args.out / "stats.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elapsed = time.perf_counter() - started
    print(table(stats))
    total = sum(s.examples for s in stats.values())
    print(f"wrote {total} examples to {args.out} in {elapsed:.1f}s ({total / max(elapsed, 1e-9):.0f}/s, {args.workers} workers)")
    return report


if __name__ == "__main__":
    main()
