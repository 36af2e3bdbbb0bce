"""The ``lifelong`` command: thin over the library.

    lifelong run                          the lecture's demo (src/lifelong/demo.toml): finetune, EWC, joint
    lifelong run --stream split-mnist --scenario class --method si --seed 3 --json out.json
    lifelong run --preset configs/hw14-permuted.toml --method ewc --method.lam 100
    lifelong compare --stream permuted-mnist --tasks 10 --method finetune,joint --seeds 3 --store runs.db
    lifelong order --stream split-mnist --scenario task --orders 4 --json order.json
    lifelong sweep grid.toml --store runs.db --workers 2          (a grid of configurations x seeds)
    lifelong report runs.db --out report/
    lifelong init --state s.ll --method ewc --model mlp-64; lifelong learn --state s.ll --task data/t1
    lifelong list streams|methods|models

Options of streams, methods and training are generated from their signatures and dataclass fields:
``--stream.KEY``, ``--method.KEY``, ``--train.KEY`` (and the shortcuts below). Any error a user can
cause is one line, ``lifelong: error: <file or option>: <problem>``, exit code 2; a run that diverges
exits with 3 and keeps the rows of R it finished; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from lifelong._registry import METHODS, MODELS, STREAMS
from lifelong.api import (
    DEFAULT_MODEL,
    build_learner,
    build_method,
    build_stream,
    default_model,
    run_config,
    suited_defaults,
    train_config,
)
from lifelong.config import TrainConfig
from lifelong.deploy import add_deploy_parsers, deploy_command
from lifelong.errors import DivergedError, LifelongError, OptionError, StoreError, one_line
from lifelong.loggers import parse_log
from lifelong.observers import Observer, Progress
from lifelong.options import choices, options_of, type_name
from lifelong.report.tables import comparison_table, header, matrix_table, metrics_line, statistics_table
from lifelong.result import Result
from lifelong.resume import RunCheckpoints
from lifelong.stats import compare
from lifelong.streams.scenario import ScenarioName
from lifelong.sweep.command import add_sweep_parser, sweep_command
from lifelong.train import train as train_loop

DEFAULT_STREAM = "permuted-mnist"
DEMO_PRESET = Path(__file__).with_name("demo.toml")
DIVERGED_EXIT = DivergedError.exit_code
# Built-in errors that bad input raises from code outside lifelong's boundaries (the OS, numpy): exit code 2.
USER_CAUSED = (KeyError, ValueError, TypeError, OSError, MemoryError)

SHORTCUTS = {  # --flag -> (section, key)
    "tasks": ("stream", "tasks"), "scenario": ("stream", "scenario"), "examples": ("stream", "examples"),
    "epochs": ("train", "epochs"), "iterations": ("train", "iterations"), "lr": ("train", "lr"),
    "optimizer": ("train", "optimizer"), "batch_size": ("train", "batch_size"), "momentum": ("train", "momentum"),
    "threads": ("train", "threads"), "device": ("train", "device"), "precision": ("train", "precision"),
}


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line of ours (its own print the usage too), exit code 2. Options must be
    spelled out: argparse would otherwise take a misspelt prefix (``--ou``) for the option it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise OptionError(message)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command == "list":
            if extra:
                raise OptionError(f"unexpected arguments: {' '.join(extra)}")
            print(list_text(args.what))
            return 0
        if args.command == "report":
            return report_command(args, extra)
        if args.command in ("run", "compare", "order"):
            return run_command(args, extra)
        if args.command == "sweep":
            return sweep_command(args, extra)
        if args.command in ("init", "learn", "evaluate", "predict"):
            return deploy_command(args, extra, _dotted)
        parser.print_help()
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("lifelong: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            raise
        print(f"lifelong: error: {_describe(err)}", file=sys.stderr)
        return err.exit_code if isinstance(err, LifelongError) else 2 if isinstance(err, USER_CAUSED) else 1


def _describe(err: Exception) -> str:
    """One line for any error: ours say where and what; a file system error names its file."""
    if isinstance(err, LifelongError):
        return one_line(err)
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or one_line(err)}"
    if isinstance(err, USER_CAUSED):
        return one_line(err.args[0] if err.args else err)
    return f"internal error ({type(err).__name__}: {one_line(err)}); run again with --debug for the traceback"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lifelong", description="Lifelong (continual) learning with PyTorch.",
                     epilog="Add --debug to any command to see the traceback of an error.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="train through a stream and print the accuracy matrix",
                         description="Without options: the lecture's demo of catastrophic forgetting "
                                     f"({DEMO_PRESET.name}: finetune, EWC, joint on permuted MNIST).",
                         epilog=_dotted_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    _run_options(run)
    compare = sub.add_parser("compare", help="several methods over several seeds: means, t intervals, paired tests",
                             description="Like run, then per configuration n, mean ± standard error and a 95% "
                                         "Student-t interval over seeds, and paired tests against --baseline.",
                             epilog=_dotted_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    _run_options(compare)
    order = sub.add_parser("order", help="how the order of tasks moves the metrics; transfer matrix; a curriculum",
                           description="Run the stream in its order and K seeded random orders, measure the "
                                       "pairwise transfer matrix (train on task i alone, test on j), propose a "
                                       "curriculum from it and rank it among the random orders.",
                           epilog=_dotted_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    _run_options(order)
    order.add_argument("--orders", type=int, default=4, help="random orders besides the given one (default 4)")
    add_sweep_parser(sub)
    add_deploy_parsers(sub)
    rep = sub.add_parser("report", help="HTML + PNG report of a results store (reads it, never writes it)")
    rep.add_argument("store", help="the SQLite file written by --store")
    rep.add_argument("--out", default="report", help="output directory (default: report/)")
    rep.add_argument("--task", type=int, default=1, help="the task whose accuracy curve is drawn (1-based)")
    lst = sub.add_parser("list", help="show what exists, with every option's type and default")
    lst.add_argument("what", choices=["streams", "methods", "models"])
    return parser


def _dotted_help() -> str:
    """The generated options, for --help: where to see each stream's and method's keys, every training key."""
    train = "\n".join(f"  --train.{o.name} {o.type_name} (default {o.default!r})" for o in options_of(TrainConfig))
    return ("options of streams, methods and training (generated from their signatures):\n"
            "  --stream.KEY VALUE    an option of the stream: `lifelong list streams` shows every stream's keys, "
            "types, choices and defaults\n"
            "  --method.KEY VALUE    a hyperparameter of the method(s): `lifelong list methods` shows them\n"
            "  --train.KEY VALUE     training (defaults below; a stream may suit others: `lifelong list streams`):\n"
            f"{train}\n"
            "An unknown key or a bad value is an error naming it and listing the valid ones.")


def _run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--stream", help=f"stream name (default {DEFAULT_STREAM}); see `lifelong list streams`")
    run.add_argument("--method", help="method name or a comma-separated list (default finetune); "
                                      "see `lifelong list methods`")
    run.add_argument("--model", help=f"backbone, e.g. mlp-400x2 (default: the stream's suited model, else "
                                     f"{DEFAULT_MODEL}); see `lifelong list models`")
    run.add_argument("--init", help="weight initialisation {default,trunc-normal-0.1} (see models/init.py)")
    run.add_argument("--seed", type=int, default=0, help="fixes weights, data order, method sampling (default 0)")
    run.add_argument("--seeds", type=int, default=1, help="run N seeds: seed..seed+N-1 (default 1)")
    run.add_argument("--preset", help="a TOML preset (configs/*.toml) of a published protocol")
    run.add_argument("--json", help="write the full result(s) as JSON to this path (checked before training)")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument("--store", help="SQLite file: store every run there and skip runs already finished "
                                     "(checked before training)")
    run.add_argument("--checkpoints", help="folder for per-task checkpoints (default with --store: a folder "
                                           "beside it, runs.db -> runs.checkpoints); the same command resumes there")
    run.add_argument("--keep-checkpoints", action="store_true", help="keep checkpoints after a run finishes")
    run.add_argument("--rerun-stale", action="store_true", help="redo stored runs that other code computed")
    run.add_argument("--log", action="append", default=[], metavar="KIND=TARGET",
                     help="log each run: tensorboard=DIR (event files; pip install -e \".[tensorboard]\") or "
                          "csv=FILE (one long-format table for all runs); repeatable")
    run.add_argument("--baseline", help="compare: the configuration the paired tests compare against (a method "
                                        "name or label; default the first)")
    run.add_argument("--debug", action="store_true", help="show the traceback of an error")
    train_options = {o.name: o for o in options_of(TrainConfig)}
    for flag, (section, key) in SHORTCUTS.items():
        annotation = train_options[key].annotation if section == "train" else ScenarioName if key == "scenario" \
            else int
        shown = f" {type_name(annotation)}" if choices(annotation) else ""
        run.add_argument(f"--{flag.replace('_', '-')}", dest=f"short_{flag}", metavar=flag.upper(),
                         help=f"= --{section}.{key}{shown}")


def _dotted(extra: list[str]) -> dict[str, dict[str, str]]:
    """``--stream.tasks 10 --method.lam=5`` -> {"stream": {"tasks": "10"}, "method": {"lam": "5"}}."""
    out: dict[str, dict[str, str]] = {"stream": {}, "method": {}, "train": {}}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or "." not in token:
            raise OptionError(f"{token}: unrecognised argument; options are --stream.KEY, --method.KEY, --train.KEY "
                              "or those in `lifelong run --help`")
        key, _, value = token[2:].partition("=")
        if not value:
            if i + 1 >= len(extra):
                raise OptionError(f"{token}: needs a value")
            value = extra[i + 1]
            i += 1
        section, _, name = key.partition(".")
        if section not in out:
            raise OptionError(f"{token}: unknown option section {section!r}; valid: stream, method, train")
        out[section][name.replace("-", "_")] = value
        i += 1
    return out


class _Recorder(Observer):
    """Writes a run's status to the store as it goes: ``running`` before the first step, then the result
    or its failure. A final write that fails puts the result beside the store and says where."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def run_started(self, config: Any, phase_names: list[str]) -> None:
        self._run_id: str = config.run_id
        self.store.start(config.to_dict(), config.run_id)

    def run_finished(self, result: Any) -> None:
        _keep(result, lambda: self.store.put(result), self.store.path)

    def run_failed(self, result: Any, message: str) -> None:
        if result is None:
            self.store.fail(self._run_id, message)
            return
        _keep(result, lambda: self.store.fail(result.run_id, message, result), self.store.path)


def _keep(result: Result, write: Any, target: Path) -> None:
    """Run ``write``; if it fails, save the result as JSON beside ``target`` and print the path."""
    try:
        write()
    except (StoreError, OSError) as err:
        fallback = _fallback_path(Path(target), result.run_id)
        fallback.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        print(f"lifelong: warning: {one_line(err)}; the result of run {result.run_id} is in {fallback}",
              file=sys.stderr)


def _fallback_path(target: Path, run_id: str) -> Path:
    """Beside the target if its folder is writable, else in the current folder."""
    name = f"{target.name}.{run_id}.json"
    for folder in (target.parent, Path.cwd()):
        try:
            probe = folder / name
            probe.touch()
            return probe
        except OSError:
            continue
    raise StoreError(f"{target}: cannot write the result anywhere")


def _check_json_target(path: str) -> None:
    from lifelong.store import check_writable

    try:
        check_writable(path, "JSON file")
    except StoreError as err:
        raise OptionError(f"--json {err}") from None


def run_command(args: argparse.Namespace, extra: list[str]) -> int:
    from lifelong.presets import load_preset
    from lifelong.store import Store

    if args.seeds < 1:
        raise OptionError(f"--seeds: must be at least 1, got {args.seeds}")
    if args.seed < 0:
        raise OptionError(f"--seed: must be at least 0, got {args.seed}")
    if args.json:
        _check_json_target(args.json)
    given = _dotted(extra)
    for flag, (section, key) in SHORTCUTS.items():
        value = getattr(args, f"short_{flag}")
        if value is not None:
            given[section][key] = value
    demo = args.stream is None and args.method is None and args.preset is None
    preset = load_preset(args.preset or DEMO_PRESET) if (args.preset or demo) else None
    stream_name = args.stream or (preset.stream if preset else DEFAULT_STREAM)
    STREAMS.get(stream_name)  # an unknown name fails here, before anything else
    if args.method:
        methods = [m.strip() for m in args.method.split(",") if m.strip()]
    else:
        methods = list(preset.methods) if preset and preset.methods else ["finetune"]
    for name in methods:
        METHODS.get(name)
    model = args.model or (preset.model if preset else default_model(stream_name))
    init = args.init or (preset.init if preset else "default")
    train = train_config(stream_name, given["train"], base=preset.train if preset else None)
    stream_params = {**(preset.stream_params if preset and stream_name == preset.stream else {}), **given["stream"]}
    _check_method_keys(methods, given["method"])
    args.loggers = [parse_log(spec) for spec in args.log]  # targets checked before any training
    store = Store(args.store) if args.store else None
    if args.command == "order":
        try:
            return _order(args, stream_name, stream_params, methods, given["method"], preset, model, init, train,
                          store)
        finally:
            if store is not None:
                store.close()
    results: list[dict[str, Any]] = []
    diverged = False
    try:
        for seed in range(args.seed, args.seed + args.seeds):
            stream = build_stream(stream_name, stream_params, seed)
            for name in methods:
                outcome = _run_one(args, stream, name, preset, given["method"], len(methods), model, seed, init, train,
                                   store)
                diverged |= outcome.get("status") == "failed"
                results.append(outcome)
        stale = store.stale([r["config"]["run_id"] for r in results]) if store is not None else []
    finally:
        if store is not None:
            store.close()
    if stale:
        print(f"\n{len(stale)} of the {len(results)} runs read from {args.store} are stale (computed by other code); "
              "--rerun-stale redoes them")
    finished = [r for r in results if r.get("status", "finished") == "finished"]
    statistics = None
    if args.command == "compare" and finished:
        statistics = compare(finished, args.baseline)
        print("\n" + statistics_table(statistics))
    elif len(finished) > 1:
        print("\n" + comparison_table(finished))
    if demo and not diverged:
        print("\nFinetune forgets earlier permutations (BWT < 0); EWC guards the weights that mattered to earlier "
              "tasks and keeps most of them; joint training on all tasks at once shows the model has the capacity "
              "for all of them (the upper bound).")
    if args.json:
        payload: Any = results[0] if len(results) == 1 else results
        if statistics is not None:
            payload = {"runs": results, "statistics": statistics}
        text = json.dumps(payload, indent=2, default=str) + "\n"
        try:
            Path(args.json).write_text(text)
        except OSError as err:
            fallback = _fallback_path(Path(args.json), "results")
            fallback.write_text(text)
            print(f"lifelong: warning: {args.json}: {err.strerror}; the results are in {fallback}", file=sys.stderr)
    return DIVERGED_EXIT if diverged else 0


def _check_method_keys(methods: list[str], keys: dict[str, str]) -> None:
    """With several methods, ``--method.KEY`` goes to those that have KEY; one that none has is an error."""
    if len(methods) == 1:
        return  # build_method names the method and lists its keys
    for key in keys:
        if not any(key in {o.name for o in options_of(METHODS.get(n).factory)} for n in methods):
            listing = "; ".join(f"{n}: {', '.join(o.name for o in options_of(METHODS.get(n).factory)) or '(none)'}"
                                for n in methods)
            raise OptionError(f"--method.{key}: unknown option; none of {', '.join(methods)} has it ({listing})")


def _run_one(args: argparse.Namespace, stream: Any, name: str, preset: Any, given: dict[str, str], n_methods: int,
             model: str, seed: int, init: str, train: TrainConfig, store: Any, show: bool = True) -> dict[str, Any]:
    """One configuration: read back from the store, or trained (and stored as it goes); printed."""
    params = {**(preset.methods.get(name, {}) if preset else {})}
    if n_methods > 1:  # --method.KEY applies to the methods that have KEY
        valid = {o.name for o in options_of(METHODS.get(name).factory)}
        params.update({k: v for k, v in given.items() if k in valid})
    else:
        params.update(given)
    method = build_method(name, params)
    config = run_config(stream, method, model, seed, train, init)
    if store is not None and store.has(config.run_id, rerun_stale=args.rerun_stale):
        result = store.get(config.run_id).to_dict()
        stale = " (stale: computed by other code; --rerun-stale redoes it)" if store.stale([config.run_id]) else ""
        if show:
            print(f"\n(stored run {config.run_id}, skipped){stale}")
    else:
        learner = build_learner(model, stream, seed, init)
        observers: list[Observer] = [] if args.quiet else [Progress(label=name)]
        observers.extend(args.loggers)
        if store is not None:
            observers.append(_Recorder(store))
        folder = args.checkpoints or (Path(args.store).with_suffix(".checkpoints") if args.store else None)
        checkpoints = RunCheckpoints(folder, config.run_id, keep=args.keep_checkpoints) if folder else None
        try:
            result = train_loop(stream, method, learner, config, observers, checkpoints).to_dict()
        except DivergedError as err:
            print(f"lifelong: error: {one_line(err)}", file=sys.stderr)
            result = err.result.to_dict()
            print(f"\n{header(result)}\n{matrix_table(result)}\n(stopped: the rows above are what it finished)",
                  flush=True)
            return result
        if checkpoints is not None:
            checkpoints.finish()
    if show:
        print(f"\n{header(result)}\n{matrix_table(result)}\n{metrics_line(result)}", flush=True)
    return result


def _order(args: argparse.Namespace, stream_name: str, stream_params: dict[str, Any], methods: list[str],
           method_keys: dict[str, str], preset: Any, model: str, init: str, train: TrainConfig, store: Any) -> int:
    """``lifelong order``: the order study of :mod:`lifelong.order`, printed, stored and written to --json."""
    from lifelong.order import spread, study, transfer_row

    if len(methods) != 1:
        raise OptionError(f"--method: order studies one method at a time, got {', '.join(methods)}")
    if args.orders < 0:
        raise OptionError(f"--orders: must be at least 0, got {args.orders}")
    stream = build_stream(stream_name, stream_params, args.seed)
    if len(stream) < 2:
        raise OptionError(f"--stream {stream_name}: one task has no order to study")
    quiet = argparse.Namespace(**{**vars(args), "quiet": True})

    def run(reordered: Any, label: str) -> Result:
        print(f"{label} ...", file=sys.stderr, flush=True)
        done = _run_one(quiet, reordered, methods[0], preset, method_keys, 1, model, args.seed, init, train, store,
                        show=False)
        return Result.from_dict(done)

    found = study(stream, args.orders, args.seed, run,
                  lambda i: transfer_row(stream, i, model, args.seed, train, init, store))
    names = [t.name for t in stream]
    width = max(14, len(str(list(range(len(stream))))) + 2)
    lines = [f"order study: {methods[0]} on {stream_name} ({len(stream)} tasks, {stream.scenario.value}-incremental), "
             f"the given order and {found['random_orders']} random ones (seed {args.seed})",
             f"{'order':<{width}}{'ACC':>8}{'BWT':>8}{'FWT':>8}"]
    for m in found["orders"]:
        lines.append(f"{m['order']!s:<{width}}" + "".join(_percent(m[k]) for k in ("acc", "bwt", "fwt")))
    for metric in ("acc", "bwt", "fwt"):
        s = spread(found["orders"], metric)
        if s["mean"] is not None:
            lines.append(f"{metric.upper()}: mean {100 * s['mean']:.1f}, range {100 * s['min']:.1f} .. "
                         f"{100 * s['max']:.1f} (best {s['best']}, worst {s['worst']})")
    lines.append("transfer T[i, j] (% correct on task j after training on task i alone):")
    column = max(8, *(len(n) + 1 for n in names))  # whole task names: "digits 0,1" and "qa5" alike
    first = max(width, column)
    lines.append(f"{'':<{first}}" + "".join(f"{n:>{column}}" for n in names))
    for name, row in zip(names, found["transfer"], strict=True):
        lines.append(f"{name:<{first}}" + "".join(f"{_percent(v).strip():>{column}}" for v in row))
    proposed = found["proposed_result"]
    lines.append(f"proposed curriculum {found['proposed']} ({found['rule']}): ACC {100 * proposed['acc']:.1f}, "
                 f"rank {found['proposed_rank']} of {found['random_orders'] + 1} by ACC (it and the "
                 f"{found['random_orders']} random orders)")
    print("\n".join(lines))
    if args.json:
        payload = {**found, "spread": {m: spread(found["orders"], m) for m in ("acc", "bwt", "fwt")},
                   "method": methods[0], "stream": stream_name, "task_names": names}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 0


def _percent(value: float | None) -> str:
    return f"{'-':>8}" if value is None or value != value else f"{100 * value:>8.1f}"


def report_command(args: argparse.Namespace, extra: list[str]) -> int:
    from lifelong.report.html import write_report
    from lifelong.store import Store

    if extra:
        raise OptionError(f"unexpected arguments: {' '.join(extra)}")
    with Store(args.store, readonly=True) as store:
        results = store.results()
        counts = store.counts()
        unfinished = store.unfinished()
    if not results:
        raise StoreError(f"{args.store}: no finished runs to report")
    index = write_report(results, Path(args.out), task=args.task - 1, others=unfinished)
    others = ", ".join(f"{n} {status}" for status, n in counts.items() if status != "finished")
    print(f"wrote {index} ({len(results)} runs{'; not shown: ' + others if others else ''})")
    return 0


def list_text(what: str) -> str:
    """What exists: each entry with its family, options and defaults (and for methods: scenarios, paper).

    The defaults shown are the ones a run uses: for streams, the model and training settings a run of
    that stream gets when none are given (the stream's suited ones over ``TrainConfig``'s).
    """
    lines = []
    if what == "streams":
        for e in STREAMS.entries():
            lines.append(f"{e.name}  [{e.family}]  {e.summary}")
            lines += [f"    --stream.{o.name} {o.type_name} = {o.default!r}" for o in options_of(e.factory)]
            train = train_config(e.name, {})
            suited = suited_defaults(e.name).get("train", {})
            shown = ", ".join(f"{k} {getattr(train, k)!r}{'*' if k in suited else ''}"
                              for k in ("optimizer", "lr", "epochs", "iterations", "batch_size"))
            star = "*" if "model" in suited_defaults(e.name) else ""
            lines.append(f"    defaults: model {default_model(e.name)}{star}; training {shown}")
        lines.append("(* suited to the stream; the rest are TrainConfig's defaults. Bare `lifelong run` uses "
                     f"{DEMO_PRESET.name} instead.)")
    elif what == "methods":
        for m in METHODS.entries():
            cls: Any = m.factory
            scenarios = ",".join(s.value for s in sorted(cls.scenarios, key=lambda s: s.value))
            lines.append(f"{m.name}  [{m.family}]  scenarios: {scenarios}"
                         f"{'  grows' if cls.grows else ''}{'  task id at test' if cls.uses_task_id_at_test else ''}")
            lines.append(f"    {m.summary}")
            lines.append(f"    paper: {cls.paper}")
            lines += [f"    --method.{o.name} {o.type_name} = {o.default!r}" for o in options_of(cls)]
    else:
        for e in MODELS.entries():
            lines.append(f"{e.name}  [{e.family}]  {e.summary}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
