"""Speed of the synthetic data generator (data/generate_data.py).

Generates and writes N training examples the way the CLI does (to a temporary file) and
prints the rate and the CPU time per example, once with one process and once with all
workers. The target: 50,000 examples in under a minute on 2 cores. (On a busy machine the
wall time stretches; the CPU time doesn't.)

    python benchmarks/bench_data.py [--examples 50000] [--workers 2] [--preset home_llm] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from homegen.dataset import Config, generate


def cpu_seconds() -> float:
    """CPU time of this process and its finished workers (load on the machine doesn't change it)."""
    return sum(
        r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def timed_run(config: Config, examples: int, workers: int) -> tuple[float, float, int]:
    """Wall seconds and CPU seconds to generate and write the examples, and the bytes written."""
    with tempfile.TemporaryFile("w", encoding="utf-8") as handle:
        started, cpu = time.perf_counter(), cpu_seconds()
        for line, _ in generate(config, "train", examples, workers):
            handle.write(line + "\n")
        return time.perf_counter() - started, cpu_seconds() - cpu, handle.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--preset", default="home_llm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--single", type=int, default=5000, help="examples for the one-process run (0 skips it)")
    args = parser.parse_args()
    config = Config(seed=args.seed, preset=args.preset)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, preset {args.preset}")
    runs = [(args.single, 1)] if args.single else []
    runs.append((args.examples, args.workers))
    for examples, workers in runs:
        elapsed, cpu, size = timed_run(config, examples, workers)
        print(
            f"{examples:>7} examples, {workers} process{'es' if workers > 1 else ''}: {elapsed:6.1f} s, "
            f"{examples / elapsed:6.0f} examples/s, {1000 * cpu / examples:.2f} ms CPU per example, "
            f"{size / examples / 1024:.1f} KiB per line"
        )
    # On an idle machine the workers share the CPU time; other load only stretches the wall time.
    print(f"CPU time for {args.examples} examples spread over 2 idle cores: {cpu / 2:.0f} s")


if __name__ == "__main__":
    main()
