"""The 20 bAbI question-answering tasks: generate them, read and write the released files, check them.

bAbI (Weston et al., "Towards AI-Complete Question Answering: A Set of Prerequisite Toy Tasks",
arXiv 1502.05698; data CC BY 3.0) is a suite of short stories, each with questions that need one
kind of reasoning: following an actor, chaining facts, counting, negation, time, deduction,
paths... Its tasks differ in answer vocabulary (task 5 names people, task 6 answers yes or no),
which makes them the classic demonstration of catastrophic forgetting in a shared answer head.

So that no download is needed, this module *generates* stories with the shape of v1.2 (same
vocabulary, sentence forms, story lengths and supporting facts) from a small simulated world,
seeded for reproducibility. It also reads the real files when a user has them, and checks
any story by re-deriving every answer from its sentences alone (`check_story`), independently of
the generator, so that a generator bug cannot hide behind itself; `review_story` also reports the
few answers it accepts only because the released files answer so.

File format (one line per sentence, ids restart at 1 with each story; <TAB> is a tab)::

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? <TAB>bathroom<TAB>1
"""

from __future__ import annotations

import hashlib
import random
import re
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from lifelong.data._babi_check import StoryReview, check_story, review_story
from lifelong.data._babi_tasks import STORY_POLICIES
from lifelong.data._babi_world import (
    Line,
    Story,
)
from lifelong.data.files import path_kind, reason, require_file, require_memory
from lifelong.errors import DataError

__all__ = [
    "TASK_NAMES",
    "BabiFormatError",
    "Line",
    "Story",
    "StoryReview",
    "check_story",
    "format_story",
    "generate_task",
    "parse_task_text",
    "read_dataset",
    "read_task_file",
    "review_story",
    "task_file_name",
    "write_dataset",
    "write_task",
]

TASK_NAMES: dict[int, str] = {
    1: "single-supporting-fact",
    2: "two-supporting-facts",
    3: "three-supporting-facts",
    4: "two-arg-relations",
    5: "three-arg-relations",
    6: "yes-no-questions",
    7: "counting",
    8: "lists-sets",
    9: "simple-negation",
    10: "indefinite-knowledge",
    11: "basic-coreference",
    12: "conjunction",
    13: "compound-coreference",
    14: "time-reasoning",
    15: "basic-deduction",
    16: "basic-induction",
    17: "positional-reasoning",
    18: "size-reasoning",
    19: "path-finding",
    20: "agents-motivations",
}

# In the released files these tasks put a space between the question mark and the TAB.
_SPACE_BEFORE_TAB = frozenset({1, 2, 3, *range(5, 15)})
_QUESTIONS_PER_SPLIT = {"en": {"train": 1000, "test": 1000}, "en-10k": {"train": 10000, "test": 1000}}
# Variants whose files hold exactly the questions of `en` / `en-10k` (shuffled is en with a letter
# cipher). The en-valid folders split en's train stories 90/10, so only their test files have a
# round count; hn's counts differ from en's and are not known here, so hn files are not counted.
_RELEASED_COUNTS = {
    "en": _QUESTIONS_PER_SPLIT["en"],
    "shuffled": _QUESTIONS_PER_SPLIT["en"],
    "en-10k": _QUESTIONS_PER_SPLIT["en-10k"],
    "shuffled-10k": _QUESTIONS_PER_SPLIT["en-10k"],
    "en-valid": {"test": 1000},
    "en-valid-10k": {"test": 1000},
}


class BabiFormatError(DataError):
    """A bAbI file or folder is missing or breaks the line format; the message says where."""


def generate_task(task_id: int, n_questions: int, seed: int) -> list[Story]:
    """Generates stories of one task until exactly `n_questions` questions have been asked.

    Like the released files, the last story is cut right after the last question needed.

    Args:
        task_id: 1 to 20.
        n_questions: how many questions in all (1000 or 10000 in the released splits).
        seed: seeds this call's own `random.Random`, so the same seed gives the same stories.

    Returns:
        The stories, in order.
    """
    policy = STORY_POLICIES.get(task_id)
    if policy is None:
        raise ValueError(f"bAbI task ids are 1 to 20, got {task_id}")
    if n_questions < 0:
        raise ValueError(f"n_questions must be >= 0, got {n_questions}")
    rng, stories, asked = random.Random(seed), [], 0
    while asked < n_questions:
        story = policy(rng)
        kept = _cut_after_questions(story, n_questions - asked)
        asked += len(kept.questions)
        stories.append(kept)
    return stories


def _cut_after_questions(story: Story, wanted: int) -> Story:
    questions_seen = 0
    for index, line in enumerate(story.lines):
        questions_seen += line.is_question
        if questions_seen == wanted:
            return Story(story.lines[: index + 1])
    return story


def task_file_name(task_id: int, split: str, variant: str = "en") -> str:
    """The released file name, e.g. `qa1_single-supporting-fact_train.txt`.

    The `en-valid` folders use short names (`qa1_valid.txt`) and have a validation split.
    """
    if variant.startswith("en-valid"):
        return f"qa{task_id}_{split}.txt"
    return f"qa{task_id}_{TASK_NAMES[task_id]}_{split}.txt"


def format_story(story: Story, task_id: int | None = None) -> str:
    """The story's lines as in the released files (with their trailing newline)."""
    space = " " if task_id in _SPACE_BEFORE_TAB else ""
    out = []
    for line in story.lines:
        if line.is_question:
            support = " ".join(map(str, line.supporting))
            out.append(f"{line.id} {line.text}{space}\t{line.answer}\t{support}\n")
        else:
            out.append(f"{line.id} {line.text}\n")
    return "".join(out)


def write_task(stories: Iterable[Story], path: str | Path, *, task_id: int | None = None) -> None:
    """Writes stories in the released line format.

    Args:
        stories: what to write.
        path: the file; its parent folders are created.
        task_id: decides the released files' space before the TAB of a question; by default
            read from a `qaN_` file name, so that generated files match the real ones byte for byte.
    """
    path = Path(path)
    if task_id is None:
        match = re.match(r"qa(\d+)_", path.name)
        task_id = int(match.group(1)) if match else None
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(format_story(story, task_id) for story in stories)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_dataset(root: str | Path, variant: str = "en", seed: int = 0, task_ids: Iterable[int] = TASK_NAMES) -> Path:
    """Generates the train and test files of a variant in the released layout.

    `en` has 1000 questions per split, `en-10k` 10000 train questions; as in the release, the
    test files of both are the same (for the same seed). Each (task, split) gets its own seed
    derived from `seed`, so splits are independent draws and adding a task changes no other.

    Returns:
        The folder written, `root/<variant>`.
    """
    if variant not in _QUESTIONS_PER_SPLIT:
        raise ValueError(f"variant must be one of {sorted(_QUESTIONS_PER_SPLIT)}, got {variant!r}")
    folder = Path(root) / variant
    for task_id in task_ids:
        for split, n_questions in _QUESTIONS_PER_SPLIT[variant].items():
            stories = generate_task(task_id, n_questions, _split_seed(seed, task_id, split))
            write_task(stories, folder / task_file_name(task_id, split), task_id=task_id)
    return folder


def _split_seed(seed: int, task_id: int, split: str) -> int:
    digest = hashlib.sha256(f"babi/{seed}/{task_id}/{split}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def read_task_file(path: str | Path, questions: int | None = None) -> list[Story]:
    """Reads one task file in the released format.

    Args:
        path: the file.
        questions: how many questions the file must hold (the released files hold exactly 1000,
            or 10000 for a 10k train file), so that a truncated copy is caught; None accepts any
            number but none.

    Raises:
        BabiFormatError: the file is missing, unreadable, not UTF-8, empty, cut off inside a line,
            holds no or the wrong number of questions, or a line breaks the format (the message
            names the file, and the 1-based line number where one is at fault).
    """
    path = Path(path)
    require_file(path, "no such bAbI task file", BabiFormatError)
    try:
        require_memory(path, "file holds", path.stat().st_size, BabiFormatError)
        raw = path.read_bytes()
    except OSError as error:
        raise BabiFormatError(f"{path}: cannot be read ({reason(error)})") from None
    return _task_stories(raw, str(path), questions)


def _task_stories(raw: bytes, source: str, questions: int | None) -> list[Story]:
    """The stories of a task file's bytes, checked to be whole: UTF-8, ending in a newline, asking questions."""
    if not raw:
        raise BabiFormatError(f"{source}: empty (a bAbI task file holds stories with questions)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BabiFormatError(f"{source}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    stories = parse_task_text(text, source)
    asked = sum(len(story.questions) for story in stories)
    if not asked:
        raise BabiFormatError(f"{source}: no questions (a bAbI task file holds stories with questions)")
    if not text.endswith("\n"):
        last = len(text.splitlines())
        raise BabiFormatError(f"{source}: line {last}: no newline at the end (the file is cut short?)")
    if questions is not None and asked != questions:
        counted = f"{asked} question{'s' if asked != 1 else ''}"
        raise BabiFormatError(f"{source}: {counted}, but the released file holds {questions} (cut short?)")
    return stories


def parse_task_text(text: str, source: str) -> list[Story]:
    """Parses the released line format; `source` names the file in error messages."""
    stories: list[list[Line]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = _parse_line(raw, stories[-1] if stories else [])
        except ValueError as error:
            shown = raw if len(raw) <= 100 else f"{raw[:100]}..."
            raise BabiFormatError(f"{source}: line {number}: {error}: {shown!r}") from None
        if line.id == 1:
            stories.append([])
        stories[-1].append(line)
    return [Story(tuple(lines)) for lines in stories]


def _parse_line(raw: str, story: Sequence[Line]) -> Line:
    """One line, checked against the story it continues (empty when none has begun)."""
    head, _, rest = raw.partition(" ")
    if not head:
        raise ValueError("missing line id")
    if not head.isdecimal():
        raise ValueError(f"line id {head!r} is not an integer")
    line_id, previous = int(head), story[-1].id if story else 0
    if line_id != 1 and line_id != previous + 1:
        expected = f"{previous + 1} or 1" if previous else "1"
        raise ValueError(f"line id {line_id} should be {expected} (1 starts a new story)")
    fields = rest.split("\t")
    text = fields[0].strip()
    if not text:
        raise ValueError("no sentence after the line id")
    if len(fields) == 1:
        if text.endswith("?"):
            raise ValueError("question without an answer (expected question TAB answer TAB ids)")
        return Line(line_id, text)
    if len(fields) > 3:
        raise ValueError("too many TABs (expected question TAB answer TAB ids)")
    answer = fields[1].strip()
    if not answer:
        raise ValueError("question without an answer")
    supporting = tuple(_supporting_id(token, line_id, story) for token in "".join(fields[2:]).split())
    return Line(line_id, text, answer, supporting)


def _supporting_id(token: str, line_id: int, story: Sequence[Line]) -> int:
    if not token.isdecimal():
        raise ValueError(f"supporting fact {token!r} is not an integer")
    fact = int(token)
    if line_id == 1 or not 1 <= fact < line_id:
        raise ValueError(f"supporting fact {fact} does not name an earlier line of this story")
    if story[fact - 1].is_question:
        raise ValueError(f"supporting fact {fact} is a question, not a statement")
    return fact


def read_dataset(
    root: str | Path, variant: str = "en", task_ids: Iterable[int] = TASK_NAMES
) -> dict[int, tuple[list[Story], list[Story]]]:
    """Reads the train and test files of some tasks from the released layout.

    Args:
        root: the folder holding `<variant>/` (e.g. the unpacked `tasks_1-20_v1-2`), or the
            released `.tar.gz` itself, read without unpacking.
        variant: `en`, `en-10k`, `en-valid`, `shuffled`, `hn`, ... (the sub-folder name).
        task_ids: which tasks to read.

    Returns:
        task id -> (train stories, test stories).

    Raises:
        BabiFormatError: a folder or file is missing (the message names the expected path), a
            file breaks the format, or it holds other than the released number of questions
            (1000, or 10000 for a 10k train file; the variant's name says which).
    """
    root = Path(root)
    kind = path_kind(root, BabiFormatError)
    if kind is None:
        raise BabiFormatError(f"{root}: does not exist (expected a bAbI folder or its .tar.gz)")
    if kind != "dir":
        return _read_archive(root, variant, task_ids)
    folder = root / variant
    if path_kind(folder, BabiFormatError) != "dir":
        raise BabiFormatError(f"{folder}: no such bAbI folder (expected {root}/<variant>/)")
    counts = _RELEASED_COUNTS.get(variant, {})

    def read(task_id: int, split: str) -> list[Story]:
        return read_task_file(folder / task_file_name(task_id, split, variant), counts.get(split))

    return {task_id: (read(task_id, "train"), read(task_id, "test")) for task_id in task_ids}


def _read_archive(archive: Path, variant: str, task_ids: Iterable[int]) -> dict[int, tuple[list[Story], list[Story]]]:
    """The tasks from the released ``.tar.gz``, read without unpacking; a broken archive is one line."""
    require_file(archive, "does not exist", BabiFormatError)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {"/".join(m.name.split("/")[-2:]): m for m in tar.getmembers() if m.isfile()}

            def read(task_id: int, split: str) -> list[Story]:
                wanted = f"{variant}/{task_file_name(task_id, split, variant)}"
                return _read_member(archive, tar, members, wanted, _RELEASED_COUNTS.get(variant, {}).get(split))

            return {task_id: (read(task_id, "train"), read(task_id, "test")) for task_id in task_ids}
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise BabiFormatError(f"{archive}: not a readable .tar.gz archive ({reason(error)})") from None


def _read_member(
    archive: Path, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], wanted: str, questions: int | None
) -> list[Story]:
    """One task file of the archive, named ``archive:member`` in messages (escaped if unprintable)."""
    member = members.get(wanted)
    extracted = tar.extractfile(member) if member is not None else None
    if member is None or extracted is None:
        raise BabiFormatError(f"{archive}: no member */{wanted}")
    name = member.name if member.name.isprintable() else ascii(member.name)
    require_memory(archive, f"member {name} holds", member.size, BabiFormatError)
    return _task_stories(extracted.read(), f"{archive}:{name}", questions)
