"""Chat-template wrapping: turns (system, conversation) into the raw prompt text the model
continues. Per model setting; `detect_template` picks one from the GGUF's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Turn = tuple[str, str]  # (role, text) with role "user" or "assistant"


@dataclass(frozen=True)
class ChatTemplate:
    id: str
    label: str
    system: str | None  # None: the template has no system role
    user: str
    assistant: str
    generation_prefix: str  # what opens the assistant's turn the model completes
    stop: tuple[str, ...]


TEMPLATES: dict[str, ChatTemplate] = {
    t.id: t
    for t in (
        ChatTemplate(
            "chatml",
            "ChatML (SmolLM2, Qwen, Home-3B-v2)",
            "<|im_start|>system\n{text}<|im_end|>\n",
            "<|im_start|>user\n{text}<|im_end|>\n",
            "<|im_start|>assistant\n{text}<|im_end|>\n",
            "<|im_start|>assistant\n",
            ("<|im_end|>", "<|im_start|>"),
        ),
        ChatTemplate(
            "zephyr",
            "Zephyr (StableLM, TinyLlama, Home-3B-v3, Home-1B-v3)",
            "<|system|>\n{text}<|endoftext|>\n",
            "<|user|>\n{text}<|endoftext|>\n",
            "<|assistant|>\n{text}<|endoftext|>\n",
            "<|assistant|>\n",
            ("<|endoftext|>", "</s>", "<|user|>"),
        ),
        # Gemma has no system role: by its convention the system text opens the first user turn.
        ChatTemplate(
            "gemma",
            "Gemma",
            None,
            "<start_of_turn>user\n{text}<end_of_turn>\n",
            "<start_of_turn>model\n{text}<end_of_turn>\n",
            "<start_of_turn>model\n",
            ("<end_of_turn>",),
        ),
        ChatTemplate(
            "llama3",
            "Llama 3",
            "<|start_header_id|>system<|end_header_id|>\n\n{text}<|eot_id|>",
            "<|start_header_id|>user<|end_header_id|>\n\n{text}<|eot_id|>",
            "<|start_header_id|>assistant<|end_header_id|>\n\n{text}<|eot_id|>",
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            ("<|eot_id|>",),
        ),
    )
}


GGUF_TEMPLATE = "gguf"  # render the Jinja chat template stored in the model file


def render_chat(template_id: str, system: str, turns: Sequence[Turn], gguf_template: str | None = None) -> str:
    """The prompt up to and including the opening of the assistant's reply."""
    if template_id == GGUF_TEMPLATE:
        return _render_gguf_template(gguf_template, system, turns)
    t = TEMPLATES[template_id]
    turns = list(turns)
    parts = []
    if t.system is None:
        if turns and turns[0][0] == "user":
            turns[0] = ("user", f"{system}\n\n{turns[0][1]}")
        else:
            turns.insert(0, ("user", system))
    else:
        parts.append(t.system.format(text=system))
    parts += [(t.user if role == "user" else t.assistant).format(text=text) for role, text in turns]
    parts.append(t.generation_prefix)
    return "".join(parts)


def stop_strings(template_id: str) -> tuple[str, ...]:
    # The GGUF's own template ends turns with the model's EOS token, which stops generation anyway.
    return () if template_id == GGUF_TEMPLATE else TEMPLATES[template_id].stop


def _render_gguf_template(template: str | None, system: str, turns: Sequence[Turn]) -> str:
    if not template:
        raise ValueError("The model file has no chat template; choose one (ChatML, Zephyr, Gemma, Llama 3).")
    from jinja2.sandbox import ImmutableSandboxedEnvironment  # only needed for this option

    messages = [{"role": "system", "content": system}] + [{"role": r, "content": t} for r, t in turns]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    # llama.cpp adds the BOS token itself when it tokenizes the prompt.
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")


_MARKERS = (
    ("<|im_start|>", "chatml"),
    ("<start_of_turn>", "gemma"),
    ("<|start_header_id|>", "llama3"),
    ("<|assistant|>", "zephyr"),
)
_BY_ARCHITECTURE = {
    "gemma3": "gemma",
    "gemma2": "gemma",
    "gemma": "gemma",
    "stablelm": "zephyr",
    "phi2": "chatml",
    "llama": "chatml",
    "qwen2": "chatml",
    "qwen3": "chatml",
}


def detect_template(chat_template: str | None, architecture: str | None = None) -> str:
    """The template named by markers in the GGUF's own Jinja template, else by architecture."""
    if chat_template:
        for marker, template_id in _MARKERS:
            if marker in chat_template:
                return template_id
    return _BY_ARCHITECTURE.get(architecture or "", "chatml")
