#!/usr/bin/env python
"""Export a training run as GGUF with llama.cpp's own converters.

    python training/export_gguf.py training/output/RUN adapter                 # the LoRA adapter
    python training/export_gguf.py training/output/RUN merged --outtype q8_0   # base + adapter in one file
    python training/export_gguf.py training/output/RUN merged --quantize q4_k_m

train.py calls this at the end of a run; run it again to export a run differently. The
converters (convert_lora_to_gguf.py, convert_hf_to_gguf.py and their gguf-py) come from the
llama-cpp-python 0.3.36 source archive, the llama.cpp the integration runs;
scripts/bootstrap_training.sh unpacks them into ~/.cache/home-llm/llama.cpp-0.3.36.

- adapter: RUN/home-llm-lora.<outtype>.gguf, loaded by llama.cpp on top of the base GGUF
  (the integration's lora_path; `Llama(model_path=base, lora_path=adapter)`).
- merged: RUN/home-llm.<outtype>.gguf, one standalone model; --quantize then writes
  RUN/home-llm.<type>.gguf with the integration's own llama.cpp (llama_model_quantize from
  llama-cpp-python in the Home Assistant venv, .venv), as converters stop at q8_0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = Path(os.environ.get("HOME_LLM_CACHE", Path.home() / ".cache" / "home-llm"))
LLAMA_CPP_PYTHON_VERSION = "0.3.36"  # as pinned by the integration (custom_components/home_llm/manifest.json)
CONVERTER_OUTTYPES = ["f32", "f16", "bf16", "q8_0"]
# Tokenizer facts that must survive a merged export unchanged: the integration tokenizes with them.
TOKENIZER_KEYS = (
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.chat_template",
)
WEIGHT_FILES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".index.json")


def converters_dir() -> Path:
    folder = Path(os.environ.get("HOME_LLM_LLAMA_CPP") or CACHE_DIR / f"llama.cpp-{LLAMA_CPP_PYTHON_VERSION}")
    if not (folder / "convert_hf_to_gguf.py").is_file():
        raise SystemExit(f"llama.cpp's converters are not in {folder}: run scripts/bootstrap_training.sh")
    return folder


def run_converter(script: str, arguments: list, log: Path) -> None:
    """Runs one of llama.cpp's scripts with this interpreter; its chatter goes to a log file."""
    command = [sys.executable, str(converters_dir() / script), *map(str, arguments)]
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        tail = "".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[-20:])
        raise SystemExit(f"{script} failed (exit {done.returncode}); end of {log}:\n{tail}")


def local_folder(base: str) -> Path:
    """A base given by Hugging Face name lives in the hub cache since training downloaded it."""
    if Path(base).is_dir():
        return Path(base)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(base))


def copy_tokenizer(base_folder: Path, dest: Path) -> None:
    """The base's tokenizer files as they are (re-saving through transformers can change them)."""
    for f in base_folder.iterdir():
        if f.is_file() and not f.name.endswith(WEIGHT_FILES) and f.name not in ("config.json", "generation_config.json"):
            shutil.copy2(f, dest / f.name)


def merge_adapter(adapter_dir: Path, base_folder: Path, dest: Path) -> Path:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    model.save_pretrained(dest)
    copy_tokenizer(base_folder, dest)
    return dest


def tokenizer_differences(exported: Path, source_gguf: str | None) -> list[str]:
    """Keys where the export's tokenizer differs from the base GGUF's (none is the goal)."""
    if not source_gguf:
        return []
    from gguf import GGUFReader

    def facts(path):
        fields = GGUFReader(path).fields
        return {k: fields[k].contents() if k in fields else None for k in TOKENIZER_KEYS}

    a, b = facts(source_gguf), facts(exported)
    return [k for k in TOKENIZER_KEYS if a[k] != b[k]]


def quantize(src: Path, dest: Path, qtype: str) -> None:
    python = os.environ.get("HOME_LLM_VENV_PY") or str(REPO / ".venv" / "bin" / "python")
    code = (
        "import sys, llama_cpp as l\n"
        "p = l.llama_model_quantize_default_params()\n"
        "p.ftype = getattr(l, 'LLAMA_FTYPE_MOSTLY_' + sys.argv[3].upper())\n"
        "sys.exit(l.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), p))\n"
    )
    if not Path(python).exists():
        raise SystemExit(f"--quantize runs llama.cpp from the Home Assistant venv; {python} is missing (scripts/bootstrap.sh)")
    done = subprocess.run([python, "-c", code, str(src), str(dest), qtype], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"quantizing to {qtype} failed: {done.stderr[-2000:]}")


def export_run(run_dir: Path, kinds: list[str], outtype: str = "f16", quantize_to: str | None = None) -> list[dict]:
    """Exports run_dir (made by train.py) as GGUF; returns one record per file written."""
    base = json.loads((run_dir / "base.json").read_text())
    base_folder = local_folder(base["base_folder"])
    adapter_dir, model_dir = run_dir / "adapter", run_dir / "model"
    log = run_dir / "export.log"
    exports = []

    def record(kind: str, path: Path, started: float, **extra) -> None:
        exports.append(
            {"kind": kind, "path": str(path), "bytes": path.stat().st_size, "seconds": round(time.time() - started, 1), **extra}
        )

    for kind in kinds:
        started = time.time()
        if kind == "adapter":
            if not adapter_dir.is_dir():
                raise SystemExit(f"{run_dir} has no LoRA adapter (a full fine-tune exports 'merged')")
            path = run_dir / f"home-llm-lora.{outtype}.gguf"
            run_converter(
                "convert_lora_to_gguf.py", ["--base", base_folder, "--outtype", outtype, "--outfile", path, adapter_dir], log
            )
            record("adapter", path, started, base_gguf=base.get("base_gguf"))
        elif kind == "merged":
            path = run_dir / f"home-llm.{outtype}.gguf"
            if model_dir.is_dir():
                run_converter("convert_hf_to_gguf.py", [model_dir, "--outtype", outtype, "--outfile", path], log)
            else:  # the merged float32 model is only a step on the way: a temporary folder
                with tempfile.TemporaryDirectory(dir=run_dir, prefix="merged-") as tmp:
                    merged = merge_adapter(adapter_dir, base_folder, Path(tmp))
                    run_converter("convert_hf_to_gguf.py", [merged, "--outtype", outtype, "--outfile", path], log)
            differences = tokenizer_differences(path, base.get("base_gguf"))
            if differences:
                print(f"WARNING: the merged GGUF's tokenizer differs from the base GGUF's in {differences}", flush=True)
            record("merged", path, started, tokenizer_differences=differences)
            if quantize_to:
                started = time.time()
                qpath = run_dir / f"home-llm.{quantize_to.lower()}.gguf"
                quantize(path, qpath, quantize_to)
                record("quantized", qpath, started, type=quantize_to)
        else:
            raise SystemExit(f"unknown export {kind!r}")
    return exports


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Export a train.py run as GGUF.")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("kinds", nargs="+", choices=["adapter", "merged"])
    parser.add_argument("--outtype", default="f16", choices=CONVERTER_OUTTYPES)
    parser.add_argument("--quantize", help="after a merged export, e.g. q4_k_m, q5_k_m, q4_0")
    args = parser.parse_args()
    if args.quantize and args.outtype not in ("f32", "f16", "bf16"):
        parser.error("--quantize starts from --outtype f16, bf16 or f32 (llama.cpp does not requantize q8_0)")
    for e in export_run(args.run_dir, args.kinds, args.outtype, args.quantize):
        print(f"{e['kind']}: {e['path']} ({e['bytes'] / 1e6:.1f} MB, {e['seconds']} s)")
