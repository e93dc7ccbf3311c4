"""Evaluate a GGUF model (optionally with a LoRA adapter GGUF) the way Home LLM runs it.

Every case goes through the integration's own steps (custom_components/home_llm/entity.py):
system prompt, turns with in-context examples, chat template, grammar, the llama.cpp worker
process, then the reply parser and the validator. What the validator lets through is what
Home Assistant would execute; that is compared with the case's expected calls.

    .venv/bin/python training/evaluate_model.py --cases data/output/test.jsonl    # the shipped model, as the agent runs it
    .venv/bin/python training/evaluate_model.py --lora none                       # the untuned base
    .venv/bin/python training/evaluate_model.py --model base.gguf --lora adapter.gguf --cases my_home.jsonl

Prints a table and writes a JSON report with every case (sentence, raw output, the calls that
would run). Needs llama-cpp-python (in the interpreter given by --worker-python) but neither
Home Assistant nor torch. Case format and metrics: training/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from home_llm_core import context_fit, defaults, generation, gguf_metadata, merge_lora, worker_client
from home_llm_core.home_format import (
    DEFAULT_ATTRIBUTES,
    DEFAULT_PRESET,
    GGUF_TEMPLATE,
    PRESETS,
    TEMPLATES,
    Home,
    detect_template,
    in_prompt_order,
    parse_reply,
)
from training import evaluate_scoring as scoring

REPO_ROOT = scoring.REPO_ROOT
DEFAULT_CASES = Path(__file__).resolve().parent / "cases" / "example.jsonl"
DEFAULT_REPORT_DIR = Path(__file__).resolve().parent / "output" / "evaluate"
# Model + adapter merged as the integration merges them (one file per adapter and base).
MERGED_DIR = Path.home() / ".cache" / "home-llm" / "merged"
# Cases without their own "now" all see this time, so runs are repeatable.
DEFAULT_NOW = "2026-11-26T20:30:00"


# --- the integration's request, step for step ---------------------------------------------


@dataclass(frozen=True)
class AgentSettings:
    """The per-agent options entity.py reads, with the integration's defaults except where
    evaluation wants otherwise (greedy decoding, no in-context examples: a trained model's setting)."""

    template: str  # a home_format template id, or "gguf" for the model file's own template
    gguf_template: str | None = None
    preset: str = DEFAULT_PRESET
    examples: int = 0
    use_grammar: bool = defaults.DEFAULT_USE_GRAMMAR
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES
    max_tokens: int = defaults.DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    top_p: float = defaults.DEFAULT_TOP_P
    top_k: int = defaults.DEFAULT_TOP_K

    @property
    def compat(self) -> bool:
        return PRESETS[self.preset].compat


@dataclass(frozen=True)
class Request:
    prompt: str
    generate_kwargs: dict[str, Any]  # grammar, sampling and stop strings for ModelWorker.generate


async def build_request(
    home: Home,
    text: str,
    settings: AgentSettings,
    *,
    now: datetime,
    count_tokens: Callable[[str], Awaitable[int]],
    context_length: int,
    user_area: str | None = None,
    history: Sequence[tuple[str, str]] = (),
) -> tuple[Request, context_fit.FittedRequest]:
    """What the agent's build step (entity.py, HomeLLMEntity._async_build) sends to the worker:
    the same context_fit.build_fitting_request over the same home_format.build_request."""
    fitted = await context_fit.build_fitting_request(
        home,
        text,
        count_tokens=count_tokens,
        context_length=context_length,
        reply_tokens=settings.max_tokens,
        now=now,
        chat_template=settings.template,
        gguf_chat_template=settings.gguf_template,
        preset=settings.preset,
        user_area=user_area,
        examples=settings.examples,
        history=history,
        attributes=settings.attributes,
        use_grammar=settings.use_grammar,
    )
    request = fitted.request
    return Request(
        request.prompt,
        {
            "grammar": request.grammar,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": settings.top_k,
            "stop": list(request.stop),
        },
    ), fitted


# --- cases -----------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    source: str  # file:line
    home: Home
    sentence: str
    satellite_area: str | None
    expected_calls: list[dict[str, Any]]
    category: str
    history: list[tuple[str, str]] = field(default_factory=list)
    now: datetime | None = None
    expected_answer: str | None = None  # a status question's answer, to check the facts it states


def expected_answer_of(data: dict[str, Any]) -> str | None:
    """A status question's expected answer: "expected_answer", or the data generator's last
    assistant message."""
    if "expected_answer" in data or data.get("category") != "status":
        return data.get("expected_answer")
    last = (data.get("messages") or [{}])[-1]
    if last.get("role") != "assistant":
        return None
    return parse_reply(last["content"]).sentence or None


def home_from_case(data: dict[str, Any]) -> Home:
    """The case's home in the order the integration shows it (in-context examples and the
    states block depend on this order)."""
    home = Home.from_dict(data)
    return Home(in_prompt_order(home.entities), temperature_unit=home.temperature_unit, floors=home.floors)


def history_of(data: dict[str, Any], remember_turns: int) -> list[tuple[str, str]]:
    """Earlier turns of a follow-up case: its "history" ([role, text] pairs), or else what
    precedes the last user message of the data generator's "messages". Earlier assistant
    turns keep only their sentence: the integration's chat log remembers the spoken reply,
    not the calls."""
    if "history" in data:
        turns = [(str(role), str(text)) for role, text in data["history"]]
    else:
        turns = [(m["role"], m["content"]) for m in data.get("messages") or () if m.get("role") in ("user", "assistant")]
        while turns and turns[-1][0] == "assistant":  # the answer being tested
            turns.pop()
        turns = turns[:-1]  # the request itself: "sentence"
    turns = [(role, (parse_reply(text).sentence or text) if role == "assistant" else text) for role, text in turns]
    return turns[-2 * remember_turns :] if remember_turns else []


def load_cases(paths: Iterable[Path], *, remember_turns: int = defaults.DEFAULT_REMEMBER_TURNS) -> list[Case]:
    """Plain case files and the data generator's JSONL (same fields, plus messages/category)."""
    cases = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if not line.strip() or line.lstrip().startswith("//"):
                    continue
                source = f"{path}:{number}"
                try:
                    data = json.loads(line)
                    expected = list(data.get("expected_calls") or [])
                    now = data.get("now")
                    cases.append(
                        Case(
                            id=str(data.get("id") or source),
                            source=source,
                            home=home_from_case(data["home"]),
                            sentence=data["sentence"],
                            satellite_area=data.get("satellite_area"),
                            expected_calls=expected,
                            category=str(data.get("category") or ("action" if expected else "no_action")),
                            history=history_of(data, remember_turns),
                            now=datetime.fromisoformat(now) if now else None,
                            expected_answer=expected_answer_of(data),
                        )
                    )
                except (ValueError, KeyError, TypeError) as err:
                    raise SystemExit(f"{source}: not a valid case ({type(err).__name__}: {err})") from None
    return cases


# --- running -----------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr (plain lines every 10 % when it isn't a terminal)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total, self.enabled = total, enabled and total > 0
        self.done = self.matched = self.scored = 0
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last_tenth = -1

    def update(self, record: dict[str, Any]) -> None:
        self.done += 1
        if record["scores"] is not None and record["supported"]:
            self.scored += 1
            self.matched += record["scores"]["exact_match"]
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done)
        exact = f"{self.matched / self.scored:6.1%}" if self.scored else "     -"
        width = 24
        bar = "#" * (width * self.done // self.total)
        line = f"[{bar:<{width}}] {self.done}/{self.total} exact {exact}  {elapsed / self.done:.2f} s/case  {left:.0f} s left"
        if self.tty:
            print(f"\r{line}", end="\n" if self.done == self.total else "", file=sys.stderr, flush=True)
        elif (tenth := 10 * self.done // self.total) != self._last_tenth:
            self._last_tenth = tenth
            print(line, file=sys.stderr, flush=True)


async def evaluate_cases(
    worker, cases: Sequence[Case], settings: AgentSettings, *, now: datetime, progress: Progress
) -> list[dict[str, Any]]:
    records = []
    for case in cases:
        started = time.perf_counter()
        error = result = fitted = None
        try:
            request, fitted = await build_request(
                case.home,
                case.sentence,
                settings,
                now=case.now or now,
                count_tokens=worker.count_tokens,
                context_length=worker.context_length or worker.n_ctx,
                user_area=case.satellite_area,
                history=case.history,
            )
            sampling = {k: v for k, v in request.generate_kwargs.items() if k not in ("grammar", "stop")}
            result = await generation.generate_reply(worker, fitted.home, fitted.request, **sampling)
        except (
            worker_client.GenerationError,
            worker_client.WorkerCrashedError,
            worker_client.WorkerTimeoutError,
            ValueError,
        ) as err:
            # As in the integration, one failed request is an error answer, not the end.
            error = f"{type(err).__name__}: {err}"
        latency = time.perf_counter() - started
        record = {
            "id": case.id,
            "source": case.source,
            "category": case.category,
            "sentence": case.sentence,
            "satellite_area": case.satellite_area,
            "history": case.history,
            "expected_calls": case.expected_calls,
            "raw_output": result.text if result else None,
            **scoring.score_output(
                case.home,
                case.expected_calls,
                result.text if result else "",
                compat=settings.compat,
                expected_answer=case.expected_answer,
            ),
            "error": error,
            "latency_s": round(latency, 4),
            "stats": result.stats if result else None,
            "left_out": len(fitted.left_out) if fitted else None,  # devices the context had no room for
        }
        if error and record["supported"]:
            record["scores"] = scoring.FAILED.as_dict()
            record["confusion"] = "generation failed"
        records.append(record)
        progress.update(record)
    return records


# --- output ------------------------------------------------------------------------------------

_COLUMNS = (
    ("exact", "exact_match"),
    ("wrong dev", "wrong_device"),
    ("halluc", "hallucinated_entity"),
    ("false act", "false_action"),
    ("well-formed", "well_formed"),
    ("refused", "rejected_calls"),
)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_table(report: dict[str, Any]) -> str:
    summary, s = report["summary"], report["settings"]
    model = Path(report["model"]).name + (f" + {Path(report['lora']).name}" if report["lora"] else "")
    grammar = "on" if s["grammar"] else "off"
    unsupported, errors = summary["unsupported"], summary["errors"]
    lines = [
        f"model     {model}",
        f"settings  preset {s['preset']}, template {s['template']}, examples {s['examples']}, "
        + f"grammar {grammar}, temperature {s['temperature']:g}",
        f"cases     {summary['cases'] + unsupported['cases']}: {summary['cases']} scored, "
        + f"{unsupported['cases']} unsupported (not scored), {errors['cases']} errors",
        "",
    ]
    header = f"{'category':<22}{'cases':>6}" + "".join(f"{title:>12}" for title, _ in _COLUMNS)
    lines += [header, "-" * len(header)]

    def row(name: str, rates: dict[str, Any]) -> str:
        return f"{name:<22}{rates['cases']:>6}" + "".join(f"{_pct(rates[key]):>12}" for _, key in _COLUMNS)

    lines += [row(name, rates) for name, rates in summary["by_category"].items()]
    lines += ["-" * len(header), row("all scored", summary)]
    latency = summary["latency_s"]
    if latency:
        lines.append(
            f"\nlatency per case (prompt to validated calls): mean {latency['mean']:.2f} s, "
            f"median {latency['median']:.2f} s, p90 {latency['p90']:.2f} s, max {latency['max']:.2f} s"
        )
    if summary["prompt_tokens_mean"]:
        lines.append(f"prompt {summary['prompt_tokens_mean']:.0f} tokens on average")
    if answers := summary.get("answers"):
        lines.append(
            f"status answers that state the expected facts: {answers['right']} of {answers['cases']} "
            f"({answers['right'] / answers['cases']:.1%})"
        )
    if unsupported["cases"]:
        lines.append(f"unsupported cases (counted, not scored; the model acted on {unsupported['acted']}):")
        lines += [f"  {n} x {reason}" for reason, n in unsupported["by_reason"].items()]
    if errors["cases"]:
        lines.append(f"generation errors: {', '.join(errors['ids'])}")
    return "\n".join(lines)


def call_text(call: dict[str, Any]) -> str:
    data = call.get("data") or {}
    return f"{call['service']} {call['entity_id']}" + (f" {json.dumps(data)}" if data else "")


def outcome(record: dict[str, Any], who: str) -> str:
    """One case in a line: what was said, the calls expected, and what `who` did."""
    expected = ", ".join(map(call_text, record["expected"])) or "no action"
    done = ", ".join(map(call_text, record["calls"])) or repr(record["reply_sentence"])
    return f"{record['sentence']!r}: expected {expected}; {who} {done}"


def format_confusions(records: list[dict[str, Any]], examples: int = 2) -> str:
    """The most common kinds of miss, each with a few cases: what was said, expected, done."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("confusion"):
            by_kind.setdefault(record["confusion"], []).append(record)
    if not by_kind:
        return "no misses"
    scored = sum(1 for r in records if r.get("scores"))
    lines = ["most common misses:"]
    for kind, misses in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        lines.append(f"  {len(misses):>4} ({len(misses) / max(scored, 1):.1%})  {kind}")
        for record in misses[:examples]:
            lines.append(f"          {outcome(record, 'got')}")
    return "\n".join(lines)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def model_and_adapter(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """--model and --lora as the integration's config entry would have them: without --model,
    the bundled model with Home LLM's adapter (the integration's offline default)."""
    try:
        model = args.model or defaults.bundled_model_path()
    except defaults.BundledModelMissingError as err:
        raise SystemExit(f"No --model given. {err}") from None
    if args.lora == "none" or (args.lora is None and args.model is not None):
        return model, None
    lora = Path(args.lora) if args.lora else defaults.BUNDLED_ADAPTER
    if not lora.is_file():
        raise SystemExit(f"LoRA adapter not found: {lora}")
    return model, lora


def settings_for_model(info: gguf_metadata.GGUFInfo, chat_template: str = "auto", **options: Any) -> AgentSettings:
    """As the integration's async_setup_entry: the chat template named by the GGUF unless chosen."""
    template = detect_template(info.chat_template, info.architecture) if chat_template == "auto" else chat_template
    return AgentSettings(template=template, gguf_template=info.chat_template, **options)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="GGUF model file (default: the bundled SmolLM2-135M-Instruct)")
    parser.add_argument(
        "--lora",
        help="LoRA adapter GGUF applied on top of --model, or 'none' (default: Home LLM's bundled adapter when "
        "--model is not given, else none)",
    )
    parser.add_argument("--cases", type=Path, nargs="+", default=[DEFAULT_CASES], help="case files / data generator JSONL")
    parser.add_argument("--limit", type=int, help="evaluate only the first N cases")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help=f"prompt preset (default: the agent's, {defaults.BUNDLED_PRESET} for the bundled model, else {DEFAULT_PRESET})",
    )
    parser.add_argument(
        "--chat-template",
        choices=["auto", *TEMPLATES, GGUF_TEMPLATE],
        default="auto",
        help="auto: detected from the GGUF, as the integration does",
    )
    parser.add_argument(
        "--examples",
        type=int,
        help="in-context examples (default: the agent's, "
        f"{defaults.BUNDLED_IN_CONTEXT_EXAMPLES} for the bundled model, else {defaults.DEFAULT_IN_CONTEXT_EXAMPLES})",
    )
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-p", type=float, default=defaults.DEFAULT_TOP_P)
    parser.add_argument("--top-k", type=int, default=defaults.DEFAULT_TOP_K)
    parser.add_argument("--max-tokens", type=int, default=defaults.DEFAULT_MAX_TOKENS)
    parser.add_argument(
        "--grammar",
        action=argparse.BooleanOptionalAction,
        default=defaults.DEFAULT_USE_GRAMMAR,
        help="constrain output with the GBNF grammar",
    )
    parser.add_argument(
        "--merge",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run model + adapter merged into one Q8_0 file, as the integration does by default "
        f"(kept in {MERGED_DIR}); --no-merge applies the adapter at run time",
    )
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: the worker's, all cores but one)")
    parser.add_argument("--context", type=int, default=defaults.DEFAULT_CONTEXT_LENGTH, help="context length in tokens")
    parser.add_argument("--now", default=DEFAULT_NOW, help='time shown in the prompt for cases without their own "now"')
    parser.add_argument("--report", type=Path, help=f"JSON report path (default: {DEFAULT_REPORT_DIR}/<model>.json)")
    parser.add_argument(
        "--worker-python", default=sys.executable, help="interpreter with llama-cpp-python for the worker process"
    )
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    args = parser.parse_args(argv)
    # A new agent's settings, which depend on the model as in the integration (const.agent_defaults).
    bundled = args.model is None
    if args.preset is None:
        args.preset = defaults.BUNDLED_PRESET if bundled else DEFAULT_PRESET
    if args.examples is None:
        args.examples = defaults.BUNDLED_IN_CONTEXT_EXAMPLES if bundled else defaults.DEFAULT_IN_CONTEXT_EXAMPLES
    return args


def merged_model(model: Path, lora: Path) -> Path:
    """The merge of model and adapter the integration would run, made once into MERGED_DIR."""
    out = MERGED_DIR / merge_lora.merged_name(model, lora)
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"Merging {lora.name} into {model.name} (once): {out}", file=sys.stderr, flush=True)
        merge_lora.merge(model, lora, out)
    return out


async def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    model, lora = model_and_adapter(args)
    cases = load_cases(args.cases)[: args.limit]
    info = gguf_metadata.read_gguf_metadata(model)
    settings = settings_for_model(
        info,
        args.chat_template,
        preset=args.preset,
        examples=args.examples,
        use_grammar=args.grammar,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
    )
    run_model, run_lora = model, lora
    if lora and args.merge:
        run_model, run_lora = merged_model(model, lora), None
    worker = worker_client.ModelWorker(
        str(run_model),
        lora_path=str(run_lora) if run_lora else None,
        n_ctx=args.context,
        n_threads=args.threads,
        python=args.worker_python,
    )
    started = time.time()
    try:
        await worker.start()
        records = await evaluate_cases(
            worker, cases, settings, now=datetime.fromisoformat(args.now), progress=Progress(len(cases), args.progress)
        )
    except worker_client.ModelLoadError as err:
        raise SystemExit(f"Could not load the model: {err}") from None
    finally:
        await worker.stop()

    report = {
        "model": str(model),
        "lora": str(lora) if lora else None,
        "merged": str(run_model) if run_model != model else None,
        "model_name": info.name,
        "cases_files": [str(p) for p in args.cases],
        "settings": {
            "preset": settings.preset,
            "template": settings.template,
            "examples": settings.examples,
            "grammar": settings.use_grammar,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": settings.top_k,
            "max_tokens": settings.max_tokens,
            "context": worker.context_length,
            "threads": args.threads,
            "now": args.now,
            "equivalences": list(scoring.EQUIVALENT_FIELDS),
        },
        "git_commit": _git_commit(),
        "started": datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 2),
        "summary": scoring.summarise(records),
        "cases": records,
    }
    path = args.report or DEFAULT_REPORT_DIR / f"{model.stem}{'+' + lora.stem if lora else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_table(report))
    print(format_confusions(records))
    print(f"report    {path}")
    return report


if __name__ == "__main__":
    asyncio.run(main())
