"""docs/lecture.md cannot rot: every `lifelong` command of its ```bash blocks runs, at a tiny size.

The commands run in the page's order in one temporary folder (later ones read the stores earlier
ones wrote), in-process through ``lifelong.cli.main``, on the fake MNIST of ``conftest.py`` and the
built-in bAbI generator. Each gets options appended that shrink it (later options win): few
examples, one epoch, one random order. A misspelled command, option or key fails (exit code 2), and
so does an option that is only a prefix of a real one (argparse would accept it). Every file the
page names in backticks as an output (a ``.db``, ``.json``, ``.html`` or ``.png`` in a store, file or
folder that one of its commands names) must exist afterwards.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lifelong.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "lecture.md"
OUTPUT = re.compile(r"`([\w.-]+(?:/[\w.-]+)*\.(?:db|json|html|png))`")
TRAINING = ("run", "compare", "order")  # the commands that train, and take the shrinking options
UNSHRUNK = ("sweep", "init", "learn", "evaluate", "predict")  # would need a rule in shrink() first


def page_commands(text: str) -> list[str]:
    """Every line starting with ``lifelong `` inside a ```bash fenced block, in page order."""
    commands, in_bash = [], False
    for line in text.splitlines():
        fence = line.strip()
        if fence.startswith("```"):
            in_bash = not in_bash and fence == "```bash"
            continue
        if in_bash and line.startswith("lifelong "):
            assert not line.rstrip().endswith("\\"), f"keep each command on one line: {line}"
            commands.append(line.strip())
    return commands


def page_outputs(text: str) -> list[str]:
    """Files the page says its commands produce: backticked paths with an output suffix that are, or lie
    in, a file or folder some command of the page names (``--store noisy.db``, ``--out report-noisy``)."""
    named = {token for line in page_commands(text) for token in shlex.split(line, comments=True)}
    return sorted({m for m in OUTPUT.findall(text) if m.split("/")[0] in named})


def shrink(argv: list[str]) -> list[str]:
    """Options appended to a training command so that it runs in about a second."""
    if argv[0] not in TRAINING:
        return []
    extra = ["--quiet", "--threads", "1", "--epochs", "1", "--iterations", "none"]
    if "babi" in " ".join(argv):
        extra += ["--examples", "8", "--stream.test_examples", "8"]
    else:
        extra += ["--examples", "40"]
    if argv[0] == "order":
        extra += ["--orders", "1"]
    return extra


def known_options(command: str, capsys: pytest.CaptureFixture[str]) -> set[str] | None:
    """The options ``lifelong COMMAND --help`` lists, spelled out in full; None if there is no such command."""
    try:
        main([command, "--help"])
    except SystemExit:
        return set(re.findall(r"(?<![\w.-])--[a-z][\w-]*", capsys.readouterr().out))
    capsys.readouterr()
    return None  # the run below fails with the CLI's own message


def test_the_page_has_commands_and_outputs() -> None:
    text = PAGE.read_text()
    commands = page_commands(text)
    assert len(commands) >= 15, commands
    assert {shlex.split(c)[1] for c in commands} >= {"run", "report", "order", "list"}
    assert any(o.endswith(".png") for o in page_outputs(text))


def test_every_command_of_the_page_runs(tmp_path: Path, fake_mnist: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    text = PAGE.read_text()
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIFELONG_DATA_DIR", str(tmp_path / "cache"))
    options: dict[str, set[str] | None] = {}
    for line in page_commands(text):
        argv = shlex.split(line, comments=True)[1:]
        assert argv, line
        assert argv[0] not in UNSHRUNK, f"{line}: give `lifelong {argv[0]}` a rule in shrink() first"
        if argv[0] not in options:
            options[argv[0]] = known_options(argv[0], capsys)
        known = options[argv[0]]
        for token in argv:
            flag = token.split("=", 1)[0]
            if known is not None and flag.startswith("--") and "." not in flag:
                assert flag in known, f"{line}: {flag} is not an option of `lifelong {argv[0]}`"
        code = main(argv + shrink(argv))
        err = capsys.readouterr().err
        assert code == 0, f"{line}\nexit code {code}\n{err[-2000:]}"
        for flag in ("--store", "--json"):
            if flag in argv:
                target = argv[argv.index(flag) + 1]
                assert Path(target).is_file(), f"{line}: {target} was not written"
        if argv[0] == "report":
            folder = argv[argv.index("--out") + 1] if "--out" in argv else "report"
            assert (Path(folder) / "index.html").is_file(), f"{line}: no {folder}/index.html"
    missing = [o for o in page_outputs(text) if not (tmp_path / o).is_file()]
    assert not missing, f"the page names outputs its commands did not write: {missing}"
