"""Training speed, recipe beside recipe on this machine in one run: how many examples per second
train.py trains, and the held-out loss each recipe reaches after the same number of examples.

    .venv-training/bin/python benchmarks/bench_training.py [--examples 48] [--threads 2]

Recipes, each a short train.py run on the bundled SmolLM2-135M with LoRA (the v2 run's settings):
- v1: the v1 format (data/output/train.jsonl), one example per sequence, logits everywhere: Home
  LLM 135M v1's recipe;
- v2 unpacked: the v2 format (data/output/v2/train.jsonl), otherwise as v1;
- v2 packed: the v2 format with shared-prefix packing and the LM head only where loss is taken:
  Home LLM 135M v2.1's recipe (training/configs/home-llm-v2.1-cpu.json, data written 32 requests
  per home).
The two v2 recipes are scored on the same held-out v2 examples. The data comes from
data/generate_data.py (the commands are in training/README.md). Time spent loading the model and
evaluating is not counted; other busy processes on the machine are, so run it on idle cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
V1_DATA, V2_DATA = REPO / "data/output/train.jsonl", REPO / "data/output/v2-32/train.jsonl"
V2_HELD_OUT = REPO / "data/output/v2-32/test.jsonl"

# What all recipes share: the v2 run's LoRA and optimiser settings, no export.
COMMON = ["--base", "bundled", "--lora-r", "16", "--lora-alpha", "32", "--lr", "1e-3", "--warmup-steps", "2", "--export", "none",
          "--precision", "fp32"]  # fmt: skip


def run_recipe(name: str, flags: list[str], steps: int, threads: int, out: Path) -> dict:
    folder = out / name.replace(" ", "-")
    command = [sys.executable, "training/train.py", *COMMON, *flags, "--steps", str(steps), "--threads", str(threads)]
    # Meant for idle cores, where spinning OpenMP threads are faster than sleeping ones.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "ACTIVE")}
    command += ["--out", str(folder), "--overwrite", "--eval-every", str(steps), "--save-every", str(steps)]
    print(f"{name}: {' '.join(command[1:])}", flush=True)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads((folder / "run.json").read_text())


def head(path: Path, lines: int, out: Path) -> Path:
    part = out / f"{path.parent.name}-{path.name}"
    with open(path, encoding="utf-8") as source:
        part.write_text("".join(line for _, line in zip(range(lines), source, strict=False)), encoding="utf-8")
    return part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=48, help="examples each v2 recipe trains on (v1: a quarter)")
    parser.add_argument("--held-out", type=int, default=20, help="held-out v2 examples scored after the v2 recipes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-lines", type=int, default=1000, help="training examples each recipe draws from")
    args = parser.parse_args()
    for path in (V1_DATA, V2_DATA, V2_HELD_OUT):
        if not path.is_file():
            raise SystemExit(f"{path} is missing: generate it first (training/README.md)")

    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        out = Path(tmp)
        # The first lines of each file: enough to draw from, quick to encode (a home's requests are adjacent).
        v1_data, v2_data = head(V1_DATA, args.data_lines, out), head(V2_DATA, args.data_lines, out)
        v2_flags = [
            "--data",
            str(v2_data),
            "--eval-data",
            str(V2_HELD_OUT),
            "--eval-max",
            str(args.held_out),
            "--max-len",
            "2048",
        ]
        # v1's examples are slow: a quarter as many are enough for its rate.
        v1 = run_recipe(
            "v1",
            ["--data", str(v1_data), "--eval-fraction", "0", "--max-len", "2048", "--batch-size", "1", "--grad-accum", "4",
             "--no-sliced-head"],
            max(1, args.examples // 16), args.threads, out,
        )  # fmt: skip
        unpacked = run_recipe(
            "v2 unpacked",
            [*v2_flags, "--batch-size", "1", "--grad-accum", "4", "--no-sliced-head"],
            max(1, args.examples // 4),
            args.threads,
            out,
        )
        # A packed sequence holds about as many examples as the data's rows say: steps for the same count.
        probe = run_recipe(
            "v2 packed (probe)", [*v2_flags, "--pack", "--pack-len", "3072", "--eval-max", "0"], 1, args.threads, out
        )
        per_row = probe["data"]["train_examples"] / probe["data"]["packed"]["rows"]
        packed = run_recipe(
            "v2 packed",
            [*v2_flags, "--pack", "--pack-len", "3072", "--batch-size", "1", "--grad-accum", "2"],
            max(1, math.ceil(args.examples / (2 * per_row))),
            args.threads,
            out,
        )

    print()
    print(f"{'recipe':<14}{'examples':>9}{'s':>8}{'examples/s':>12}{'tokens/s':>10}{'tokens/example':>16}{'held-out loss':>15}")
    for name, run in (("v1", v1), ("v2 unpacked", unpacked), ("v2 packed", packed)):
        examples = run["examples_per_second"] * run["train_seconds"]
        tokens_per_example = run["tokens_per_second"] / max(run["examples_per_second"], 1e-9)
        held_out = f"{run['evals'][0]['loss']:.3f} -> {run['evals'][-1]['loss']:.3f}" if len(run["evals"]) > 1 else "-"
        print(
            f"{name:<14}{examples:>9.0f}{run['train_seconds']:>8.0f}{run['examples_per_second']:>12.3f}"
            f"{run['tokens_per_second']:>10}{tokens_per_example:>16.0f}{held_out:>15}"
        )
    print(
        f"\nv2 packed trains {packed['examples_per_second'] / v1['examples_per_second']:.1f}x the examples per second of v1, "
        f"{packed['examples_per_second'] / unpacked['examples_per_second']:.1f}x those of v2 unpacked "
        f"({per_row:.1f} examples per packed sequence)"
    )


if __name__ == "__main__":
    main()
