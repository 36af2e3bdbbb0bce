"""The bAbI stream: the 20 question-answering tasks (Weston et al., arXiv 1502.05698) in sequence.

Each question becomes one example: its story's statements before it (the most recent ``memory``,
most recent first, as MemN2N's temporal encoding expects) and the question, as word ids in a
(memory + 1, words) array; the answer is one entry of the answer vocabulary (lists such as task 8's
"apple,football" and paths such as task 19's "n,w" are single answers, as in the released data).

Tokenisation and both vocabularies are built once over the whole stream, so every task shares one
input vocabulary and, for domain-incremental learning, one answer head: the lecture's setting, in
which a model taught the tasks one after another forgets the earlier ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lifelong._registry import STREAMS
from lifelong.data.babi import TASK_NAMES, Story, generate_task, read_dataset
from lifelong.streams.scenario import Scenario, ScenarioName
from lifelong.streams.stream import Stream
from lifelong.streams.task import Split, Task

_WORD = re.compile(r"[a-z0-9]+")


def words(sentence: str) -> list[str]:
    """Lower-cased words without punctuation: "Where is Mary?" -> ["where", "is", "mary"]."""
    return _WORD.findall(sentence.lower())


@dataclass(frozen=True)
class Example:
    memory: tuple[tuple[str, ...], ...]  # statements before the question, most recent first
    question: tuple[str, ...]
    answer: str


def examples_of(stories: Sequence[Story], memory: int) -> list[Example]:
    """One example per question, with the ``memory`` most recent statements of its story."""
    out = []
    for story in stories:
        seen: list[tuple[str, ...]] = []
        for line in story.lines:
            if line.answer is None:
                seen.append(tuple(words(line.text)))
            else:
                out.append(Example(tuple(reversed(seen[-memory:])), tuple(words(line.text)), line.answer))
    return out


@dataclass(frozen=True)
class TokenIds:
    """Stored int32 token arrays -> int64 ids for embeddings (halves the stored size)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.long()


def _encode(examples: Sequence[Example], vocab: dict[str, int], memory: int, length: int) -> torch.Tensor:
    """Word ids in a zero-padded (N, memory + 1, length) int32 array; the question is the last row."""
    x = np.zeros((len(examples), memory + 1, length), dtype=np.int32)
    for n, ex in enumerate(examples):
        for i, sentence in enumerate(ex.memory):
            x[n, i, : len(sentence)] = [vocab[w] for w in sentence]
        x[n, memory, : len(ex.question)] = [vocab[w] for w in ex.question]
    return torch.from_numpy(x)


# MemN2N on bAbI 1k (arXiv 1503.08895 Sec. 4.2 trains 100 epochs of SGD with batch 32; Adam at 0.01
# reaches similar training accuracy in 20 epochs, about 10 s a task on one core).
@STREAMS.register("babi", family="babi", defaults={
    "model": "memn2n", "train": {"optimizer": "adam", "lr": 0.01, "epochs": 20, "batch_size": 32}})
def babi(
    tasks: tuple[int, ...] = tuple(range(1, 21)),
    seed: int = 0,
    scenario: ScenarioName = "domain",
    examples: int = 1000,
    test_examples: int = 1000,
    memory: int = 50,
    root: str | None = None,
    variant: str = "en",
) -> Stream:
    """The bAbI tasks in the given order: generated (default) or read from the released files.

    Args:
        tasks: task ids (1..20) in training order.
        seed: seeds the generator (ignored when reading files).
        scenario: ``domain`` (one shared answer head, the lecture's setting), ``task`` (a head per
            task over that task's answers) or ``class`` (answers as classes, opened as tasks arrive).
        examples, test_examples: questions per task when generating (1000 as in bAbI "1k").
        memory: the most recent statements kept per question (50, as in MemN2N).
        root: a folder holding the released ``<variant>/qaN_*_train.txt`` files (or the .tar.gz);
            then nothing is generated.
        variant: ``en`` (1k) or ``en-10k`` when reading files.
    """
    if not tasks or any(t not in TASK_NAMES for t in tasks):
        raise ValueError(f"bAbI tasks are 1..20, got {list(tasks)}")
    for name, value in (("examples", examples), ("test_examples", test_examples), ("memory", memory)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    kind = Scenario.parse(scenario)
    if root is not None:
        loaded = read_dataset(root, variant, tasks)
        splits = {t: loaded[t] for t in tasks}
    else:
        splits = {t: (generate_task(t, examples, seed * 1000 + 2 * t), generate_task(t, test_examples,
                                                                                   seed * 1000 + 2 * t + 1))
                  for t in tasks}
    data = {t: (examples_of(train, memory), examples_of(test, memory)) for t, (train, test) in splits.items()}
    everything = [ex for train, test in data.values() for ex in (*train, *test)]
    vocab = {w: i + 1 for i, w in enumerate(sorted({w for ex in everything for s in (*ex.memory, ex.question)
                                                     for w in s}))}
    answers = sorted({ex.answer for ex in everything})
    answer_id = {a: i for i, a in enumerate(answers)}
    slots = max(len(ex.memory) for ex in everything)
    length = max(len(s) for ex in everything for s in (*ex.memory, ex.question))
    out = []
    for position, t in enumerate(tasks):
        train, test = data[t]
        own = sorted({answer_id[ex.answer] for ex in (*train, *test)})
        if kind is Scenario.DOMAIN:
            classes, local = tuple(range(len(answers))), {a: a for a in range(len(answers))}
        else:
            classes, local = tuple(own), {a: i for i, a in enumerate(own)}
        to_target = (lambda a: a) if kind is Scenario.CLASS else local.__getitem__

        def targets(exs: list[Example]) -> torch.Tensor:
            return torch.tensor([to_target(answer_id[ex.answer]) for ex in exs], dtype=torch.long)  # noqa: B023

        out.append(Task(position, f"qa{t}", Split(_encode(train, vocab, slots, length), targets(train)),
                        Split(_encode(test, vocab, slots, length), targets(test)), classes, TokenIds()))
    params = dict(tasks=list(tasks), seed=seed, scenario=kind.value, examples=examples, test_examples=test_examples,
                  memory=memory, root=root, variant=variant, vocab_size=len(vocab) + 1, answers=len(answers))
    return Stream("babi", tuple(out), kind, (slots + 1, length), params, vocab=len(vocab) + 1,
                  answer_tokens=tuple(vocab.get(a, 0) for a in answers))
