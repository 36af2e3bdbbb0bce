"""The CLI end to end on tiny streams: exit codes, printed tables, JSON, and errors that name the culprit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifelong.cli import main


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--stream", "nope"], "unknown stream 'nope'; valid: "),
        (["run", "--stream", "synthetic", "--method", "nope"], "unknown method 'nope'; valid: "),
        (["run", "--stream", "synthetic", "--stream.colour", "red"], "unknown option stream.synthetic.colour; valid: "),
        (["run", "--stream", "synthetic", "--stream.tasks", "many"], "cannot read 'many' as int"),
        (["run", "--stream", "synthetic", "--train.speed", "9"], "unknown option train.speed; valid: batch_size"),
        (["run", "--stream", "synthetic", "--method.lam", "9"], "unknown option --method.lam: none of finetune"),
        (["run", "--stream", "synthetic", "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'; valid: adam, sgd"),
        (["run", "--stream", "synthetic", "--model", "mlp-abc"], "bad MLP size 'abc'"),
        (["run", "--stream", "synthetic", "--bogus"], "unrecognised argument '--bogus'"),
        (["run", "--preset", "missing.toml"], "missing.toml: preset file does not exist"),
    ],
)
def test_bad_input_is_a_clear_error(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--quiet"]) == 2
    assert message in capsys.readouterr().err


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
