#!/usr/bin/env python3
"""One LoRA adapter (GGUF) whose weight change is a weighted mean of two adapters' changes.

    python training/interpolate_adapters.py FIRST.lora.gguf SECOND.lora.gguf --weight 0.5 --out MEAN.lora.gguf

For adapters of one base, a LoRA's change to a weight W is scale * B @ A (scale = alpha / rank).
w * B1 @ A1 + (1 - w) * B2 @ A2 is itself a LoRA of twice the rank: A = [A1; A2] stacked and
B = [w * B1, (1 - w) * B2] side by side, with alpha doubled to keep the scale. So the mean is
exact, not an approximation, and runs wherever the adapters run (llama.cpp, the merge at set-up).
Used to weigh a further training stage against the adapter it started from (weight-space
ensembling of a fine-tune with its starting point: it can keep what the stage learned while
keeping more of what it lost).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFWriter

_ALPHA = "adapter.lora.alpha"


def _read(path: Path) -> tuple[GGUFReader, dict[str, np.ndarray], float]:
    reader = GGUFReader(path)
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    alpha = float(reader.fields[_ALPHA].parts[reader.fields[_ALPHA].data[0]][0])
    return reader, tensors, alpha


def interpolate(first: Path, second: Path, weight: float, out: Path) -> None:
    if not 0.0 <= weight <= 1.0:
        raise SystemExit(f"--weight must be between 0 and 1, not {weight}")
    reader, one, alpha_one = _read(first)
    _, two, alpha_two = _read(second)
    if one.keys() != two.keys():
        raise SystemExit(f"{first} and {second} adapt different tensors")
    ranks = {one[n].shape[0] for n in one if n.endswith(".lora_a")} | {two[n].shape[0] for n in two if n.endswith(".lora_a")}
    if len(ranks) != 1 or alpha_one != alpha_two:
        raise SystemExit("both adapters need the same rank and alpha")
    rank = ranks.pop()
    arch = bytes(reader.fields["general.architecture"].parts[reader.fields["general.architecture"].data[0]]).decode()
    writer = GGUFWriter(out, arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32(_ALPHA, 2 * alpha_one)
    for name, a in one.items():
        if name.endswith(".lora_a"):
            merged = np.concatenate([a, two[name]], axis=0)
        elif name.endswith(".lora_b"):
            merged = np.concatenate([weight * one[name].astype(np.float32), (1 - weight) * two[name].astype(np.float32)], axis=1)
        else:
            raise SystemExit(f"unexpected tensor {name}")
        writer.add_tensor(name, merged.astype(a.dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {out}: rank {2 * rank}, {weight:g} x {first.name} + {1 - weight:g} x {second.name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--weight", type=float, default=0.5, help="the first adapter's share (default 0.5)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    interpolate(args.first, args.second, args.weight, args.out)


if __name__ == "__main__":
    main()
