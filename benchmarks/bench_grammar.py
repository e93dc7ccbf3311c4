"""Decoding speed under the grammar: llama-cpp-python's grammar sampler (the grammar applied to
the whole vocabulary at every token) beside the worker's sample-then-check decoder, with and
without guessing tokens ahead (worker.Drafter: the grammar's literals and the prompt), and no
grammar at all, for generated homes of 15 and 107 devices in the Home LLM v2 format.

Same model object, same prompts (commands and a question), prefix cached (only the generated
tokens are timed), greedy decoding, side by side in one run; also checks that every grammar
path writes the same text.

    .venv/bin/python benchmarks/bench_grammar.py [--model PATH] [--lora PATH] [--sizes 15 107] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_prompt_tokens import NOW, home_of_size

from home_llm_core import worker
from home_llm_core.defaults import BUNDLED_ADAPTER, bundled_model_path
from home_llm_core.home_format import build_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(bundled_model_path()))
    parser.add_argument("--lora", default=str(BUNDLED_ADAPTER))
    parser.add_argument("--sizes", type=int, nargs="+", default=[15, 107])
    parser.add_argument("--threads", type=int, default=worker.default_threads())
    parser.add_argument("--requests", type=int, default=6)
    args = parser.parse_args()

    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=args.model,
        lora_path=args.lora or None,
        n_ctx=4096,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        verbose=False,
    )
    word_starts = worker.word_start_tokens(llm)
    print(f"{'devices':>7} {'prompt':>6} {'decoding':<28} {'tokens':>6} {'tokens/s':>8} {'fallbacks':>9}")
    for size in args.sizes:
        home = home_of_size(size, 0)
        names = [e.name for e in home.entities if e.domain in ("light", "switch", "fan", "cover")][: args.requests]
        sentences = [f"turn off the {name}" for name in names[:-1]] + [f"is the {names[-1]} on?"]
        requests = [build_request(home, s, now=NOW, chat_template="chatml", preset="home_llm_v2") for s in sentences]
        fragments = worker.grammar_fragments(llm, requests[0].grammar)
        results: dict[str, list[tuple[int, float, int]]] = {}
        texts: dict[str, list[str]] = {}
        for request in requests:
            tokens = llm.tokenize(request.prompt.encode(), add_bos=True, special=True)
            paths = (
                ("no grammar", None),
                ("grammar on every token", "full"),
                ("sample, then check", "checked"),
                ("check, guess ahead", "guessed"),
            )
            for label, grammar in paths:
                # The prompt but its last token, not timed; both paths then evaluate that token.
                llm.n_tokens = min(worker.reusable_prefix(llm, tokens), len(tokens) - 1)
                llm.eval(tokens[llm.n_tokens : -1])
                started = time.perf_counter()
                if grammar == "full":
                    # What llama-cpp-python does: the grammar sampler first in the chain.
                    chosen = llama_cpp.LlamaGrammar.from_string(request.grammar, verbose=False)
                    out = llm.create_completion(tokens, grammar=chosen, max_tokens=64, temperature=0.0, stop=["<|im_end|>"])
                    text, n, fallbacks = out["choices"][0]["text"], out["usage"]["completion_tokens"], 0
                else:
                    llm.eval(tokens[-1:])
                    decoder = worker.Decoder(
                        llama_cpp,
                        llm,
                        grammar=request.grammar if grammar else None,
                        temperature=0.0,
                        top_p=0.95,
                        top_k=40,
                        min_p=0.05,
                        seed=0,
                    )
                    drafter = worker.Drafter(tokens, fragments, word_starts) if grammar == "guessed" else None
                    text, n, _ = decoder.run(64, ["<|im_end|>"], lambda: False, drafter)
                    fallbacks = decoder.fallbacks
                    decoder.close()
                results.setdefault(label, []).append((n, time.perf_counter() - started, fallbacks))
                texts.setdefault(label, []).append(text)
        for label, runs in results.items():
            n = sum(r[0] for r in runs)
            seconds = sum(r[1] for r in runs)
            print(
                f"{size:>7} {statistics.median(len(llm.tokenize(r.prompt.encode())) for r in requests):>6.0f} "
                f"{label:<28} {n:>6} {n / seconds:>8.1f} {sum(r[2] for r in runs):>9}"
            )
        reference = texts["grammar on every token"]
        same = [sum(a == b for a, b in zip(reference, texts[label], strict=True)) for label in texts if label != "no grammar"]
        print(f"        same text on every grammar path: {min(same)} of {len(requests)}")


if __name__ == "__main__":
    main()
