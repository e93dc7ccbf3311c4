"""Merge a LoRA adapter into its GGUF base once, into a quantization llama.cpp runs fast.

An adapter applied at run time costs every token two extra small matrix products per layer,
and the bundled base is Q4_1, which has no fast path on x86 or ARM; Q8_0 and Q4_0 have. So at
set-up the integration writes base + adapter as one file: each weight the adapter touches is
dequantized, W + (alpha / r) * B @ A added, and the result quantized to the chosen type; the
other weights keep their type, except the base's Q4_1 layers, which are re-quantized too.

Run as a script (``python merge_lora.py BASE ADAPTER OUT --type q8_0``), like worker.py, so that
its memory (the float32 copy of one layer at a time) and any crash stay out of Home Assistant.
It prints one line per weight written ("progress DONE TOTAL") and needs numpy and gguf only.
The output is written beside OUT and renamed into place when complete.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize, quantize

TYPES = {"q8_0": GGMLQuantizationType.Q8_0, "q4_0": GGMLQuantizationType.Q4_0, "f16": GGMLQuantizationType.F16}
# llama.cpp's general.file_type for each (LLAMA_FTYPE_MOSTLY_*).
FILE_TYPES = {"q8_0": 7, "q4_0": 2, "f16": 1}
# Base weight types that are re-quantized even where the adapter doesn't touch them: slow on CPUs.
REQUANTIZE = {GGMLQuantizationType.Q4_1, GGMLQuantizationType.Q5_1}


class MergeError(Exception):
    pass


def merged_name(base: Path, adapter: Path, kind: str = "q8_0") -> str:
    """The file name of a merge: the adapter's name and a digest of what went into it (blocking:
    reads the adapter), so a changed adapter or base gets a new file."""
    digest = hashlib.sha256()
    digest.update(f"{base.name}:{base.stat().st_size}:{kind}:".encode())
    digest.update(adapter.read_bytes())
    return f"{adapter.stem}.{digest.hexdigest()[:12]}.{kind}.gguf"


def _adapter_pairs(adapter: GGUFReader) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float | None]:
    """{base weight name: (A as (r, in), B as (out, r))}, and the adapter's alpha."""
    if str(adapter.fields["general.type"].contents()) != "adapter":
        raise MergeError("the adapter file is not a GGUF adapter (general.type is not 'adapter')")
    alpha_field = adapter.fields.get("adapter.lora.alpha")
    parts: dict[str, dict[str, np.ndarray]] = {}
    for tensor in adapter.tensors:
        weight, _, part = tensor.name.rpartition(".lora_")
        if part not in ("a", "b"):
            raise MergeError(f"unexpected tensor {tensor.name} in the adapter")
        parts.setdefault(weight, {})[part] = dequantize(tensor.data, tensor.tensor_type).reshape(tensor.data.shape[0], -1)
    pairs = {}
    for weight, ab in parts.items():
        if set(ab) != {"a", "b"}:
            raise MergeError(f"the adapter has only lora_{next(iter(ab))} for {weight}")
        pairs[weight] = (ab["a"], ab["b"])
    return pairs, float(alpha_field.contents()) if alpha_field else None


def _copy_metadata(base: GGUFReader, writer: GGUFWriter, file_type: int) -> None:
    for field in base.fields.values():
        if field.name.startswith("GGUF.") or field.name in ("general.architecture", "general.file_type"):
            continue
        main = field.types[0]
        sub = field.types[-1] if main == GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), main, sub_type=sub)
    writer.add_key_value("general.file_type", file_type, GGUFValueType.UINT32)


def merge(base_path: Path, adapter_path: Path, out_path: Path, kind: str = "q8_0", progress=None) -> None:
    target = TYPES[kind]
    base, adapter = GGUFReader(base_path), GGUFReader(adapter_path)
    pairs, alpha = _adapter_pairs(adapter)
    names = {t.name for t in base.tensors}
    if missing := sorted(set(pairs) - names):
        raise MergeError(f"the adapter changes weights the base does not have ({', '.join(missing[:3])}): not its base model")
    architecture = str(base.fields["general.architecture"].contents())
    partial = out_path.with_name(out_path.name + ".partial")
    writer = GGUFWriter(partial, architecture)
    _copy_metadata(base, writer, FILE_TYPES[kind])
    for done, tensor in enumerate(base.tensors, 1):
        kind_in = tensor.tensor_type
        if tensor.name in pairs or kind_in in REQUANTIZE:
            weight = dequantize(tensor.data, kind_in).astype(np.float32)
            if tensor.name in pairs:
                a, b = pairs[tensor.name]
                scale = (alpha or a.shape[0]) / a.shape[0]
                weight = weight + scale * (b.astype(np.float32) @ a.astype(np.float32))
            # A row length that isn't a whole number of blocks stays in float16.
            chosen = target if weight.shape[-1] % 32 == 0 else GGMLQuantizationType.F16
            writer.add_tensor(tensor.name, quantize(weight, chosen), raw_dtype=chosen)
        else:
            writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=kind_in)
        if progress:
            progress(done, len(base.tensors))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(partial, out_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("adapter", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--type", choices=sorted(TYPES), default="q8_0")
    args = parser.parse_args(argv)
    try:
        merge(args.base, args.adapter, args.out, args.type, lambda d, t: print(f"progress {d} {t}", flush=True))
    except (MergeError, OSError, KeyError, ValueError) as err:
        print(f"error {err}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
