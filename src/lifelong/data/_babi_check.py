"""The bAbI answer checker: re-derive every answer from a story's sentences alone.

It parses sentences back into facts and reasons over them without any of the generator's code,
so a generator bug cannot hide behind itself (Weston et al., arXiv 1502.05698, task definitions).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import permutations

from lifelong.data._babi_world import (
    COUNT_WORDS,
    DIRECTIONS,
    DROP_VERBS,
    GET_VERBS,
    GIVE_VERBS,
    MOTIVES,
    MOVE_VERBS,
    OPPOSITE,
    PRONOUNS,
    RELATIONS,
    SEQUENCE_WORDS,
    SPECIES_PLURAL,
    TIMES,
    Line,
    Story,
)

# --- Checking: re-derive every answer from the story's sentences alone ----------------------


class _Unanswerable(Exception):
    """A sentence is not understood, contradicts the story, or leaves the question open."""


@dataclass(frozen=True)
class _Quirk:
    """An answer the reasoning would not give but the released files do: accepted, and reported."""

    answer: str
    support: tuple[int, ...]
    note: str


@dataclass(frozen=True)
class _Derivation:
    """An answer worked out from the story, every set of facts that supports it, and release quirks."""

    answer: str
    supports: tuple[tuple[int, ...], ...]
    quirks: tuple[_Quirk, ...] = ()


@dataclass(frozen=True)
class StoryReview:
    """What checking a story found.

    Attributes:
        problems: answers or supporting facts the story's sentences contradict, one message each.
        quirks: answers that depart from the reasoning the way some answers of the released v1.2
            files do (task 8 lists out of acquisition order, task 5 answers from an earlier give);
            reported, not rejected, so that the release itself passes.
    """

    problems: tuple[str, ...]
    quirks: tuple[str, ...]


def check_story(task_id: int, story: Story) -> list[str]:
    """Re-derives each answer of a story from its sentences and lists the disagreements.

    The sentences are parsed back into facts and reasoned over (an actor's room is the latest
    move, an object's room its holder's, ...) without using the generator, so the checker can
    catch a generator that is wrong. Supporting facts must be earlier statements and, as a set,
    the facts the reasoning used (where several chains work, any one of them). What the
    released files themselves do is not a problem (see `review_story` for those quirks).

    Args:
        task_id: which task's sentences and reasoning to expect (1 to 20).
        story: the story to check.

    Returns:
        One message per problem, naming the line; empty when the story is consistent.
    """
    return list(review_story(task_id, story).problems)


def review_story(task_id: int, story: Story) -> StoryReview:
    """Like `check_story`, and also lists the answers accepted only because the release has such.

    Raises:
        ValueError: `task_id` is not 1 to 20.
    """
    if task_id not in _REASONERS:
        raise ValueError(f"bAbI task ids are 1 to 20, got {task_id}")
    reasoner = _REASONERS[task_id]()
    problems, quirks = [], []
    for position, line in enumerate(story.lines, start=1):
        where = f"line {line.id} ({line.text!r})"
        if line.id != position:
            problems.append(f"{where}: id should be {position}")
        try:
            if line.is_question:
                found, quirk = _check_question(reasoner, line, story)
                problems += [f"{where}: {problem}" for problem in found]
                quirks += [f"{where}: {quirk}"] if quirk else []
            else:
                reasoner.observe(line.id, line.text)
        except _Unanswerable as reason:
            problems.append(f"{where}: {reason}")
    return StoryReview(tuple(problems), tuple(quirks))


def _check_question(reasoner: _Reasoner, question: Line, story: Story) -> tuple[list[str], str | None]:
    """The question's problems, and the note of the release quirk its answer follows (if any)."""
    problems = [
        f"supporting fact {fact} is not an earlier statement"
        for fact in question.supporting
        if not 1 <= fact < question.id or story.lines[fact - 1].is_question
    ]
    derived = reasoner.answer(question.text)
    cited = sorted(question.supporting)
    if question.answer != derived.answer:
        for quirk in derived.quirks:
            if question.answer == quirk.answer and cited == sorted(quirk.support):
                return problems, quirk.note
        problems.append(f"answered {question.answer!r}, but the story implies {derived.answer!r}")
    if cited not in [sorted(support) for support in derived.supports]:
        expected = " or ".join(" ".join(map(str, support)) for support in derived.supports)
        problems.append(f"supporting facts {list(question.supporting)}, expected {expected}")
    return problems, None


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation that tries longer phrases first ("went back" before "went")."""
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_MOVE = re.compile(rf"(?P<who>.+) (?:{_alternatives(MOVE_VERBS)}) to the (?P<room>\w+)\.")
_GET = re.compile(rf"(\w+) (?:{_alternatives(GET_VERBS)}) the (\w+)(?: there)?\.")
_DROP = re.compile(rf"(\w+) (?:{_alternatives(DROP_VERBS)}) the (\w+)(?: there)?\.")
_GIVE = re.compile(rf"(\w+) (?:{_alternatives(GIVE_VERBS)}) the (\w+) to (\w+)\.")
_PRONOUN = re.compile(rf"(?:{_alternatives(SEQUENCE_WORDS)}) (he|she|they)")
_PAIR = re.compile(r"(\w+) and (\w+)")
_NAME = re.compile(r"[A-Z]\w*")
_DIRECTION = _alternatives(DIRECTIONS.values())
_RELATION = _alternatives(RELATIONS)
_TIME = _alternatives(TIMES)


def _match(pattern: str | re.Pattern[str], text: str) -> tuple[str, ...] | None:
    found = re.fullmatch(pattern, text)
    return found.groups() if found else None


class _Reasoner:
    """Reads a story sentence by sentence and answers questions from what it has read."""

    def observe(self, line_id: int, text: str) -> None:
        raise _Unanswerable("statement not understood")

    def answer(self, question: str) -> _Derivation:
        raise _Unanswerable("question not understood")


class _PhysicalReasoner(_Reasoner):
    """Tasks 1-3, 5-8, 11-13: actors move (also in pairs or as "he"/"they"), objects change hands."""

    def __init__(self) -> None:
        self.room: dict[str, tuple[str, tuple[int, ...]]] = {}  # actor -> room, lines telling it
        self.named: tuple[list[str], int] = ([], 0)  # actors of the latest named move, its line
        self.holder: dict[str, str] = {}
        self.dropped: dict[str, tuple[str, tuple[int, ...]]] = {}  # known room of lying objects
        self.object_line: dict[str, int] = {}
        self.events: dict[str, list[int]] = defaultdict(list)
        self.holding: dict[str, list[str]] = defaultdict(list)
        self.past: dict[str, list[tuple[str, tuple[int, ...]]]] = defaultdict(list)
        self.gives: list[tuple[int, str, str, str]] = []

    def observe(self, line_id: int, text: str) -> None:
        if move := _MOVE.fullmatch(text):
            self._move(line_id, move["who"], move["room"])
        elif got := _match(_GET, text):
            actor, thing = got
            if thing in self.holder:
                raise _Unanswerable(f"the {thing} is held by {self.holder[thing]}")
            self._hand(line_id, thing, actor, (actor,))
            self.dropped.pop(thing, None)
        elif dropped := _match(_DROP, text):
            actor, thing = dropped
            self._release(actor, thing)
            del self.holder[thing]
            self._record(line_id, thing, (actor,))
            if actor in self.room:
                self.dropped[thing] = self.room[actor]
        elif given := _match(_GIVE, text):
            giver, thing, receiver = given
            self._release(giver, thing)
            self._hand(line_id, thing, receiver, (giver, receiver))
            self.gives.append((line_id, giver, thing, receiver))
        else:
            super().observe(line_id, text)
        for thing in self.object_line:
            self._remember_whereabouts(thing)

    def _move(self, line_id: int, who: str, room: str) -> None:
        if pronoun := _match(_PRONOUN, who):
            actors, antecedent = self.named
            fitting = len(actors) == 2 if pronoun[0] == "they" else [PRONOUNS.get(a) for a in actors] == [pronoun[0]]
            if not fitting:
                raise _Unanswerable(f"{pronoun[0]!r} does not fit the previous sentence")
            support: tuple[int, ...] = (antecedent, line_id)
        else:
            actors = list(_match(_PAIR, who) or ((who,) if _NAME.fullmatch(who) else ()))
            if not actors:
                raise _Unanswerable(f"who is {who!r}?")
            self.named, support = (actors, line_id), (line_id,)
        for actor in actors:
            if self.room.get(actor, ("",))[0] == room:
                raise _Unanswerable(f"{actor} is already in the {room}")
            self.room[actor] = (room, support)

    def _release(self, actor: str, thing: str) -> None:
        if self.holder.get(thing) != actor:
            raise _Unanswerable(f"{actor} does not hold the {thing}")
        self.holding[actor].remove(thing)

    def _hand(self, line_id: int, thing: str, receiver: str, involved: tuple[str, ...]) -> None:
        self.holder[thing] = receiver
        self.holding[receiver].append(thing)
        self._record(line_id, thing, involved)

    def _record(self, line_id: int, thing: str, involved: tuple[str, ...]) -> None:
        self.object_line[thing] = line_id
        for actor in involved:
            self.events[actor].append(line_id)

    def _whereabouts(self, thing: str) -> tuple[str, tuple[int, ...]] | None:
        if thing in self.holder:
            return self.room.get(self.holder[thing])
        return self.dropped.get(thing)

    def _remember_whereabouts(self, thing: str) -> None:
        known, past = self._whereabouts(thing), self.past[thing]
        if known is not None:
            if past and past[-1][0] == known[0]:
                past[-1] = known
            else:
                past.append(known)

    def answer(self, question: str) -> _Derivation:
        if asked := _match(r"Where is (\w+)\?", question):
            room, support = self._room_of(asked[0])
            return _Derivation(room, (support,))
        if asked := _match(r"Is (\w+) in the (\w+)\?", question):
            room, support = self._room_of(asked[0])
            return _Derivation("yes" if room == asked[1] else "no", (support,))
        if asked := _match(r"Where is the (\w+)\?", question):
            known = self._whereabouts(asked[0])
            if known is None:
                raise _Unanswerable(f"where the {asked[0]} is is not told")
            return _Derivation(known[0], ((self.object_line[asked[0]], *known[1]),))
        if asked := _match(r"Where was the (\w+) before the (\w+)\?", question):
            return self._before(*asked)
        if asked := _match(r"How many objects is (\w+) carrying\?", question):
            count = len(self.holding[asked[0]])
            if count >= len(COUNT_WORDS):
                raise _Unanswerable(f"{count} objects is more than bAbI counts")
            return _Derivation(COUNT_WORDS[count], (tuple(self.events[asked[0]]),))
        if asked := _match(r"What is (\w+) carrying\?", question):
            held, support = self.holding[asked[0]], tuple(self.events[asked[0]])
            note = f"{' and '.join(held)} listed out of the order acquired (as in some v1.2 task 8 answers)"
            others = [_Quirk(",".join(order), support, note) for order in permutations(held) if list(order) != held]
            return _Derivation(",".join(held) or "nothing", (support,), tuple(others))
        return self._give_question(question)

    def _room_of(self, actor: str) -> tuple[str, tuple[int, ...]]:
        if actor not in self.room:
            raise _Unanswerable(f"where {actor} is is not told")
        return self.room[actor]

    def _before(self, thing: str, room: str) -> _Derivation:
        past = self.past[thing]
        visits = [index for index, (place, _) in enumerate(past) if place == room and index > 0]
        if not visits:
            raise _Unanswerable(f"no known place of the {thing} before the {room}")
        (previous, previous_lines), (_, lines) = past[visits[-1] - 1 : visits[-1] + 1]
        return _Derivation(previous, ((self.object_line[thing], *lines, *previous_lines),))

    def _give_question(self, question: str) -> _Derivation:
        forms = {  # question -> which of (giver, object, receiver) are given, which is asked
            r"What did (\w+) give to (\w+)\?": ((0, 2), 1),
            r"Who received the (\w+)\?": ((1,), 2),
            r"Who gave the (\w+) to (\w+)\?": ((1, 2), 0),
            r"Who gave the (\w+)\?": ((1,), 0),
            r"Who did (\w+) give the (\w+) to\?": ((0, 1), 2),
        }
        for form, (given, asked) in forms.items():
            if words := _match(form, question):
                matching = [
                    (line_id, roles)
                    for line_id, *roles in self.gives
                    if all(roles[role] == word for role, word in zip(given, words, strict=True))
                ]
                if not matching:
                    raise _Unanswerable("no such give was told")
                line_id, roles = matching[-1]
                earlier = tuple(
                    _Quirk(
                        old_roles[asked],
                        (old_line,),
                        f"answered from the give on line {old_line}, though the one on line {line_id} is later "
                        "(as in a few v1.2 task 5 answers)",
                    )
                    for old_line, old_roles in matching[:-1]
                    if old_roles[asked] != roles[asked]
                )
                return _Derivation(roles[asked], ((line_id,),), earlier)
        return super().answer(question)


class _BeliefReasoner(_Reasoner):
    """Tasks 9 and 10: where someone is, told positively, negatively, or as one of two rooms."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[str, tuple[str, ...], int]] = {}  # actor -> kind, rooms, line

    def observe(self, line_id: int, text: str) -> None:
        if move := _MOVE.fullmatch(text):
            self.latest[move["who"]] = ("in", (move["room"],), line_id)
        elif fact := _match(r"(\w+) is (in|not in|no longer in) the (\w+)\.", text):
            self.latest[fact[0]] = ("in" if fact[1] == "in" else "not", (fact[2],), line_id)
        elif fact := _match(r"(\w+) is either in the (\w+) or the (\w+)\.", text):
            self.latest[fact[0]] = ("either", fact[1:], line_id)
        else:
            super().observe(line_id, text)

    def answer(self, question: str) -> _Derivation:
        asked = _match(r"Is (\w+) in the (\w+)\?", question)
        if asked is None or asked[0] not in self.latest:
            return super().answer(question)
        kind, rooms, line_id = self.latest[asked[0]]
        if kind == "not" and asked[1] != rooms[0]:
            raise _Unanswerable(f"only where {asked[0]} is not is known")
        if asked[1] not in rooms:
            return _Derivation("no", ((line_id,),))
        return _Derivation({"in": "yes", "not": "no", "either": "maybe"}[kind], ((line_id,),))


class _TimeReasoner(_Reasoner):
    """Task 14: moves dated yesterday, this morning, afternoon or evening, told in any order."""

    def __init__(self) -> None:
        self.visits: dict[str, dict[int, tuple[str, int]]] = defaultdict(dict)

    def observe(self, line_id: int, text: str) -> None:
        pattern = rf"(?:({_TIME}) )?(.+?) (?:{_alternatives(MOVE_VERBS)}) to the (\w+)(?: ({_TIME}))?\."
        parsed = _match(pattern, text[0].lower() + text[1:])
        if parsed is None or (parsed[0] is None) == (parsed[3] is None):
            return super().observe(line_id, text)
        time = TIMES.index(parsed[0] or parsed[3])
        actor = parsed[1].capitalize()
        if time in self.visits[actor]:
            raise _Unanswerable(f"a second move of {actor} {TIMES[time]}")
        self.visits[actor][time] = (parsed[2], line_id)

    def answer(self, question: str) -> _Derivation:
        asked = _match(r"Where was (\w+) before the (\w+)\?", question)
        if asked is None:
            return super().answer(question)
        visits = self.visits[asked[0]]
        times = [time for time, (room, _) in visits.items() if room == asked[1]]
        if not times or max(times) - 1 not in visits:
            raise _Unanswerable(f"where {asked[0]} was before the {asked[1]} is not told")
        room, line_id = visits[max(times) - 1]
        return _Derivation(room, ((visits[max(times)][1], line_id),))


class _DirectionReasoner(_Reasoner):
    """Tasks 4 and 19: "The A is north of the B."; what lies where, and how to walk."""

    def __init__(self) -> None:
        self.ways: dict[str, list[tuple[str, str, int]]] = defaultdict(list)  # from -> way, to, line

    def observe(self, line_id: int, text: str) -> None:
        fact = _match(rf"The (\w+) is ({_DIRECTION}) of the (\w+)\.", text)
        if fact is None:
            return super().observe(line_id, text)
        there, direction, here = fact
        way = direction[0]
        self.ways[here].append((way, there, line_id))
        self.ways[there].append((OPPOSITE[way], here, line_id))

    def answer(self, question: str) -> _Derivation:
        if asked := _match(rf"What is ({_DIRECTION}) of the (\w+)\?", question):
            found = [(to, line) for way, to, line in self.ways[asked[1]] if way == asked[0][0]]
        elif asked := _match(rf"What is the (\w+) ({_DIRECTION}) of\?", question):
            back = OPPOSITE[asked[1][0]]
            found = [(to, line) for way, to, line in self.ways[asked[0]] if way == back]
        elif asked := _match(r"How do you go from the (\w+) to the (\w+)\?", question):
            return self._path(*asked)
        else:
            return super().answer(question)
        if len({place for place, _ in found}) != 1:
            raise _Unanswerable(f"{len(found)} places fit")
        return _Derivation(found[0][0], tuple((line,) for _, line in found))

    def _path(self, start: str, end: str) -> _Derivation:
        """The unique shortest walk over told adjacencies, as the directions taken."""
        walks: list[tuple[str, list[str], list[int]]] = [(start, [], [])]
        seen = {start}
        while walks:
            arrived = [walk for walk in walks if walk[0] == end]
            if arrived:
                if len(arrived) > 1:
                    raise _Unanswerable(f"{len(arrived)} shortest paths")
                _, ways, lines = arrived[0]
                return _Derivation(",".join(ways), (tuple(lines),))
            walks = [
                (to, [*ways, way], [*lines, line])
                for place, ways, lines in walks
                for way, to, line in self.ways[place]
                if to not in seen
            ]
            seen |= {place for place, _, _ in walks}
        raise _Unanswerable(f"no told way from the {start} to the {end}")


class _DeductionReasoner(_Reasoner):
    """Task 15: "Mice are afraid of wolves." + "Gertrude is a mouse." -> afraid of a wolf."""

    def __init__(self) -> None:
        self.fears: dict[str, tuple[str, int]] = {}
        self.kind: dict[str, tuple[str, int]] = {}

    def observe(self, line_id: int, text: str) -> None:
        singular = {plural.capitalize(): name for name, plural in SPECIES_PLURAL.items()}
        singular |= {plural: name for name, plural in SPECIES_PLURAL.items()}
        if (fact := _match(r"(\w+) are afraid of (\w+)\.", text)) and set(fact) <= set(singular):
            self.fears[singular[fact[0]]] = (singular[fact[1]], line_id)
        elif fact := _match(r"(\w+) is an? (\w+)\.", text):
            self.kind[fact[0].lower()] = (fact[1], line_id)
        else:
            super().observe(line_id, text)

    def answer(self, question: str) -> _Derivation:
        asked = _match(r"What is (\w+) afraid of\?", question)
        if asked is None or asked[0].lower() not in self.kind:
            return super().answer(question)
        kind, member_line = self.kind[asked[0].lower()]
        if kind not in self.fears:
            raise _Unanswerable(f"what {kind}s fear is not told")
        feared, fear_line = self.fears[kind]
        return _Derivation(feared, ((member_line, fear_line),))


class _InductionReasoner(_Reasoner):
    """Task 16: the colour of an actor is that of others of its species.

    Where three or more others disagree, v1.2 answers with the most recent one: the example
    whose membership and colour statements are completed last.
    """

    def __init__(self) -> None:
        self.kind: dict[str, tuple[str, int]] = {}
        self.colour: dict[str, tuple[str, int]] = {}

    def observe(self, line_id: int, text: str) -> None:
        if fact := _match(r"(\w+) is a (\w+)\.", text):
            self.kind[fact[0]] = (fact[1], line_id)
        elif fact := _match(r"(\w+) is (\w+)\.", text):
            self.colour[fact[0]] = (fact[1], line_id)
        else:
            super().observe(line_id, text)

    def answer(self, question: str) -> _Derivation:
        asked = _match(r"What color is (\w+)\?", question)
        if asked is None or asked[0] not in self.kind:
            return super().answer(question)
        kind, member_line = self.kind[asked[0]]
        examples = [
            (self.colour[other][0], (member_line, line, self.colour[other][1]))
            for other, (other_kind, line) in self.kind.items()
            if other_kind == kind and other != asked[0] and other in self.colour
        ]
        colours = {colour for colour, _ in examples}
        if len(colours) == 1:
            return _Derivation(examples[0][0], tuple(support for _, support in examples))
        if len(examples) < 3:  # v1.2 settles disagreements only among three or more examples
            raise _Unanswerable(f"{len(examples)} examples of {kind}s with {len(colours)} colours")
        colour, support = max(examples, key=lambda example: max(example[1][1:]))
        return _Derivation(colour, (support,))


class _PositionReasoner(_Reasoner):
    """Task 17: shapes a unit step apart; above/left compare one axis strictly."""

    def __init__(self) -> None:
        self.steps: dict[str, list[tuple[str, tuple[int, int], int]]] = defaultdict(list)

    def observe(self, line_id: int, text: str) -> None:
        fact = _match(rf"The (.+?) is ({_RELATION}) the (.+)\.", text)
        if fact is None:
            return super().observe(line_id, text)
        subject, relation, reference = fact
        axis, sign = RELATIONS[relation]
        offset = (sign, 0) if axis == 0 else (0, sign)
        self.steps[reference].append((subject, offset, line_id))
        self.steps[subject].append((reference, (-offset[0], -offset[1]), line_id))

    def answer(self, question: str) -> _Derivation:
        asked = _match(rf"Is the (.+?) ({_RELATION}) the (.+)\?", question)
        if asked is None:
            return super().answer(question)
        subject, relation, reference = asked
        placed: dict[str, tuple[tuple[int, int], tuple[int, ...]]] = {reference: ((0, 0), ())}
        frontier = [reference]
        while frontier:
            shape = frontier.pop()
            (x, y), lines = placed[shape]
            for other, (dx, dy), line in self.steps[shape]:
                if other not in placed:
                    placed[other] = ((x + dx, y + dy), (*lines, line))
                    frontier.append(other)
        if subject not in placed:
            raise _Unanswerable(f"the {subject} and the {reference} are not related")
        position, lines = placed[subject]
        axis, sign = RELATIONS[relation]
        return _Derivation("yes" if position[axis] * sign > 0 else "no", (lines,))


class _SizeReasoner(_Reasoner):
    """Task 18: "fits inside" and "is bigger than", chained over two facts."""

    def __init__(self) -> None:
        self.bigger: list[tuple[str, str, int]] = []  # (bigger, smaller, line)

    def observe(self, line_id: int, text: str) -> None:
        if fact := _match(r"The (.+?) fits inside the (.+)\.", text):
            self.bigger.append((fact[1], fact[0], line_id))
        elif fact := _match(r"The (.+?) is bigger than the (.+)\.", text):
            self.bigger.append((fact[0], fact[1], line_id))
        else:
            super().observe(line_id, text)

    def answer(self, question: str) -> _Derivation:
        if asked := _match(r"Does the (.+?) fit in the (.+)\?", question):
            small, big = asked
        elif asked := _match(r"Is the (.+?) bigger than the (.+)\?", question):
            big, small = asked
        else:
            return super().answer(question)
        holds, fails = self._chains(big, small), self._chains(small, big)
        if bool(holds) == bool(fails):
            raise _Unanswerable(f"{len(holds)} chains for and {len(fails)} against")
        return _Derivation("yes" if holds else "no", tuple(holds or fails))

    def _chains(self, big: str, small: str) -> list[tuple[int, int]]:
        return [
            (first, second)
            for top, middle, first in self.bigger
            for upper, bottom, second in self.bigger
            if (top, upper, bottom) == (big, middle, small)
        ]


class _MotivationReasoner(_Reasoner):
    """Task 20: a motivation sends an actor to a room and makes it get a thing."""

    def __init__(self) -> None:
        self.motive: dict[str, tuple[str, int]] = {}
        self.done: set[tuple[str, str]] = set()  # (actor, room or thing)

    def observe(self, line_id: int, text: str) -> None:
        if fact := _match(rf"(\w+) is ({_alternatives(MOTIVES)})\.", text):
            self.motive[fact[0].lower()] = (fact[1], line_id)
        elif move := _MOVE.fullmatch(text):
            self.done.add((move["who"].lower(), move["room"]))
        elif got := _match(_GET, text):
            self.done.add((got[0].lower(), got[1]))
        else:
            super().observe(line_id, text)

    def answer(self, question: str) -> _Derivation:
        went = _match(r"Why did (\w+) (?:go to|get) the (\w+)\?", question)
        if went and went not in self.done:
            raise _Unanswerable(f"{went[0]} did not go to or get the {went[1]}")
        asked = went or _match(r"Where will (\w+) go\?", question)
        if asked is None or asked[0] not in self.motive:
            return super().answer(question)
        motive, line_id = self.motive[asked[0]]
        return _Derivation(motive if went else MOTIVES[motive][0], ((line_id,),))


_REASONERS: dict[int, type[_Reasoner]] = {
    **dict.fromkeys((1, 2, 3, 5, 6, 7, 8, 11, 12, 13), _PhysicalReasoner),
    **dict.fromkeys((9, 10), _BeliefReasoner),
    **dict.fromkeys((4, 19), _DirectionReasoner),
    14: _TimeReasoner,
    15: _DeductionReasoner,
    16: _InductionReasoner,
    17: _PositionReasoner,
    18: _SizeReasoner,
    20: _MotivationReasoner,
}
