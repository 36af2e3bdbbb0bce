"""The simulated world behind the bAbI stories, and the words it is told in.

The bAbI tasks (Weston et al., "Towards AI-Complete Question Answering: A Set of Prerequisite
Toy Tasks", arXiv 1502.05698) narrate a small world: a few actors move between rooms and get,
drop and give objects. As in the original generator, a story is told from a hidden true world:
actors and objects start in rooms the reader is never told about (drawn anew for each story),
and only events possible in that world are told (an actor picks up only what lies in the same
room). A question is asked
only when the *told* sentences determine its answer, so `PhysicalWorld` keeps the truth and the
reader's knowledge side by side.

Vocabulary and sentence forms are those of the released v1.2 English files.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

ACTORS = ("John", "Mary", "Sandra", "Daniel")
PRONOUNS = {"John": "he", "Daniel": "he", "Mary": "she", "Sandra": "she"}
ROOMS = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
OBJECTS = ("apple", "football", "milk")
GIVING_ACTORS = ("Bill", "Fred", "Jeff", "Mary")
TIMED_ACTORS = ("Bill", "Fred", "Julie", "Mary")
TIMED_ROOMS = ("bedroom", "cinema", "kitchen", "office", "park", "school")
TIMES = ("yesterday", "this morning", "this afternoon", "this evening")

MOVE_VERBS = ("moved", "went", "journeyed", "travelled", "went back")
GET_VERBS = ("got", "took", "grabbed", "picked up")
DROP_VERBS = ("dropped", "put down", "left", "discarded")
GIVE_VERBS = ("gave", "passed", "handed")
SEQUENCE_WORDS = ("After that", "Afterwards", "Then", "Following that")
COUNT_WORDS = ("none", "one", "two", "three")

DIRECTIONS = {"n": "north", "s": "south", "e": "east", "w": "west"}
OPPOSITE = {"n": "s", "s": "n", "e": "w", "w": "e"}
STEP = {"n": (0, 1), "s": (0, -1), "e": (1, 0), "w": (-1, 0)}

SPECIES_PLURAL = {"cat": "cats", "mouse": "mice", "sheep": "sheep", "wolf": "wolves"}
DEDUCTION_ACTORS = ("Gertrude", "Winona", "Jessica", "Emily")
INDUCTION_ACTORS = ("Lily", "Bernhard", "Greg", "Julius", "Brian")
INDUCTION_SPECIES = ("swan", "lion", "frog", "rhino")
COLOURS = ("gray", "white", "yellow", "green")
SHAPES = ("triangle", "red square", "blue square", "yellow square", "red sphere", "pink rectangle")
# Task 17 relations, each with the axis it compares and the sign of the difference it asserts.
RELATIONS = {"above": (1, 1), "below": (1, -1), "to the right of": (0, 1), "to the left of": (0, -1)}
SIZED_CONTAINERS = ("box", "chest", "container", "suitcase")
SMALL_THINGS = ("chocolate", "box of chocolates")  # always the smallest two, in this order
MOTIVES = {  # motivation -> (where it sends an actor, what the actor takes there)
    "hungry": ("kitchen", "apple"),
    "thirsty": ("kitchen", "milk"),
    "bored": ("garden", "football"),
    "tired": ("bedroom", "pajamas"),
}
MOTIVATED_ACTORS = ("Jason", "Antoine", "Sumit", "Yann")


@dataclass(frozen=True)
class Line:
    """One numbered line of a story: a statement, or a question with its answer.

    Attributes:
        id: 1-based position in the story; supporting facts cite lines by it.
        text: the sentence, ending in "." for a statement and "?" for a question.
        answer: None for a statement; for a question one word, or words joined by commas.
        supporting: ids of the statements that justify the answer, in the order they are used.
    """

    id: int
    text: str
    answer: str | None = None
    supporting: tuple[int, ...] = ()

    @property
    def is_question(self) -> bool:
        """Whether the line asks something (questions are not facts of the story)."""
        return self.answer is not None


@dataclass(frozen=True)
class Story:
    """A story as numbered in the files: statements and questions, ids counting from 1."""

    lines: tuple[Line, ...]

    @property
    def questions(self) -> tuple[Line, ...]:
        """The question lines, in story order."""
        return tuple(line for line in self.lines if line.is_question)


class StoryWriter:
    """Numbers lines as they are told, so that supporting facts can cite earlier ones."""

    def __init__(self) -> None:
        self._lines: list[Line] = []
        self.questions_asked = 0

    def say(self, text: str) -> int:
        """Appends a statement and returns its line id."""
        self._lines.append(Line(len(self._lines) + 1, text))
        return len(self._lines)

    def ask(self, text: str, answer: str, supporting: tuple[int, ...]) -> None:
        """Appends a question with its answer and supporting statement ids."""
        self._lines.append(Line(len(self._lines) + 1, text, answer, supporting))
        self.questions_asked += 1

    def story(self) -> Story:
        """The story told so far."""
        return Story(tuple(self._lines))


def other_room(rng: random.Random, rooms: tuple[str, ...], *excluded: str) -> str:
    """A random room that is none of `excluded`: a move always changes the actor's room."""
    return rng.choice([room for room in rooms if room not in excluded])


def move_sentence(rng: random.Random, actor: str, room: str) -> str:
    """`Mary went back to the kitchen.` with one of the five move verbs."""
    return f"{actor} {rng.choice(MOVE_VERBS)} to the {room}."


def get_sentence(rng: random.Random, actor: str, thing: str, there_rate: float) -> str:
    """`Mary got the milk there.`; how often "there" is added differs between tasks."""
    there = " there" if rng.random() < there_rate else ""
    return f"{actor} {rng.choice(GET_VERBS)} the {thing}{there}."


@dataclass(frozen=True)
class ThereRates:
    """How often a get and a drop end in "there" (differs per task in v1.2)."""

    get: float
    drop: float


EventKind = Literal["move", "get", "drop", "give"]
# What a task asks for: "handle" lets the world choose a get or a drop, whichever is possible.
Choice = Literal["move", "handle", "give"]


@dataclass(frozen=True)
class Event:
    """One thing an actor does to the world.

    Attributes:
        kind: what happens.
        actor: who does it (the giver of a give).
        target: the room of a move, the object otherwise.
        recipient: who receives the object of a give.
    """

    kind: EventKind
    actor: str
    target: str
    recipient: str = ""


class PhysicalWorld:
    """Actors, rooms and objects: the hidden truth, plus what the reader has been told.

    The reader learns an actor's room only from a told move, and an object's room from the room
    of the actor holding or dropping it; every told fact keeps the line id that told it, because
    those ids are the supporting facts of the questions.
    """

    def __init__(
        self,
        rng: random.Random,
        actors: tuple[str, ...],
        rooms: tuple[str, ...] = ROOMS,
        objects: tuple[str, ...] = OBJECTS,
    ) -> None:
        self._rng = rng
        self.actors, self.rooms, self.objects = actors, rooms, objects
        self.actor_room = {actor: rng.choice(rooms) for actor in actors}
        self.object_place = {thing: rng.choice(rooms) for thing in objects}  # a room or a holder
        self.told_move: dict[str, int] = {}  # actor -> line that told the actor's current room
        self.object_event: dict[str, int] = {}  # object -> line of its latest get, drop or give
        self.dropped_at: dict[str, int] = {}  # lying object -> move line telling where it fell
        self.actor_events: dict[str, list[int]] = defaultdict(list)  # get/drop/give lines
        self.carried: dict[str, list[str]] = defaultdict(list)  # in the order acquired
        self.history: dict[str, list[tuple[str, int]]] = {thing: [] for thing in objects}

    def _options(self, choice: Choice) -> list[Event]:
        """Every event of that kind the true world allows right now."""
        if choice == "move":
            return [
                Event("move", actor, room)
                for actor in self.actors
                for room in self.rooms
                if room != self.actor_room[actor]
            ]
        if choice == "handle":
            return [
                Event("get" if place in self.rooms else "drop", actor, thing)
                for actor in self.actors
                for thing, place in self.object_place.items()
                if place in (actor, self.actor_room[actor])
            ]
        return [
            Event("give", giver, thing, receiver)
            for thing, giver in self.object_place.items()
            if giver in self.actor_room
            for receiver in self.actors
            if receiver != giver and self.actor_room[receiver] == self.actor_room[giver]
        ]

    def narrate(self, story: StoryWriter, weights: dict[Choice, float], there: ThereRates) -> Event:
        """Picks a possible event (kinds weighted as the task asks), tells it and applies it."""
        options = {choice: self._options(choice) for choice in weights}
        possible = [choice for choice in weights if options[choice]]
        choice = self._rng.choices(possible, [weights[c] for c in possible])[0]
        event = self._rng.choice(options[choice])
        self._apply(event, story.say(self._sentence(event, there)))
        return event

    def _sentence(self, event: Event, there: ThereRates) -> str:
        rng = self._rng
        if event.kind == "move":
            return move_sentence(rng, event.actor, event.target)
        if event.kind == "get":
            return get_sentence(rng, event.actor, event.target, there.get)
        if event.kind == "drop":
            suffix = " there" if rng.random() < there.drop else ""
            return f"{event.actor} {rng.choice(DROP_VERBS)} the {event.target}{suffix}."
        return f"{event.actor} {rng.choice(GIVE_VERBS)} the {event.target} to {event.recipient}."

    def _apply(self, event: Event, line: int) -> None:
        """Changes the truth and the reader's knowledge as the told event implies."""
        actor, target = event.actor, event.target
        if event.kind == "move":
            self.actor_room[actor] = target
            self.told_move[actor] = line
        else:
            self.object_event[target] = line
            self.actor_events[actor].append(line)
            if event.kind == "get":
                self.object_place[target] = actor
                self.carried[actor].append(target)
                self.dropped_at.pop(target, None)
            elif event.kind == "drop":
                self.object_place[target] = self.actor_room[actor]
                self.carried[actor].remove(target)
                if actor in self.told_move:
                    self.dropped_at[target] = self.told_move[actor]
            else:
                self.object_place[target] = event.recipient
                self.carried[actor].remove(target)
                self.carried[event.recipient].append(target)
                self.actor_events[event.recipient].append(line)
        self._record_history()

    def whereabouts(self, thing: str) -> tuple[str, int] | None:
        """The object's room as the reader knows it, with the move line that tells it."""
        place = self.object_place[thing]
        if place in self.told_move:
            return self.actor_room[place], self.told_move[place]
        if thing in self.dropped_at:
            return place, self.dropped_at[thing]
        return None

    def _record_history(self) -> None:
        """Keeps each object's known rooms in order, for "where was it before" (task 3).

        A new room starts a new entry; the same room told by a newer fact updates the entry, so
        that the supporting facts are the latest ones that place the object.
        """
        for thing, history in self.history.items():
            known = self.whereabouts(thing)
            if known is None:
                continue
            if history and history[-1][0] == known[0]:
                history[-1] = known
            else:
                history.append(known)
