"""The CLI end to end on tiny streams: exit codes, printed tables, JSON, and errors that name the culprit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lifelong.cli import main
from lifelong.errors import OptionError


def test_run_writes_full_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    code = main(["run", "--stream", "synthetic", "--method", "finetune", "--model", "mlp-16x1", "--seed", "2",
                 "--epochs", "2", "--lr", "0.05", "--stream.tasks", "3", "--json", str(out), "--quiet"])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["config"]["seed"] == 2 and data["config"]["stream_params"]["tasks"] == 3
    assert data["config"]["train"]["epochs"] == 2 and data["config"]["train"]["threads"] == 1
    assert len(data["matrix"]) == 4 and data["rows_after"] == [0, 1, 2, 3]
    assert set(data["metrics"]) >= {"acc", "bwt", "fwt", "forgetting"}
    assert data["environment"]["torch"].startswith("2.13") and data["peak_rss_mb"] > 0
    assert len(data["config"]["run_id"]) == 16  # the config's hash
    printed = capsys.readouterr().out
    assert "random init" in printed and "ACC" in printed


def test_several_methods_print_a_comparison(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = main(["run", "--stream", "synthetic", "--method", "finetune,joint", "--model", "mlp-8x1", "--quiet",
                 "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    assert [r["config"]["method"] for r in results] == ["finetune", "joint"]
    assert results[1]["rows_after"] == [0, 3] and results[1]["metrics"]["bwt"] is None
    assert "method" in capsys.readouterr().out.splitlines()[-3]


SYN = ["run", "--stream", "synthetic", "--model", "mlp-8x1"]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["run", "--stream", "nope"], "unknown stream 'nope'; valid: babi, files, noisy-mnist, permuted-mnist, "
                                      "rotated-mnist, split-mnist, synthetic"),
        ([*SYN, "--method", "nope"], "unknown method 'nope'; valid: agem, cpg, cumulative, er, ewc, expert-gate, "
                                     "finetune, gem, generative-replay, icarl, independent, joint, l2, lwf, mas, "
                                     "net2net, online-ewc, packnet, progressive, rwalk, scp, si"),
        ([*SYN, "--stream.colour", "red"], "--stream.colour: unknown option of stream 'synthetic'; valid: "
                                           "classes_per_task, examples, features, scenario, seed, spread, tasks, "
                                           "test_examples"),
        ([*SYN, "--stream.tasks", "many"], "--stream.tasks: cannot read 'many' as int"),
        ([*SYN, "--stream.tasks", "0"], "stream synthetic: tasks must be at least 1, got 0"),
        ([*SYN, "--train.speed", "9"], "--train.speed: unknown option of training; valid: batch_size, betas, "
                                       "clip_norm, deterministic, device, epochs, eval_batch_size, input_cache_mb, "
                                       "iterations, linear_start_epochs, lr, lr_step_epochs, lr_step_factor, "
                                       "momentum, optimizer, precision, reset_optimizer, threads"),
        ([*SYN, "--method", "ewc", "--method.lamda", "9"],
         "--method.lamda: unknown option of method 'ewc'; valid: fisher, half, lam, samples"),
        ([*SYN, "--method", "ewc,si", "--method.lamda", "9"],
         "--method.lamda: unknown option; none of ewc, si has it (ewc: lam, half, fisher, samples; si: lam, half, xi)"),
        ([*SYN, "--method", "ewc", "--method.lam", "nan"], "--method.lam: must be a finite number, got 'nan'"),
        ([*SYN, "--method", "ewc", "--method.fisher", "exact"],
         "--method.fisher: 'exact' is not one of true, sample, predicted, empirical"),
        ([*SYN, "--optimizer", "rmsprop"], "--train.optimizer: 'rmsprop' is not one of adam, sgd"),
        ([*SYN, "--lr", "nan"], "--train.lr: must be a finite number, got 'nan'"),
        ([*SYN, "--lr", "inf"], "--train.lr: must be a finite number, got 'inf'"),
        ([*SYN, "--lr", "-0.1"], "--train.lr: must be a positive finite number, got -0.1"),
        ([*SYN, "--epochs", "0"], "--train.epochs: must be a whole number of at least 1, got 0"),
        ([*SYN, "--seed", "abc"], "argument --seed: invalid int value: 'abc'"),
        (["compare", "--stream", "synthetic", "--seeds", "0"], "--seeds: must be at least 1, got 0"),
        (["run", "--stream", "synthetic", "--model", "mlp-abc"],
         "--model mlp-abc: bad MLP size 'abc': use e.g. 400x2 or 1024-512-256"),
        (["run", "--stream", "synthetic", "--model", "mlp-0"],
         "--model mlp-0: bad MLP size '0': every layer needs at least one unit"),
        ([*SYN, "--init", "zeros"], "--init: unknown init 'zeros'; valid: default, trunc-normal-0.1"),
        ([*SYN, "--bogus"], "--bogus: unrecognised argument; options are --stream.KEY, --method.KEY, --train.KEY or "
                            "those in `lifelong run --help`"),
        ([*SYN, "--scenario", "tsk"], "--stream.scenario: 'tsk' is not one of task, domain, class"),
        (["run", "--preset", "missing.toml"], "missing.toml: preset file does not exist"),
        # a prefix of an option is a misspelling, not the option (argparse would take --epoch for --epochs)
        ([*SYN, "--epoch", "1"], "--epoch: unrecognised argument; options are --stream.KEY, --method.KEY, "
                                 "--train.KEY or those in `lifelong run --help`"),
        ([*SYN, "--sto", "runs.db"], "--sto: unrecognised argument; options are --stream.KEY, --method.KEY, "
                                     "--train.KEY or those in `lifelong run --help`"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(argv: list[str], line: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--quiet"]) == 2
    assert capsys.readouterr().err == f"lifelong: error: {line}\n"


def test_debug_shows_the_traceback() -> None:
    with pytest.raises(OptionError, match="unknown stream 'nope'"):
        main(["run", "--stream", "nope", "--debug"])


def test_list_shows_families_scenarios_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "methods"]) == 0
    text = capsys.readouterr().out
    assert "independent  [baseline]  scenarios: domain,task" in text and "paper:" in text
    assert main(["list", "streams"]) == 0
    text = capsys.readouterr().out
    assert "permuted-mnist  [mnist]" in text and "--stream.first_identity bool = True" in text
    assert main(["list", "models"]) == 0
    assert "mlp" in capsys.readouterr().out


def test_preset_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preset = tmp_path / "p.toml"
    preset.write_text('[stream]\nname = "synthetic"\ntasks = 2\n[model]\nname = "mlp-8x1"\n'
                      '[train]\nepochs = 1\n[methods.finetune]\n')
    out = tmp_path / "r.json"
    assert main(["run", "--preset", str(preset), "--quiet", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["config"]["model"] == "mlp-8x1"
    preset.write_text('[stream]\nname = "synthetic"\n[colours]\n')
    assert main(["run", "--preset", str(preset), "--quiet"]) == 2
    assert "p.toml: unknown section(s) ['colours']" in capsys.readouterr().err


def test_help_lists_the_dotted_options_and_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--stream.KEY VALUE" in text and "`lifelong list streams` shows every stream's keys" in text
    assert "--method.KEY VALUE" in text and "`lifelong list methods`" in text
    assert "--train.optimizer {adam,sgd} (default 'adam')" in text and "= --stream.scenario {task,domain,class}" in text
    assert main(["list", "streams"]) == 0
    listing = capsys.readouterr().out
    assert "--stream.class_order {fixed,random} = 'fixed'" in listing
    assert "noisy-mnist  [mnist]" in listing and "defaults: model mlp-50x3*; training optimizer 'adam', lr 0.003*" \
        in listing


def test_joint_row_is_labelled_after_all_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--stream", "synthetic", "--method", "joint", "--model", "mlp-8x1", "--epochs", "1",
                 "--quiet"]) == 0
    assert "\nafter all tasks " in capsys.readouterr().out


def test_report_without_matplotlib_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "runs.db"
    assert main(["run", "--stream", "synthetic", "--model", "mlp-8x1", "--epochs", "1", "--quiet", "--store",
                 str(store)]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    assert main(["report", str(store), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == ("lifelong: error: report: matplotlib is not installed; install it with "
                                       "`pip install 'matplotlib>=3.8'` (a default dependency of lifelong)\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('train = 5\n[stream]\nname = "synthetic"\n', "[train] must be a table of keys (e.g. [train] on its own line), "
                                                       "got train = 5"),
        ('[stream]\nname = "synthetic"\n[train]\nepochs = true\n', "[train] epochs: cannot read True as int"),
        ('[stream]\nname = "synthetic"\n[train]\nlr = nan\n', "[train] lr: must be a finite number, got nan"),
        ('[stream]\nname = "synthetic"\n[methods]\newc = 3\n', "[methods.ewc] must be a table, got ewc = 3"),
        ('[stream]\nname = "synthetic"\n[methods.ewc]\nlamda = 3\n',
         "[methods.ewc] lamda: unknown option of method 'ewc'; valid: fisher, half, lam, samples"),
        ('[stream]\nname = "synthetic"\ntasks = 2.5\n', "[stream] tasks: cannot read 2.5 as int"),
        ('[model]\nname = "mlp-8x1"\n', '[stream] needs a name, e.g. name = "permuted-mnist"'),
        ('[stream\nname = "synthetic"\n', "not valid TOML (Expected ']' at the end of a table declaration (at line 1, "
                                          "column 8))"),
    ],
)
def test_a_bad_preset_is_one_line_naming_the_file(text: str, problem: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    preset = tmp_path / "p.toml"
    preset.write_text(text)
    assert main(["run", "--preset", str(preset), "--quiet"]) == 2
    assert capsys.readouterr().err == f"lifelong: error: {preset}: {problem}\n"


def test_a_preset_that_is_a_folder_or_not_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--preset", str(tmp_path), "--quiet"]) == 2
    assert capsys.readouterr().err == f"lifelong: error: {tmp_path}: is a folder, not a preset file\n"
    binary = tmp_path / "p.toml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    assert main(["run", "--preset", str(binary), "--quiet"]) == 2
    assert capsys.readouterr().err == f"lifelong: error: {binary}: not UTF-8 text (invalid start byte at byte 0)\n"


def test_bad_data_files_are_one_line_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "tasks"
    data.mkdir()
    (data / "a.npz").write_bytes(b"not a zip at all")
    assert main(["run", "--stream", "files", "--stream.root", str(data), "--quiet"]) == 2
    assert capsys.readouterr().err == (f"lifelong: error: {data / 'a.npz'}: not a readable .npz file "
                                       "(File is not a zip file)\n")
    archive = tmp_path / "tasks_1-20_v1-2.tar.gz"
    archive.write_bytes(b"\x00" * 64)
    assert main(["run", "--stream", "babi", "--stream.root", str(archive), "--stream.tasks", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lifelong: error: {archive}: not a readable .tar.gz archive (") and err.count("\n") == 1
