"""A LoRA adapter in llama.cpp's GGUF form, read back as PEFT weights.

Only the .lora.gguf of a run is committed (the PEFT folder is large), so training on from a shipped
adapter (train.py --init-adapter some.lora.gguf) reads it back: the tensor names are llama.cpp's
for the layers PEFT targets, and llama-family models had their q/k rows interleaved for llama.cpp's
rope when they were converted, which is undone here. The weights were stored in f16 or f32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# llama.cpp's tensor names for the modules train.py puts LoRA on, per architecture family.
MODULES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
# Model types whose GGUF conversion interleaves the q/k rows (convert_hf_to_gguf.py's LlamaModel).
ROPE_PERMUTED = {"llama"}
# The families checked against their PEFT weights (others may differ in names or row order).
SUPPORTED = ROPE_PERMUTED | {"gemma3", "gemma3_text"}


def unpermute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """The inverse of llama.cpp's permute(): its (head, 2, half) row order back to (head, half, 2)."""
    return rows.reshape(n_head, rows.shape[0] // n_head // 2, 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def read_lora_gguf(path: Path, model_type: str, n_head: int, n_head_kv: int) -> tuple[dict[str, np.ndarray], float, int]:
    """(PEFT state dict in float32, lora_alpha, r) of a llama.cpp LoRA adapter for a model of this type."""
    import gguf

    if model_type not in SUPPORTED:
        raise ValueError(
            f"reading a GGUF LoRA adapter for a {model_type!r} model is not supported (supported: {sorted(SUPPORTED)})"
        )
    reader = gguf.GGUFReader(path)
    fields = reader.fields
    if "adapter.type" not in fields or bytes(fields["adapter.type"].parts[-1]).decode() != "lora":
        raise ValueError(f"{path} is not a LoRA adapter GGUF (no adapter.type = lora)")
    alpha = float(fields["adapter.lora.alpha"].parts[-1][0])
    state: dict[str, np.ndarray] = {}
    for tensor in reader.tensors:
        block, index, module, _weight, half = tensor.name.split(".")
        if block != "blk" or module not in MODULES or half not in ("lora_a", "lora_b"):
            raise ValueError(f"{path}: unexpected tensor {tensor.name}")
        weights = np.array(tensor.data, dtype=np.float32).reshape(tuple(reversed(tensor.shape.tolist())))
        if half == "lora_b" and model_type in ROPE_PERMUTED and module in ("attn_q", "attn_k"):
            weights = unpermute(weights, n_head if module == "attn_q" else n_head_kv)
        state[f"base_model.model.model.layers.{index}.{MODULES[module]}.lora_{half[-1].upper()}.weight"] = weights
    ranks = {w.shape[0] for name, w in state.items() if ".lora_A." in name}
    if len(ranks) != 1:
        raise ValueError(f"{path}: LoRA ranks differ between layers ({sorted(ranks)})")
    return state, alpha, ranks.pop()


def target_modules(state: dict[str, np.ndarray]) -> list[str]:
    return sorted({name.split(".")[-3] for name in state})
