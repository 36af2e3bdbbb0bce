"""bAbI: the generator is seeded and shaped like the released v1.2 files, its answers survive an
independent checker (which also passes the verbatim v1.2 examples and catches corrupted answers),
and the reader round-trips the file format and names file and line when a file is malformed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import tarfile
from functools import partial
from pathlib import Path

import pytest

from conftest import one_line_error
from lifelong.data.babi import (
    TASK_NAMES,
    BabiFormatError,
    Line,
    Story,
    check_story,
    format_story,
    generate_task,
    parse_task_text,
    read_dataset,
    read_task_file,
    review_story,
    task_file_name,
    write_dataset,
    write_task,
)

TASKS = range(1, 21)
QUESTIONS = 200


@pytest.fixture(scope="module")
def generated() -> dict[int, list[Story]]:
    return {task: generate_task(task, QUESTIONS, seed=0) for task in TASKS}


def _text(stories: list[Story], task: int) -> str:
    return "".join(format_story(story, task) for story in stories)


def _answers(stories: list[Story]) -> list[str]:
    return [question.answer or "" for story in stories for question in story.questions]


# --- generator ------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_stories_other_seed_other_stories(task: int, generated: dict[int, list[Story]]) -> None:
    assert _text(generate_task(task, QUESTIONS, seed=0), task) == _text(generated[task], task)
    assert _text(generate_task(task, QUESTIONS, seed=1), task) != _text(generated[task], task)


def test_stories_do_not_depend_on_the_interpreter_hash_seed() -> None:
    """Sets of strings iterate in a per-process order; the generator must never depend on it."""
    script = (
        "import hashlib; from lifelong.data.babi import generate_task, format_story\n"
        "text = ''.join(format_story(s) for t in range(1, 21) for s in generate_task(t, 60, seed=5))\n"
        "print(hashlib.sha256(text.encode()).hexdigest())"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for hash_seed in ("1", "2")
    ]
    digests = {run.communicate(timeout=120)[0] for run in runs}
    expected = "".join(format_story(s) for t in TASKS for s in generate_task(t, 60, seed=5))
    assert digests == {hashlib.sha256(expected.encode()).hexdigest() + "\n"}


@pytest.mark.parametrize("task", TASKS)
def test_every_generated_answer_is_rederived_by_the_checker(task: int, generated: dict[int, list[Story]]) -> None:
    problems = [problem for story in generated[task] for problem in check_story(task, story)]
    assert problems == []


@pytest.mark.parametrize("n_questions", [0, 1, 7, 1000])
@pytest.mark.parametrize("task", [1, 3, 15, 17, 18, 20])
def test_exactly_the_requested_number_of_questions(task: int, n_questions: int) -> None:
    stories = generate_task(task, n_questions, seed=2)
    assert sum(len(story.questions) for story in stories) == n_questions
    assert all(story.lines[-1].is_question for story in stories)  # the last story is cut after a question


# Lines and bytes of the released en/ train files (1000 questions each), spec section 1.1.
RELEASED_SIZES = {
    1: (3000, 94346),
    2: (5338, 177412),
    3: (15796, 529204),
    4: (3000, 117470),
    5: (6038, 199473),
    6: (3066, 100561),
    7: (3638, 135895),
    8: (3634, 124487),
    9: (3000, 97310),
    10: (3000, 99217),
    11: (3000, 104520),
    12: (3000, 114560),
    13: (3000, 116516),
    14: (3372, 152131),
    15: (3000, 87688),
    16: (10000, 208334),
    17: (1250, 68596),
    18: (2230, 104815),
    19: (6000, 247496),
    20: (2000, 67892),
}


@pytest.mark.parametrize("task", TASKS)
def test_story_lengths_and_file_sizes_match_the_released_files(task: int) -> None:
    """Statements per question and words per sentence both show in these two numbers."""
    stories = generate_task(task, 1000, seed=0)
    lines, size = RELEASED_SIZES[task]
    assert sum(len(story.lines) for story in stories) == pytest.approx(lines, rel=0.1)
    assert len(_text(stories, task)) == pytest.approx(size, rel=0.1)


@pytest.mark.parametrize(
    ("task", "questions_per_story"), [(1, 5), (6, 5), (9, 5), (11, 5), (15, 4), (16, 1), (17, 8), (19, 1)]
)
def test_questions_per_story(task: int, questions_per_story: int, generated: dict[int, list[Story]]) -> None:
    assert {len(story.questions) for story in generated[task]} == {questions_per_story}


def test_answer_conventions(generated: dict[int, list[Story]]) -> None:
    held = r"(apple|football|milk)"
    lists = _answers(generate_task(8, 1000, seed=0))
    assert all(re.fullmatch(rf"nothing|{held}(,{held})*", answer) for answer in lists)
    assert any("," in answer for answer in lists)
    paths = set(_answers(generated[19]))
    legal = {f"{a},{b}" for a in "nsew" for b in "nsew" if {a, b} not in ({"n", "s"}, {"e", "w"})}
    assert paths == legal  # 12 values, never a reversal like "n,s"
    assert set(_answers(generated[10])) == {"yes", "no", "maybe"}
    assert set(_answers(generated[6])) == set(_answers(generated[9])) == {"yes", "no"}
    assert set(_answers(generated[7])) <= {"none", "one", "two", "three"}
    assert set(_answers(generated[16])) <= {"gray", "green", "white", "yellow"}
    assert set(_answers(generated[20])) <= {"kitchen", "garden", "bedroom", "hungry", "thirsty", "bored", "tired"}
    for task in (15, 20):  # the only questions with lowercase names
        assert all(q.text.split()[2].islower() for s in generated[task] for q in s.questions)


def test_answer_shares_match_the_released_files() -> None:
    """Shares from spec §1.3-1.4; a fixed seed makes this exact, the tolerance covers the sampling."""

    def share(task: int, answer: str) -> float:
        answers = _answers(generate_task(task, 1000, seed=0))
        return answers.count(answer) / len(answers)

    assert share(6, "yes") == pytest.approx(0.51, abs=0.05)
    assert share(9, "yes") == pytest.approx(0.37, abs=0.05)
    assert share(10, "maybe") == pytest.approx(0.12, abs=0.04)
    assert share(7, "none") == pytest.approx(0.47, abs=0.05)
    assert share(7, "one") == pytest.approx(0.49, abs=0.05)
    assert share(7, "two") == pytest.approx(0.04, abs=0.03)


def test_supporting_facts_per_task(generated: dict[int, list[Story]]) -> None:
    counts = {task: {len(q.supporting) for s in generated[task] for q in s.questions} for task in TASKS}
    for task, expected in {1: 1, 2: 2, 3: 3, 4: 1, 5: 1, 6: 1, 11: 2, 12: 1, 13: 2, 14: 2, 15: 2, 16: 3}.items():
        assert counts[task] == {expected}, task
    assert counts[17] == counts[18] == counts[19] == {2}
    assert min(counts[7]) == 1 and max(counts[7]) > 2  # every object event of the actor


# --- checker --------------------------------------------------------------------------------


def _corrupt(story: Story, index: int, **change: object) -> Story:
    lines = list(story.lines)
    lines[index] = dataclasses.replace(lines[index], **change)  # type: ignore[arg-type]
    return Story(tuple(lines))


@pytest.mark.parametrize("task", TASKS)
def test_checker_catches_a_wrong_answer(task: int, generated: dict[int, list[Story]]) -> None:
    story = generated[task][0]
    index = next(i for i, line in enumerate(story.lines) if line.is_question)
    right = story.lines[index].answer
    wrong = next(answer for answer in sorted(set(_answers(generated[task]))) if answer != right)
    problems = check_story(task, _corrupt(story, index, answer=wrong))
    assert len(problems) == 1
    assert f"line {index + 1}" in problems[0] and repr(wrong) in problems[0] and repr(right) in problems[0]


@pytest.mark.parametrize("task", [1, 2, 3, 5, 7, 14, 16, 19])
def test_checker_catches_a_wrong_supporting_fact(task: int, generated: dict[int, list[Story]]) -> None:
    story = next(s for s in generated[task] if len(s.lines) - len(s.questions) > 3)
    index = max(i for i, line in enumerate(story.lines) if line.is_question)
    question = story.lines[index]
    unused = next(
        line.id for line in story.lines[:index] if not line.is_question and line.id not in question.supporting
    )
    problems = check_story(task, _corrupt(story, index, supporting=(unused, *question.supporting[1:])))
    assert problems and all("supporting facts" in problem for problem in problems)


def test_checker_rejects_a_question_as_support_and_an_unknown_sentence() -> None:
    story = parse_task_text("1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n", "x")[0]
    bad_support = _corrupt(story, 1, supporting=(2,))
    assert any("not an earlier statement" in p for p in check_story(1, bad_support))
    unknown = _corrupt(story, 0, text="Mary flew to the moon.")
    assert any("not understood" in p for p in check_story(1, unknown))
    with pytest.raises(ValueError, match="1 to 20"):
        check_story(0, story)


def test_checker_catches_a_pronoun_for_the_wrong_actor() -> None:
    text = "1 Mary went back to the bathroom.\n2 After that he went to the bedroom.\n3 Where is Mary? \tbedroom\t1 2\n"
    problems = check_story(11, parse_task_text(text, "x")[0])
    assert problems and "'he' does not fit" in problems[0]


# Complete stories quoted from the released v1.2 files (spec §1.3); lines marked "# filled in" are ours.
RELEASED_EXAMPLES = {
    1: "1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n",
    2: "1 Mary moved to the bathroom.\n2 Sandra journeyed to the bedroom.\n3 Mary got the football there.\n"
    "4 John went to the kitchen.\n5 Mary went back to the kitchen.\n6 Mary went back to the garden.\n"
    "7 Where is the football? \tgarden\t3 6\n",
    4: "1 The office is north of the kitchen.\n2 The garden is south of the kitchen.\n"
    "3 What is north of the kitchen?\toffice\t1\n",
    5: "1 Bill travelled to the office.\n2 Bill picked up the football there.\n3 Bill went to the bedroom.\n"
    "4 Bill gave the football to Fred.\n5 What did Bill give to Fred? \tfootball\t4\n"
    "6 Fred handed the football to Bill.\n7 Jeff went back to the office.\n8 Who received the football? \tBill\t6\n",
    6: "1 Mary moved to the bathroom.\n2 Sandra journeyed to the bedroom.\n3 Is Sandra in the hallway? \tno\t2\n",
    9: "1 Mary is no longer in the bedroom.\n2 Daniel moved to the hallway.\n3 Is Mary in the bedroom? \tno\t1\n",
    10: "1 Bill is in the park.\n2 Bill is either in the office or the kitchen.\n"  # ids were 10-12
    "3 Is Bill in the office? \tmaybe\t2\n",
    11: "1 Mary went back to the bathroom.\n2 After that she went to the bedroom.\n3 Where is Mary? \tbedroom\t1 2\n",
    12: "1 Mary and Daniel travelled to the bathroom.\n2 John and Daniel travelled to the office.\n"
    "3 Where is Daniel? \toffice\t2\n",
    13: "1 Mary and Daniel went to the bathroom.\n2 Then they journeyed to the hallway.\n"
    "3 Where is Daniel? \thallway\t1 2\n",
    14: "1 Bill went back to the cinema yesterday.\n2 Julie went to the school this morning.\n"
    "3 Fred went to the park yesterday.\n4 Yesterday Julie went to the office.\n"
    "5 Where was Julie before the school? \toffice\t2 4\n",
    15: "1 Mice are afraid of wolves.\n2 Gertrude is a mouse.\n3 Cats are afraid of sheep.\n4 Winona is a mouse.\n"
    "5 Sheep are afraid of wolves.\n6 Wolves are afraid of cats.\n7 Emily is a mouse.\n8 Jessica is a wolf.\n"
    "9 What is gertrude afraid of?\twolf\t2 1\n"
    "10 What is winona afraid of?\twolf\t4 1\n"  # filled in
    "11 What is jessica afraid of?\tcat\t8 6\n",
    16: "1 Lily is a frog.\n2 Bernhard is a frog.\n3 Bernhard is green.\n4 Brian is a lion.\n5 Brian is white.\n"
    "6 Julius is a swan.\n7 Julius is green.\n8 Lily is green.\n9 Greg is a swan.\n"
    "10 What color is Greg?\tgreen\t9 6 7\n",
    17: "1 The triangle is above the pink rectangle.\n2 The blue square is to the left of the triangle.\n"
    "3 Is the pink rectangle to the right of the blue square?\tyes\t1 2\n"
    "4 Is the blue square below the pink rectangle?\tno\t2 1\n",
    18: "1 The box of chocolates fits inside the chest.\n2 The box is bigger than the chest.\n"
    "3 The box is bigger than the suitcase.\n4 The suitcase fits inside the box.\n"
    "5 The container is bigger than the box of chocolates.\n"
    "6 Does the box fit in the box of chocolates?\tno\t1 2\n"
    "7 Is the box of chocolates bigger than the box?\tno\t1 2\n",
    19: "1 The office is east of the hallway.\n2 The kitchen is north of the office.\n"
    "3 The garden is west of the bedroom.\n4 The office is west of the garden.\n"
    "5 The bathroom is north of the garden.\n6 How do you go from the kitchen to the garden?\ts,e\t2 4\n",
    20: "1 Sumit is tired.\n2 Where will sumit go?\tbedroom\t1\n3 Sumit went back to the bedroom.\n"
    "4 Why did sumit go to the bedroom?\ttired\t1\n5 Sumit grabbed the pajamas there.\n"
    "6 Why did sumit get the pajamas?\ttired\t1\n",
}


@pytest.mark.parametrize("task", sorted(RELEASED_EXAMPLES))
def test_released_examples_read_and_pass_the_checker(task: int, tmp_path: Path) -> None:
    path = tmp_path / task_file_name(task, "test")
    path.write_text(RELEASED_EXAMPLES[task])
    stories = read_task_file(path)
    assert check_story(task, stories[0]) == []
    write_task(stories, tmp_path / "again" / path.name)
    assert (tmp_path / "again" / path.name).read_text() == RELEASED_EXAMPLES[task]  # byte for byte


# --- reader and writer ----------------------------------------------------------------------


def test_reader_splits_stories_keeps_support_order_and_strips(tmp_path: Path) -> None:
    path = tmp_path / "qa2_two-supporting-facts_train.txt"
    path.write_text(
        "1 Mary got the milk there.\n2 Mary moved to the office.\n3 Where is the milk? \toffice\t1 2\n\n"
        "1 John went to the garden.\n2 John took the apple there.\n3 Where is the apple? \tgarden\t2 1\n"
    )
    first, second = read_task_file(path)
    assert first.lines[2] == Line(3, "Where is the milk?", "office", (1, 2))
    assert second.questions == (Line(3, "Where is the apple?", "garden", (2, 1)),)
    assert second.lines[0] == Line(1, "John went to the garden.")


@pytest.mark.parametrize("task", TASKS)
def test_write_then_read_round_trips(task: int, generated: dict[int, list[Story]], tmp_path: Path) -> None:
    path = tmp_path / task_file_name(task, "train")
    write_task(generated[task], path)
    assert read_task_file(path) == generated[task]
    text = path.read_text()
    assert text.endswith("\n") and "\r" not in text and "  " not in text
    space = " " if task in (1, 2, 3, *range(5, 15)) else ""
    assert f"?{space}\t" in text and (space or "? \t" not in text)


@pytest.mark.parametrize(
    ("content", "bad_line", "problem"),
    [
        ("1 Mary went to the kitchen.\nMary went to the office.\n", 2, "line id 'Mary' is not an integer"),
        ("1 Mary went to the kitchen.\n Mary went to the office.\n", 2, "missing line id"),
        ("1 Mary went to the kitchen.\n3 Mary went to the office.\n", 2, "line id 3 should be 2 or 1"),
        ("2 Mary went to the kitchen.\n", 1, "line id 2 should be 1"),
        ("1 Mary went to the kitchen.\n2 Where is Mary?\n", 2, "question without an answer"),
        ("1 Mary went to the kitchen.\n2 Where is Mary? \t\t1\n", 2, "question without an answer"),
        ("1 Mary went to the kitchen.\n2 Where is Mary? \tkitchen\t3\n", 2, "supporting fact 3 does not name"),
        ("1 Mary went to the kitchen.\n2 Where is Mary? \tkitchen\tone\n", 2, "supporting fact 'one' is not"),
        (
            "1 Mary went to the kitchen.\n2 Where is Mary? \tkitchen\t1\n3 Where is Mary? \tkitchen\t2\n",
            3,
            "supporting fact 2 is a question",
        ),
        ("1 Mary went to the kitchen.\n\n2 Where is Mary?\tkitchen\t1\textra\n", 3, "too many TABs"),
    ],
)
def test_malformed_files_name_file_line_and_problem(tmp_path: Path, content: str, bad_line: int, problem: str) -> None:
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    path.write_text(content)
    with pytest.raises(BabiFormatError) as raised:
        read_task_file(path)
    message = str(raised.value)
    assert str(path) in message and f"line {bad_line}:" in message and problem in message


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    path.write_bytes(b"1 Mary went to the \xff.\n")
    with pytest.raises(BabiFormatError, match=re.escape(f"{path}: not UTF-8")):
        read_task_file(path)


def test_missing_file_and_folder_name_the_expected_path(tmp_path: Path) -> None:
    with pytest.raises(BabiFormatError, match="no such bAbI task file"):
        read_task_file(tmp_path / "qa1_single-supporting-fact_train.txt")
    with pytest.raises(BabiFormatError, match=re.escape(str(tmp_path / "en-10k"))):
        read_dataset(tmp_path, "en-10k", [1])
    (tmp_path / "en").mkdir()
    with pytest.raises(BabiFormatError, match=re.escape(str(tmp_path / "en" / task_file_name(3, "train")))):
        read_dataset(tmp_path, "en", [3])
    assert issubclass(BabiFormatError, ValueError)


def test_write_dataset_then_read_it_back(tmp_path: Path) -> None:
    small = write_dataset(tmp_path, "en", seed=4, task_ids=[4, 19])
    large = write_dataset(tmp_path, "en-10k", seed=4, task_ids=[4])
    assert sorted(p.name for p in small.iterdir()) == sorted(
        task_file_name(task, split) for task in (4, 19) for split in ("train", "test")
    )
    data = read_dataset(tmp_path, "en", [4, 19])
    assert {task: (len(train), len(test)) for task, (train, test) in data.items()} == {
        4: (1000, 1000),
        19: (1000, 1000),
    }
    assert data[4][0] != data[4][1]  # train and test are independent draws
    assert sum(len(s.questions) for s in read_dataset(tmp_path, "en-10k", [4])[4][0]) == 10000
    for name in ("qa4_two-arg-relations_test.txt",):  # as released, en-10k reuses en's test set
        assert (large / name).read_bytes() == (small / name).read_bytes()


def test_read_dataset_from_the_released_archive_and_the_valid_layout(tmp_path: Path) -> None:
    folder = tmp_path / "tasks_1-20_v1-2"
    whole = _text(generate_task(1, 1000, seed=0), 1)  # the released count: a file of another one is refused
    for variant, split in (("en", "train"), ("en", "test"), ("en-valid", "train"), ("en-valid", "test")):
        path = folder / variant / task_file_name(1, split, variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(whole)
    archive = tmp_path / "tasks_1-20_v1-2.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    expected = read_task_file(folder / "en" / task_file_name(1, "train"))
    assert read_dataset(archive, "en", [1]) == {1: (expected, expected)}
    assert read_dataset(folder, "en-valid", [1]) == {1: (expected, expected)}
    assert task_file_name(1, "valid", "en-valid") == "qa1_valid.txt"
    with pytest.raises(BabiFormatError, match="qa2_two-supporting-facts_train.txt"):
        read_dataset(archive, "en", [2])


def test_task_names_are_the_released_stems() -> None:
    assert sorted(TASK_NAMES) == list(TASKS)
    assert task_file_name(1, "train") == "qa1_single-supporting-fact_train.txt"
    assert task_file_name(20, "test") == "qa20_agents-motivations_test.txt"
    with pytest.raises(ValueError, match="1 to 20"):
        generate_task(21, 10, seed=0)


_babi_error = partial(one_line_error, BabiFormatError)  # the BabiFormatError a call raises, checked to be one line


def _archive(tmp_path: Path, train: bytes) -> Path:
    """A released-layout ``.tar.gz`` with task 1 of ``en``: ``train`` as its train file, a valid test file."""
    folder = tmp_path / "tasks_1-20_v1-2" / "en"
    folder.mkdir(parents=True)
    (folder / task_file_name(1, "train")).write_bytes(train)
    (folder / task_file_name(1, "test")).write_text(RELEASED_EXAMPLES[1])
    archive = tmp_path / "tasks_1-20_v1-2.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder.parent, arcname=folder.parent.name)
    return archive


def test_an_archive_of_random_bytes_is_one_line(tmp_path: Path) -> None:
    archive = tmp_path / "tasks_1-20_v1-2.tar.gz"
    archive.write_bytes(bytes(range(256)) * 4)
    assert _babi_error(lambda: read_dataset(archive, "en", [1])) == (
        f"{archive}: not a readable .tar.gz archive (not a gzip file)"
    )
    other = tmp_path / "notes.txt"
    other.write_text("not an archive")
    assert _babi_error(lambda: read_dataset(other, "en", [1])) == (
        f"{other}: not a readable .tar.gz archive (not a gzip file)"
    )


def test_a_truncated_archive_is_one_line(tmp_path: Path) -> None:
    archive = _archive(tmp_path, os.urandom(20000))  # incompressible, so the cut falls inside the first member
    whole = archive.read_bytes()
    archive.write_bytes(whole[: len(whole) // 2])
    assert _babi_error(lambda: read_dataset(archive, "en", [1])) == (
        f"{archive}: not a readable .tar.gz archive (the file ends early)"
    )


def test_an_archive_member_that_is_not_utf8_names_the_member(tmp_path: Path) -> None:
    archive = _archive(tmp_path, b"1 Mary went to the \xff.\n")
    member = f"tasks_1-20_v1-2/en/{task_file_name(1, 'train')}"
    assert _babi_error(lambda: read_dataset(archive, "en", [1])) == (
        f"{archive}:{member}: not UTF-8 text (invalid start byte at byte 19)"
    )


def test_missing_root_directory_as_file_and_a_file_without_questions(tmp_path: Path) -> None:
    assert _babi_error(lambda: read_dataset(tmp_path / "nope", "en", [1])) == (
        f"{tmp_path / 'nope'}: does not exist (expected a bAbI folder or its .tar.gz)"
    )
    folder = tmp_path / "en"
    (folder / task_file_name(1, "train")).mkdir(parents=True)
    assert _babi_error(lambda: read_dataset(tmp_path, "en", [1])) == (
        f"{folder / task_file_name(1, 'train')}: is a directory, not a file"
    )
    statements = tmp_path / task_file_name(2, "train")
    statements.write_text("1 Mary went to the kitchen.\n2 John went to the hallway.\n")
    assert _babi_error(lambda: read_task_file(statements)) == (
        f"{statements}: no questions (a bAbI task file holds stories with questions)"
    )


def test_a_malformed_line_is_shown_short(tmp_path: Path) -> None:
    path = tmp_path / task_file_name(1, "train")
    line = "1 Where is " + "x" * 1000 + "?"
    assert _babi_error(lambda: parse_task_text(line, str(path))) == (
        f"{path}: line 1: question without an answer (expected question TAB answer TAB ids): {line[:100] + '...'!r}"
    )


def test_an_empty_or_cut_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / task_file_name(1, "train")
    empty.write_bytes(b"")
    assert _babi_error(lambda: read_task_file(empty)) == (
        f"{empty}: empty (a bAbI task file holds stories with questions)"
    )
    whole = _text(generate_task(1, 1000, seed=0), 1)
    cut = tmp_path / task_file_name(1, "test")
    cut.write_text(whole[:-3])  # inside the last question's supporting facts, which still parses
    assert _babi_error(lambda: read_task_file(cut)) == (
        f"{cut}: line 3000: no newline at the end (the file is cut short?)"
    )


def test_question_counts_are_those_of_the_release(tmp_path: Path) -> None:
    """1000 per en file, 10000 per en-10k train file: a file cut at a line end is caught too."""
    folder = write_dataset(tmp_path, "en", seed=0, task_ids=[1])
    train = folder / task_file_name(1, "train")
    lines = train.read_text().splitlines(keepends=True)
    train.write_text("".join(lines[:-3]))  # the last story without its last two statements and question
    assert _babi_error(lambda: read_dataset(tmp_path, "en", [1])) == (
        f"{train}: 999 questions, but the released file holds 1000 (cut short?)"
    )
    small = tmp_path / "en-10k"
    small.mkdir()
    for split in ("train", "test"):
        (small / task_file_name(1, split)).write_text("".join(lines))
    assert _babi_error(lambda: read_dataset(tmp_path, "en-10k", [1])) == (
        f"{small / task_file_name(1, 'train')}: 1000 questions, but the released file holds 10000 (cut short?)"
    )
    archive = _archive(tmp_path / "archive", RELEASED_EXAMPLES[1].encode())
    member = f"tasks_1-20_v1-2/en/{task_file_name(1, 'train')}"
    assert _babi_error(lambda: read_dataset(archive, "en", [1])) == (
        f"{archive}:{member}: 1 question, but the released file holds 1000 (cut short?)"
    )
    assert len(read_task_file(train)) == 200  # without a count to meet, a shorter file is read


# --- where v1.2 differs from a naive generator (issue 14, section 2) -------------------------
# Each target is a share or bound counted in the released en/ files; each tolerance is one that the
# generator before this fix failed (its value is in the comment).


def _statements(stories: list[Story]) -> list[str]:
    return [line.text for story in stories for line in story.lines if not line.is_question]


def _share(texts: list[str], pattern: str) -> float:
    return sum(bool(re.search(pattern, text)) for text in texts) / len(texts)


_GIVE = r" (gave|passed|handed) the \w+ to "
_GET_OR_DROP = r" (got|took|grabbed|picked up|dropped|put down|left|discarded) the "


def _move_share(stories: list[Story]) -> float:
    texts = _statements(stories)
    return 1 - _share(texts, _GIVE) - _share(texts, _GET_OR_DROP)


@pytest.mark.parametrize(("task", "longest"), [(2, (70, 130)), (3, (185, 300))])
def test_where_tasks_move_two_thirds_of_the_time_with_long_stories(task: int, longest: tuple[int, int]) -> None:
    """v1.2: moves 65% (was 52%); longest story 88 / 228 statements (was 40 / 158)."""
    stories = generate_task(task, 1000, seed=0)
    assert _move_share(stories) == pytest.approx(0.65, abs=0.04)
    assert longest[0] <= max(len(story.lines) - len(story.questions) for story in stories) <= longest[1]


def test_task4_answers_the_subject_of_the_cited_statement() -> None:
    """v1.2: always (was 50%)."""
    for story in generate_task(4, 1000, seed=0):
        question = story.questions[0]
        assert story.lines[question.supporting[0] - 1].text.startswith(f"The {question.answer} is ")


def test_task5_mix_of_gives_and_question_forms() -> None:
    """v1.2: gives 17% of statements (was 31%); forms 35/32/17/16% (was 20/40/20/19%)."""
    stories = generate_task(5, 1000, seed=0)
    assert _share(_statements(stories), _GIVE) == pytest.approx(0.17, abs=0.03)
    questions = [q.text for s in stories for q in s.questions]
    assert _share(questions, r"^What did") == pytest.approx(0.35, abs=0.05)
    assert _share(questions, r"^Who gave") == pytest.approx(0.32, abs=0.05)
    assert _share(questions, r"^Who did") == pytest.approx(0.17, abs=0.05)
    assert _share(questions, r"^Who received") == pytest.approx(0.16, abs=0.05)


@pytest.mark.parametrize(("task", "moves"), [(7, 0.59), (8, 0.66)])
def test_holding_tasks_event_mix_and_chains(task: int, moves: float) -> None:
    """v1.2: moves 59% / 66% (was 36% / 36%), at most 8 supporting facts (was up to 11), no gives in task 8."""
    stories = generate_task(task, 1000, seed=0)
    assert _move_share(stories) == pytest.approx(moves, abs=0.04)
    assert max(len(q.supporting) for s in stories for q in s.questions) <= 8
    if task == 8:
        assert _share(_statements(stories), _GIVE) == 0
        assert _answers(stories).count("nothing") / 1000 == pytest.approx(1 / 3, abs=0.07)  # was 0.50


def test_task16_examples_are_one_or_three_and_more_and_may_disagree() -> None:
    """v1.2: never two other coloured members of the species (was 20%); 3+ disagreeing in ~7% (was 0%)."""
    counts, disagreeing = [], 0
    for story in generate_task(16, 1000, seed=0):
        kind = dict(re.findall(r"(\w+) is an? (\w+)\.", "\n".join(_statements([story]))))
        colour = {name: c for name, c in re.findall(r"(\w+) is (\w+)\.", "\n".join(_statements([story]))) if c != "a"}
        asked = story.questions[0].text.split()[-1].rstrip("?")
        examples = [name for name in colour if kind[name] == kind[asked]]
        counts.append(len(examples))
        disagreeing += len({colour[name] for name in examples}) > 1
    assert 2 not in counts and 1 in counts and 3 in counts
    assert disagreeing / 1000 == pytest.approx(0.07, abs=0.03)


def test_task18_stories_are_blocks_of_five() -> None:
    """v1.2: 5, 10 or 15 statements (was any of 5 to 16)."""
    lengths = {len(s.lines) - len(s.questions) for s in generate_task(18, 1000, seed=0)}
    assert lengths == {5, 10, 15}


def test_checker_takes_the_most_recent_of_three_disagreeing_examples() -> None:
    """v1.2 answers with the example completed last (Greg, line 9), not the majority (green)."""
    story = parse_task_text(
        "1 Lily is a frog.\n2 Lily is green.\n3 Bernhard is a frog.\n4 Greg is a frog.\n5 Bernhard is green.\n"
        "6 Julius is a frog.\n7 Brian is a lion.\n8 Brian is white.\n9 Greg is yellow.\n"
        "10 What color is Julius?\tyellow\t6 4 9\n",
        "x",
    )[0]
    assert check_story(16, story) == []
    majority = check_story(16, _corrupt(story, 9, answer="green", supporting=(6, 1, 2)))
    assert len(majority) == 2 and "the story implies 'yellow'" in majority[0] and "expected 6 4 9" in majority[1]
    two = parse_task_text(
        "1 Lily is a frog.\n2 Lily is green.\n3 Greg is a frog.\n4 Greg is yellow.\n5 Julius is a frog.\n"
        "6 What color is Julius?\tyellow\t5 3 4\n",
        "x",
    )[0]
    assert check_story(16, two) == ["line 6 ('What color is Julius?'): 2 examples of frogs with 2 colours"]


def test_checker_reports_release_quirks_without_rejecting_them() -> None:
    """Task 8 lists out of acquisition order and task 5 answers from an earlier give, as in v1.2."""
    listing = parse_task_text(
        "1 Mary got the milk there.\n2 Mary went to the office.\n3 Mary took the apple there.\n"
        "4 What is Mary carrying? \tapple,milk\t1 3\n",
        "x",
    )[0]
    review = review_story(8, listing)
    assert review.problems == () and len(review.quirks) == 1
    assert "milk and apple listed out of the order acquired" in review.quirks[0]
    assert check_story(8, _corrupt(listing, 3, answer="apple,football")) != []
    giving = parse_task_text(
        "1 Bill got the milk there.\n2 Bill gave the milk to Fred.\n3 Fred handed the milk to Jeff.\n"
        "4 Who received the milk? \tFred\t2\n",
        "x",
    )[0]
    review = review_story(5, giving)
    assert review.problems == () and "the one on line 3 is later" in review.quirks[0]
    assert check_story(5, _corrupt(giving, 3, supporting=(3,))) != []  # an earlier answer must cite its own give
    assert review_story(5, _corrupt(giving, 3, answer="Jeff", supporting=(3,))).quirks == ()
