"""training/train.py end to end on this machine's CPU: a few steps on a tiny dataset rendered
with the integration's own format, then the GGUF export loaded by llama.cpp and scored by
training/evaluate_model.py.

Training runs in its own environment (.venv-training, Python 3.11 with torch), so these tests
call it as a subprocess from Home Assistant's test environment, which has llama.cpp to load the
exported files. Nothing is downloaded: the base is the bundled SmolLM2-135M GGUF (dequantized
once into ~/.cache/home-llm) or a tiny random model made here from its tokenizer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from home_llm_core.defaults import bundled_model_path
from home_llm_core.home_format import (
    Home,
    ModelCall,
    render_reply,
    render_system_prompt,
    render_turns,
    validate_calls,
)

from .fixture_home import FIXTURE_HOME, NOW

REPO = Path(__file__).resolve().parents[1]
TRAIN_PY = REPO / ".venv-training" / "bin" / "python"
BUNDLED_GGUF = bundled_model_path()

# (request, earlier turns, reply sentence, calls): commands, a refusal and a follow-up.
EXAMPLES = [
    ("turn off the office light", [], "Turning off the Office Light.", [ModelCall("light.turn_off", "light.office")]),
    ("open the garage door", [], "Opening the Garage Door.", [ModelCall("cover.open_cover", "cover.garage_door")]),
    ("lock the front door", [], "Locking the Front Door.", [ModelCall("lock.lock", "lock.front_door")]),
    (
        "set the kitchen light to 20 percent",
        [],
        "Setting the Kitchen Light to 20%.",
        [ModelCall("light.turn_on", "light.kitchen", {"brightness": 20})],
    ),
    ("turn on the sauna", [], "There is no sauna in this house.", []),
    ("unlock the front door", [], "Unlocking the Front Door.", [ModelCall("lock.unlock", "lock.front_door")]),
    (
        "and the kitchen one too",
        [
            ("user", "turn off the office light"),
            ("assistant", render_reply("Turning off the Office Light.", [ModelCall("light.turn_off", "light.office")])),
        ],
        "Turning off the Kitchen Light.",
        [ModelCall("light.turn_off", "light.kitchen")],
    ),
    ("close the garage door", [], "Closing the Garage Door.", [ModelCall("cover.close_cover", "cover.garage_door")]),
]


# Part of the format tests' home: a short prompt keeps each step around a second.
HOME = Home(tuple(e for e in FIXTURE_HOME.entities if e.domain in ("light", "cover", "lock")))


def write_dataset(path: Path) -> list[dict]:
    system = render_system_prompt(HOME, now=NOW)
    rows = []
    for text, history, sentence, calls in EXAMPLES:
        turns = render_turns(text, home=HOME, history=history)
        messages = [{"role": "system", "content": system}, *({"role": r, "content": c} for r, c in turns)]
        messages.append({"role": "assistant", "content": render_reply(sentence, calls)})
        expected, rejected = validate_calls(HOME, calls)
        assert not rejected
        # Also a case for training/evaluate_model.py, as the data generator writes them.
        case = {
            "home": HOME.to_dict(),
            "sentence": text,
            "expected_calls": [c.as_dict() for c in expected],
            "now": NOW.isoformat(),
        }
        rows.append({"messages": messages, "category": "test", **case})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def train(*arguments: object, timeout: int = 900) -> subprocess.CompletedProcess:
    if not TRAIN_PY.exists():
        pytest.fail(f"the training environment is missing ({TRAIN_PY}): run scripts/bootstrap_training.sh")
    done = subprocess.run(
        [str(TRAIN_PY), *map(str, arguments)], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


# The largest difference between a PEFT adapter's weights and its GGUF export read back by
# training/lora_from_gguf.py, relative to each tensor's largest weight (run in .venv-training).
_SAME_WEIGHTS = """
import sys
import numpy as np
from safetensors.numpy import load_file
sys.path.insert(0, "training")
from lora_from_gguf import read_lora_gguf
trained = {k.replace(".default", ""): v for k, v in load_file(sys.argv[1]).items()}
exported, _alpha, _rank = read_lora_gguf(sys.argv[2], "llama", 9, 3)
assert trained.keys() == exported.keys()
print(max(float(np.abs(exported[k] - v).max() / np.abs(v).max()) for k, v in trained.items()))
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    write_dataset(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A random 3M-parameter llama with the tokenizer train.py makes from the bundled GGUF."""
    folder = tmp_path_factory.mktemp("tiny") / "model"
    train("-c", TINY_MODEL, BUNDLED_GGUF, folder)
    return folder


def _llama(**kwargs):
    from llama_cpp import Llama

    # One thread: with two, llama.cpp's spinning threads take 15x longer when another process is busy.
    return Llama(n_ctx=1024, n_threads=1, n_threads_batch=1, verbose=False, seed=0, **kwargs)


def test_lora_on_the_bundled_gguf_trains_and_the_adapter_loads_in_llama_cpp(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(
        "training/train.py",
        "--base",
        "bundled",
        "--data",
        dataset,
        "--out",
        out,
        "--steps",
        6,
        "--batch-size",
        1,
        "--grad-accum",
        2,
        "--lr",
        3e-3,
        "--warmup-steps",
        2,
        "--eval-fraction",
        0.125,
        "--eval-every",
        3,
    )
    run = json.loads((out / "run.json").read_text())
    assert (out / "loss.png").stat().st_size > 10_000
    assert run["template"] == "chatml" and run["add_bos"] is False and run["method"] == "lora"
    assert run["data"] == {**run["data"], "train_examples": 7, "eval_examples": 1, "dropped_too_long": 0}
    assert run["loss"]["last"] < 0.7 * run["loss"]["first"], run["loss"]
    assert [e["step"] for e in run["evals"]] == [0, 3, 6] and run["evals"][2]["loss"] < run["evals"][0]["loss"]

    # A later run may start from this adapter (new data, more steps): it begins where this one ended,
    # with the adapter's rank whatever --lora-r says.
    more = tmp_path / "more"
    train(
        "training/train.py", "--base", "bundled", "--data", dataset, "--out", more, "--init-adapter", out / "adapter",
        "--lora-r", 4, "--steps", 1, "--eval-fraction", 0.125, "--eval-every", 1, "--export", "none",
    )  # fmt: skip
    continued = json.loads((more / "run.json").read_text())
    assert continued["evals"][0]["loss"] == pytest.approx(run["evals"][2]["loss"], rel=1e-3)
    assert continued["lora"]["started_from"] == str(out / "adapter") and continued["lora"]["r"] == 16
    # Or from the adapter's GGUF (what a run commits): llama.cpp's q/k row order undone, f16 weights.
    (exported,) = run["exports"]
    from_gguf = tmp_path / "from_gguf"
    train(
        "training/train.py", "--base", "bundled", "--data", dataset, "--out", from_gguf, "--init-adapter", exported["path"],
        "--steps", 1, "--eval-fraction", 0.125, "--eval-every", 1, "--export", "none",
    )  # fmt: skip
    again = json.loads((from_gguf / "run.json").read_text())
    assert again["lora"]["r"] == 16 and again["lora"]["alpha"] == 32
    # Read back, every weight is the trained one to f16's precision (q/k row order undone) ...
    compared = train(
        "-c", _SAME_WEIGHTS, out / "adapter" / "adapter_model.safetensors", exported["path"], timeout=120
    )  # fmt: skip
    assert float(compared.stdout) < 2e-3, compared.stdout
    # ... and the loss where the run ended, to within what f16 rounding moves it on this small,
    # overfitted example (under 1 % on an AMD EPYC, 2.3 % on a Xeon with AVX-512).
    assert again["evals"][0]["loss"] == pytest.approx(run["evals"][2]["loss"], rel=4e-2)

    base = _llama(model_path=str(BUNDLED_GGUF))
    # The training tokens are llama.cpp's own tokens for the integration's prompt, and the loss
    # falls on the assistant's words and <|im_end|>, nothing else.
    examples = [json.loads(line) for line in (out / "training_examples.jsonl").read_text().splitlines()]
    for example in examples:
        prompt_tokens = base.tokenize(example["prompt"].encode(), add_bos=True, special=True)
        reply_tokens = base.tokenize(example["reply"].encode(), add_bos=False, special=True)
        assert example["input_ids"] == prompt_tokens + reply_tokens
        assert example["labels"][-len(reply_tokens) :] == reply_tokens
        assert example["reply"].endswith("<|im_end|>") and reply_tokens[-1] == base.token_eos()
        trained = [t for t, label in zip(example["input_ids"], example["labels"], strict=True) if label != -100]
        earlier_replies = [part.split("\n<|im_start|>")[0] for part in example["prompt"].split("<|im_start|>assistant\n")[1:]]
        assert base.detokenize(trained, special=True).decode() == "".join(earlier_replies) + example["reply"]
    assert any(e["prompt"].count("<|im_start|>assistant\n") == 2 for e in examples)  # the follow-up, history included

    prompt = examples[0]["prompt"]  # the integration's prompt for a request
    untuned = base.create_completion(prompt, max_tokens=48, temperature=0, stop=["<|im_end|>"])["choices"][0]["text"]
    del base
    (adapter,) = run["exports"]
    assert adapter["kind"] == "adapter" and adapter["path"].endswith(".gguf")
    tuned = _llama(model_path=str(BUNDLED_GGUF), lora_path=adapter["path"])
    text = tuned.create_completion(prompt, max_tokens=48, temperature=0, stop=["<|im_end|>"])["choices"][0]["text"]
    assert text and text != untuned
    del tuned

    # evaluate_model.py scores the export the way the integration would run it.
    report_path = tmp_path / "eval.json"
    arguments = ["--model", BUNDLED_GGUF, "--lora", adapter["path"], "--cases", dataset, "--threads", 1, "--report", report_path]
    done = subprocess.run(
        [sys.executable, "training/evaluate_model.py", "--no-progress", *map(str, arguments)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["lora"] == adapter["path"] and len(report["cases"]) == len(EXAMPLES)
    summary = report["summary"]
    assert summary["errors"]["cases"] == 0 and summary["unsupported"]["cases"] == 0
    assert summary["well_formed"] == 1.0  # the grammar holds for the tuned model too
    assert summary["cases"] == len(EXAMPLES) and f"{summary['exact_match']:.1%}" in done.stdout


def full_fine_tune(base: Path, data: Path, out: Path) -> list:
    """train.py's arguments for a full fine-tune of base on data into out."""
    return ["--base", base, "--data", data, "--out", out, "--full"]


def test_full_fine_tune_resumes_and_exports_a_quantized_merged_model(dataset: Path, tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = [
        "training/train.py", *full_fine_tune(tiny_model, dataset, out),
        "--lr", 3e-3, "--grad-accum", 1, "--warmup-steps", 0, "--eval-every", 4, "--save-every", 4, "--pack"
    ]  # fmt: skip
    train(*common, "--steps", 8, "--export", "none")
    first = json.loads((out / "run.json").read_text())
    assert first["loss"]["last"] < first["loss"]["first"]
    # On to 12 steps from the step-8 checkpoint, then a merged export quantized by llama.cpp.
    train(*common, "--steps", 12, "--resume", "--export", "merged", "--outtype", "f16", "--quantize", "q4_0")
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from"] == 8 and [h["step"] for h in run["history"]] == list(range(1, 13))
    assert run["history"][:8] == first["history"]
    exports = {e["kind"]: e for e in run["exports"]}
    assert set(exports) == {"merged", "quantized"}

    # The tokenizer went GGUF -> Hugging Face -> GGUF and came back the same: same ids for a prompt.
    bundled = _llama(model_path=str(BUNDLED_GGUF), vocab_only=True)
    prompt = json.loads((out / "training_examples.jsonl").read_text().splitlines()[0])["prompt"]
    for export in exports.values():
        model = _llama(model_path=export["path"])
        for key in ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.eos_token_id"):
            assert model.metadata[key] == bundled.metadata[key], key
        assert model.tokenize(prompt.encode(), add_bos=True, special=True) == bundled.tokenize(
            prompt.encode(), add_bos=True, special=True
        )
        assert model.create_completion(prompt, max_tokens=8, temperature=0)["usage"]["completion_tokens"] > 0
        del model


def test_packed_requests_have_the_loss_they_have_alone(dataset: Path) -> None:
    # The dataset's requests share one system prompt (one of them a variant that differs near its
    # end): packed, it is in the sequence once. Every
    # token's loss must stay what transformers computes for the example alone, for the bundled
    # SmolLM2 (a Llama) and for a random Gemma 3 whose sliding window (16) is far shorter than the
    # shared prompt, with both
    # attention kernels, the head run everywhere or only where loss is taken, and packed rows of
    # different lengths padded into one batch.
    done = train("-c", PACKING_CHECK, BUNDLED_GGUF, dataset)
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["examples"] == len(EXAMPLES) + 1 and report["rows"]["one"] == 1 and report["rows"]["several"] > 2
    assert report["packed_tokens"] < 0.3 * report["example_tokens"], report
    assert len(report["losses"]) == 2 * 2 * 2 * 2
    for case, (alone, packed) in report["losses"].items():
        assert abs(packed - alone) < 1e-4 * alone, (case, alone, packed)
    # A reply's first token weighted 5x: the same on packed rows as found token by token, and a
    # different loss from the unweighted one.
    assert len(report["weighted"]) == 2
    for case, (alone, packed) in report["weighted"].items():
        assert abs(packed - alone) < 1e-4 * alone, (case, alone, packed)
        assert abs(alone - report["unweighted"]) > 1e-3 * alone, (alone, report["unweighted"])


def test_two_processes_train_data_parallel(dataset: Path, tiny_model: Path, tmp_path: Path) -> None:
    # What `accelerate launch` does on several GPUs, here with two CPU processes (gloo): each
    # takes its share of every step's examples and of the held-out set (one process gets none).
    out = tmp_path / "run"
    train(
        "-m", "torch.distributed.run", "--nproc-per-node", 2,
        "training/train.py", *full_fine_tune(tiny_model, dataset, out), "--steps", 4,
        "--grad-accum", 2, "--lr", 3e-3, "--warmup-steps", 0, "--eval-every", 2, "--eval-fraction", 0.125,
        "--threads", 1, "--export", "none"
    )  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert run["processes"] == 2 and run["examples_per_step"] == 4
    assert [e["step"] for e in run["evals"]] == [0, 2, 4] and run["evals"][-1]["loss"] < run["evals"][0]["loss"]


TINY_MODEL = """
import sys
from pathlib import Path
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from training import export_gguf, train
folder, _source = train.resolve_base(sys.argv[1], train.CACHE_DIR)
torch.manual_seed(0)
config = LlamaConfig(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                     tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
LlamaForCausalLM(config).save_pretrained(sys.argv[2])
export_gguf.copy_tokenizer(Path(folder), Path(sys.argv[2]))
"""


# Prints {"examples", "rows", "example_tokens", "packed_tokens", "losses": {case: [alone, packed]}}.
PACKING_CHECK = """
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig
from training import train
folder, _ = train.resolve_base(sys.argv[1], train.CACHE_DIR)  # the bundled model, dequantized
tokenizer = AutoTokenizer.from_pretrained(folder)
conversations = train.load_jsonl([sys.argv[2]])
# One more request whose system prompt differs near its end (the speaker's room), as most of a
# home's requests do: it shares only the system prompt's beginning with the trunk.
system, *turns = conversations[1]
conversations.append([{**system, "content": system["content"] + "\\nThe user is in the Office."}, *turns])
examples, _ = train.encode_fitting(conversations, "chatml", tokenizer, False, "all", 4096)
one = train.pack(examples, 4096)
rests = [len(e["input_ids"]) - train.divergence(examples[0], e) for e in examples[1:]]
several = train.pack(examples, len(examples[0]["input_ids"]) + 2 * max(rests))
torch.manual_seed(0)
# Large random weights, so that what a token sees changes its prediction.
gemma = Gemma3ForCausalLM(Gemma3TextConfig(
    vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=1, head_dim=16, sliding_window=16, layer_types=["sliding_attention", "full_attention"],
    initializer_range=0.5))
models = {"llama": AutoModelForCausalLM.from_pretrained(folder), "gemma3": gemma}
losses = {}
with torch.no_grad():
    for name, model in models.items():
        for kernel in ("sdpa", "eager"):
            model.config._attn_implementation = kernel
            total, count = 0.0, 0
            for e in examples:
                batch = train.collate([e], 0, "cpu")
                n = int((batch["labels"][:, 1:] != -100).sum())
                total, count = total + model(**batch).loss.item() * n, count + n
            for layout, rows in (("one", one), ("several", several)):
                for sliced in (True, False):
                    loss, n = train.token_loss(model, train.collate(rows, 0, "cpu"), sliced)
                    assert n == count, (n, count)
                    losses[f"{name} {kernel} {layout} sliced={sliced}"] = [total / count, loss.item() / n]
# --first-token-weight: each labelled span's first token (found here by a plain loop) counts 5
# times, packed or not.
model, weighted = models["llama"], {}
with torch.no_grad():
    total, count = 0.0, 0.0
    for e in examples:
        batch = train.collate([e], 0, "cpu")
        labels = batch["labels"][0].tolist()
        per_token = torch.nn.functional.cross_entropy(
            model(**batch).logits[0, :-1].float(), batch["labels"][0, 1:], ignore_index=-100, reduction="none")
        for i in range(1, len(labels)):
            if labels[i] != -100:
                w = 5.0 if labels[i - 1] == -100 else 1.0
                total, count = total + w * per_token[i - 1].item(), count + w
    for sliced in (True, False):
        loss, n = train.token_loss(model, train.collate(one, 0, "cpu"), sliced, first_token_weight=5.0)
        assert abs(n - count) < 1e-6, (n, count)
        weighted[f"sliced={sliced}"] = [total / count, loss.item() / n]
print(json.dumps({
    "examples": len(examples), "rows": {"one": len(one), "several": len(several)},
    "example_tokens": sum(len(e["input_ids"]) for e in examples),
    "packed_tokens": sum(len(r["input_ids"]) for r in one), "losses": losses, "weighted": weighted,
    "unweighted": losses["llama sdpa one sliced=True"][0]}))
"""


def test_a_sentencepiece_gguf_tokenizes_for_training_as_llama_cpp_does(tmp_path: Path) -> None:
    """A SentencePiece vocabulary (Gemma, Llama 2, TinyLlama GGUFs) becomes the BPE that llama.cpp
    runs on it: the highest-scoring pair merges first (here "yz" before "xy"), runs of spaces
    and newlines are user-defined tokens matched whole, unknown characters fall back to bytes."""
    from .gguf_writer import FLOAT32, INT32, Typed, gguf_bytes

    ranked = ["yz", "xy", "bc", "ab", "ll", "he", "▁h", "llo", "▁hello", "hello", "abc", "on", "▁a", "▁on"]
    normal = ["▁", "a", "b", "c", "e", "h", "l", "n", "o", "x", "y", "z", *ranked]
    pieces = ["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)], "\n\n", "<start_of_turn>", *normal]
    types = [2, 3, 3, *[6] * 256, 4, 3, *[1] * len(normal)]
    scores = [0.0] * (len(pieces) - len(normal)) + [
        -float(ranked.index(p) if p in ranked else 100 + i) for i, p in enumerate(normal)
    ]
    gguf = tmp_path / "spm.gguf"
    gguf.write_bytes(
        gguf_bytes(
            {
                "general.architecture": "llama",
                **{f"llama.{k}": v for k, v in {"context_length": 64, "embedding_length": 8, "block_count": 1}.items()},
                **{f"llama.{k}": v for k, v in {"feed_forward_length": 16, "rope.dimension_count": 8}.items()},
                **{"llama.attention.head_count": 1, "llama.attention.head_count_kv": 1},
                "llama.attention.layer_norm_rms_epsilon": 1e-5,
                "tokenizer.ggml.model": "llama",
                "tokenizer.ggml.tokens": pieces,
                "tokenizer.ggml.scores": Typed(FLOAT32, scores),
                "tokenizer.ggml.token_type": Typed(INT32, types),
                "tokenizer.ggml.bos_token_id": 1,
                "tokenizer.ggml.eos_token_id": 2,
                "tokenizer.ggml.unknown_token_id": 0,
                "tokenizer.ggml.add_space_prefix": False,
            }
        )
    )
    texts = ["hello", "xyz", " hello on\n\nabcb", "<start_of_turn>abc xy", "ö on  a", "hello\n\n\nzyx"]
    llama = _llama(model_path=str(gguf), vocab_only=True)
    expected = [llama.tokenize(t.encode(), add_bos=False, special=True) for t in texts]
    script = (
        "import json, sys; from pathlib import Path; from tokenizers import Tokenizer; "
        "from training.train import sentencepiece_as_bpe; "
        "bare = {'version': '1.0', 'truncation': None, 'padding': None, 'post_processor': None}; "
        "tok = Tokenizer.from_str(json.dumps(sentencepiece_as_bpe(Path(sys.argv[1]), bare, False))); "
        "print(json.dumps([tok.encode(t, add_special_tokens=False).ids for t in json.loads(sys.argv[2])]))"
    )
    done = train("-c", script, gguf, json.dumps(texts))
    assert json.loads(done.stdout) == expected
    assert expected[1] == [pieces.index("x"), pieces.index("yz")]  # the case the merge order decides


def _small_adapter(path: Path, seed: int, rank: int = 4, alpha: float = 8.0) -> None:
    import numpy as np
    from gguf import GGUFWriter

    rng = np.random.default_rng(seed)
    writer = GGUFWriter(path, "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", alpha)
    for name, (rows, cols) in {"blk.0.attn_q.weight": (6, 5), "blk.0.ffn_up.weight": (7, 5)}.items():
        writer.add_tensor(f"{name}.lora_a", rng.normal(size=(rank, cols)).astype(np.float32))
        writer.add_tensor(f"{name}.lora_b", rng.normal(size=(rows, rank)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _weight_changes(path: Path) -> dict:
    import numpy as np
    from gguf import GGUFReader

    reader = GGUFReader(path)
    field = reader.fields["adapter.lora.alpha"]
    alpha = float(field.parts[field.data[0]][0])
    tensors = {t.name: np.array(t.data, dtype=np.float64) for t in reader.tensors}
    return {
        name.removesuffix(".lora_a"): alpha / a.shape[0] * tensors[name.replace("lora_a", "lora_b")] @ a
        for name, a in tensors.items()
        if name.endswith(".lora_a")
    }


def test_interpolated_adapter_changes_each_weight_by_the_weighted_mean(tmp_path: Path) -> None:
    import numpy as np

    first, second, mean = tmp_path / "first.gguf", tmp_path / "second.gguf", tmp_path / "mean.gguf"
    _small_adapter(first, seed=1)
    _small_adapter(second, seed=2)
    script = REPO / "training" / "interpolate_adapters.py"
    subprocess.run([sys.executable, script, first, second, "--weight", "0.25", "--out", mean], check=True, capture_output=True)
    one, two, got = _weight_changes(first), _weight_changes(second), _weight_changes(mean)
    assert got.keys() == one.keys() == {"blk.0.attn_q.weight", "blk.0.ffn_up.weight"}
    for name, change in got.items():
        assert np.allclose(change, 0.25 * one[name] + 0.75 * two[name], atol=1e-5)
        assert not np.allclose(change, 0.5 * one[name] + 0.5 * two[name], atol=1e-3)
    # Adapters of different ranks have no exact mean of this form: a clear error, no file.
    other = tmp_path / "rank8.gguf"
    _small_adapter(other, seed=3, rank=8)
    failed = subprocess.run([sys.executable, script, first, other, "--out", tmp_path / "no.gguf"], capture_output=True, text=True)
    assert failed.returncode != 0 and "same rank and alpha" in failed.stderr
    assert not (tmp_path / "no.gguf").exists()
