"""Story policies of the 20 bAbI tasks (Weston et al., arXiv 1502.05698).

Each policy tells one story with the shape of the released v1.2 files: how many statements come
between questions, which sentence forms appear and how often, who is asked about, and which
statements are cited as supporting facts (in the order the reasoning uses them). Sentence shares
are those counted in the v1.2 files; the probabilities of asking are chosen so that story lengths
and answer shares come out as in v1.2 (the tests compare them). Where the data leave a choice
open (which of several equally good chains to cite) the policy draws at random.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from lifelong.data._babi_world import (
    ACTORS,
    COLOURS,
    COUNT_WORDS,
    DEDUCTION_ACTORS,
    DIRECTIONS,
    GIVING_ACTORS,
    INDUCTION_ACTORS,
    INDUCTION_SPECIES,
    MOTIVATED_ACTORS,
    MOTIVES,
    OBJECTS,
    OPPOSITE,
    PRONOUNS,
    RELATIONS,
    ROOMS,
    SEQUENCE_WORDS,
    SHAPES,
    SIZED_CONTAINERS,
    SMALL_THINGS,
    SPECIES_PLURAL,
    STEP,
    TIMED_ACTORS,
    TIMED_ROOMS,
    TIMES,
    Choice,
    PhysicalWorld,
    Story,
    StoryWriter,
    ThereRates,
    get_sentence,
    move_sentence,
    other_room,
)

QUESTIONS_PER_STORY = 5
ALWAYS_THERE = ThereRates(get=1.0, drop=0.2)  # tasks 5-8: gets always say "there"
# Event kinds are weighted so that their shares of the told statements come out as counted in v1.2
# (not every kind is possible at every step, so weights and shares differ): moves ~65% in tasks 2
# and 3, gives ~17% in task 5, moves ~59% in task 7 and ~66% in task 8, which tells no gives.
WHERE_MIX: dict[Choice, float] = {"move": 1.8, "handle": 1}
GIVE_MIX: dict[Choice, float] = {"move": 1, "handle": 1, "give": 1.8}
COUNTING_MIX: dict[Choice, float] = {"move": 1.6, "handle": 1, "give": 1}
LISTING_MIX: dict[Choice, float] = {"move": 1.8, "handle": 1}
# Tasks 2 and 3: how likely an eager and a lazy story is to ask when it can (see `_eagerness`).
LAZY_STORIES = 0.1
TWO_FACTS_EAGERNESS = (0.75, 0.2)
THREE_FACTS_EAGERNESS = (0.28, 0.1)
# Task 5: after a pair of statements without a new give, how often the latest give is asked about
# again; and v1.2's shares of the question forms, in the order `three_arg_relations` lists them:
# "What did X give to Y?" 35%, "Who gave the O (to Y)?" 32%, "Who did X give the O to?" 17%,
# "Who received the O?" 16%.
GIVE_ASKED_AGAIN = 0.5
GIVE_QUESTION_SHARES = (0.35, 0.16, 0.16, 0.17, 0.16)
# Tasks 7 and 8: v1.2 cites at most 8 facts; how often a question follows a pair of statements,
# and how often it is about an actor of that pair.
MAX_HOLDING_FACTS = 8
HOLDING_ASK = 0.9
HOLDING_RECENT = 0.9
# Task 16: how often 1, 3 or 4 coloured actors share the asked actor's species (v1.2 never has 2).
INDUCTION_EXAMPLE_COUNTS = (0.925, 0.065, 0.01)
SIZE_BLOCK = 5  # task 18: statements come in blocks of five


def _asked_actor(rng: random.Random, recent: Sequence[str], known: Sequence[str], recent_share: float) -> str:
    """Mostly someone just mentioned, otherwise anyone known: the mix seen in v1.2."""
    recent_known = [actor for actor in dict.fromkeys(recent) if actor in known]
    pool = recent_known if recent_known and rng.random() < recent_share else known
    return rng.choice(list(pool))


def _eagerness(rng: random.Random, eager: float, lazy: float) -> float:
    """How likely a story is to ask when it can: `lazy` for a few stories, `eager` for the rest.

    A single rate makes story lengths nearly geometric; v1.2's tasks 2 and 3 have a longer tail
    (up to 88 and 228 statements) at the same mean, as a few slow stories give.
    """
    return lazy if rng.random() < LAZY_STORIES else eager


def single_supporting_fact(rng: random.Random) -> Story:
    """Task 1: five times two moves, then "Where is Mary?"."""
    world, story = PhysicalWorld(rng, ACTORS), StoryWriter()
    for _ in range(QUESTIONS_PER_STORY):
        movers = [world.narrate(story, {"move": 1}, ALWAYS_THERE).actor for _ in range(2)]
        actor = _asked_actor(rng, movers, list(world.told_move), recent_share=0.3)
        story.ask(f"Where is {actor}?", world.actor_room[actor], (world.told_move[actor],))
    return story.story()


def two_supporting_facts(rng: random.Random) -> Story:
    """Task 2: pairs of moves, gets and drops; "Where is the football?" once it is known.

    How eager a story is to ask is drawn per story, so that most stories are short and a few are
    long: v1.2's tail of story lengths (up to 88 statements) at its mean of about 22.
    """
    world, story = PhysicalWorld(rng, ACTORS), StoryWriter()
    eagerness = _eagerness(rng, *TWO_FACTS_EAGERNESS)
    while story.questions_asked < QUESTIONS_PER_STORY:
        for _ in range(2):
            world.narrate(story, WHERE_MIX, ThereRates(get=1.0, drop=0.21))
        located = {thing: known for thing in OBJECTS if (known := world.whereabouts(thing))}
        if located and rng.random() < eagerness:
            thing = rng.choice(list(located))
            room, location_line = located[thing]
            story.ask(f"Where is the {thing}?", room, (world.object_event[thing], location_line))
    return story.story()


def three_supporting_facts(rng: random.Random) -> Story:
    """Task 3: long stories; "Where was the football before the kitchen?".

    The object must be where it was last known to be (its holder or dropper is located), so
    the latest get or drop, the latest room and the room before form one chain of evidence.
    Each move to a new room is asked about at most once, which makes these stories long (20 to
    228 statements in v1.2); eager and lazy stories give them v1.2's long tail.
    """
    world, story = PhysicalWorld(rng, ACTORS), StoryWriter()
    asked: set[tuple[str, int]] = set()
    eagerness = _eagerness(rng, *THREE_FACTS_EAGERNESS)
    while story.questions_asked < QUESTIONS_PER_STORY:
        for _ in range(2):
            world.narrate(story, WHERE_MIX, ThereRates(get=0.19, drop=0.22))
        eligible = [
            thing
            for thing, history in world.history.items()
            if len(history) >= 2 and (thing, len(history)) not in asked and world.whereabouts(thing)
        ]
        if eligible and rng.random() < eagerness:
            thing = rng.choice(eligible)
            history = world.history[thing]
            asked.add((thing, len(history)))
            (previous, previous_line), (last, last_line) = history[-2:]
            support = (world.object_event[thing], last_line, previous_line)
            story.ask(f"Where was the {thing} before the {last}?", previous, support)
    return story.story()


def two_arg_relations(rng: random.Random) -> Story:
    """Task 4: three rooms in a row, two statements, one question about one of them.

    As in v1.2 the answer is always the subject of the cited statement: "The kitchen is north of
    the hallway." is asked as "What is north of the hallway?" or "What is the hallway south of?".
    """
    story = StoryWriter()
    first, middle, last = rng.sample(ROOMS, 3)
    direction = rng.choice("ne")  # `middle` lies this way of `first`, `last` this way of `middle`
    facts = [(middle, direction, first), (last, direction, middle)]
    rng.shuffle(facts)
    told = []
    for there, way, here in facts:
        if rng.random() < 0.5:
            there, way, here = here, OPPOSITE[way], there
        told.append((there, way, here, story.say(f"The {there} is {DIRECTIONS[way]} of the {here}.")))
    there, way, here, line = rng.choice(told)
    if rng.random() < 0.5:
        story.ask(f"What is {DIRECTIONS[way]} of the {here}?", there, (line,))
    else:
        story.ask(f"What is the {here} {DIRECTIONS[OPPOSITE[way]]} of?", there, (line,))
    return story.story()


def three_arg_relations(rng: random.Random) -> Story:
    """Task 5: who gave what to whom, asked about the latest give in five phrasings.

    Gives are about 17% of v1.2's statements yet there are more questions than gives, so after
    a pair of statements without a new give the latest one is sometimes asked about again.
    """
    world, story = PhysicalWorld(rng, GIVING_ACTORS), StoryWriter()
    latest_give, give_line, fresh = None, 0, False
    while story.questions_asked < QUESTIONS_PER_STORY:
        for _ in range(2):
            event = world.narrate(story, GIVE_MIX, ALWAYS_THERE)
            if event.kind == "give":
                latest_give, give_line, fresh = event, world.object_event[event.target], True
        if latest_give is None or not (fresh or rng.random() < GIVE_ASKED_AGAIN):
            continue
        giver, thing, receiver = latest_give.actor, latest_give.target, latest_give.recipient
        forms = {
            f"What did {giver} give to {receiver}?": thing,
            f"Who gave the {thing} to {receiver}?": giver,
            f"Who gave the {thing}?": giver,
            f"Who did {giver} give the {thing} to?": receiver,
            f"Who received the {thing}?": receiver,
        }
        text = rng.choices(list(forms), GIVE_QUESTION_SHARES)[0]
        story.ask(text, forms[text], (give_line,))
        fresh = False
    return story.story()


def yes_no_questions(rng: random.Random) -> Story:
    """Task 6: "Is John in the kitchen?" after (mostly) every two statements."""
    world, story = PhysicalWorld(rng, ACTORS), StoryWriter()
    while story.questions_asked < QUESTIONS_PER_STORY:
        recent = [world.narrate(story, {"move": 2, "handle": 1}, ALWAYS_THERE).actor for _ in range(2)]
        if not world.told_move:
            continue
        actor = _asked_actor(rng, recent, list(world.told_move), recent_share=0.5)
        room = world.actor_room[actor]
        asked_room = room if rng.random() < 0.5 else other_room(rng, ROOMS, room)
        answer = "yes" if asked_room == room else "no"
        story.ask(f"Is {actor} in the {asked_room}?", answer, (world.told_move[actor],))
    return story.story()


def _holding_story(
    rng: random.Random, question: Callable[[str, list[str]], tuple[str, str]], weights: dict[Choice, float]
) -> Story:
    """Tasks 7 and 8: after every two statements, ask what an actor who handled objects holds.

    The supporting facts are every get, drop and give the actor took part in, in story order;
    v1.2 never cites more than `MAX_HOLDING_FACTS` of them, so an actor with more is not asked about.
    """
    world, story = PhysicalWorld(rng, ACTORS), StoryWriter()
    while story.questions_asked < QUESTIONS_PER_STORY:
        recent = [world.narrate(story, weights, ALWAYS_THERE).actor for _ in range(2)]
        askable = [actor for actor in ACTORS if 0 < len(world.actor_events[actor]) <= MAX_HOLDING_FACTS]
        if askable and rng.random() < HOLDING_ASK:
            actor = _asked_actor(rng, recent, askable, recent_share=HOLDING_RECENT)
            text, answer = question(actor, world.carried[actor])
            story.ask(text, answer, tuple(world.actor_events[actor]))
    return story.story()


def counting(rng: random.Random) -> Story:
    """Task 7: "How many objects is Daniel carrying?" answered none/one/two/three."""
    return _holding_story(
        rng, lambda actor, held: (f"How many objects is {actor} carrying?", COUNT_WORDS[len(held)]), COUNTING_MIX
    )


def lists_sets(rng: random.Random) -> Story:
    """Task 8: "What is Daniel carrying?" answered nothing or a comma list in acquisition order.

    v1.2 tells no gives in this task (only moves, gets and drops).
    """
    return _holding_story(
        rng, lambda actor, held: (f"What is {actor} carrying?", ",".join(held) or "nothing"), LISTING_MIX
    )


def simple_negation(rng: random.Random) -> Story:
    """Task 9: moves and (negated) location statements; the latest fact about the actor decides."""
    story, room_of = StoryWriter(), {actor: rng.choice(ROOMS) for actor in ACTORS}
    latest: dict[str, tuple[bool, str, int]] = {}  # actor -> (positive, room, line)
    for _ in range(QUESTIONS_PER_STORY):
        recent = []
        for _ in range(2):
            actor, draw = rng.choice(ACTORS), rng.random()
            if draw < 0.49:
                room_of[actor] = other_room(rng, ROOMS, room_of[actor])
                fact = (True, room_of[actor], story.say(move_sentence(rng, actor, room_of[actor])))
            elif draw < 0.73:
                fact = (True, room_of[actor], story.say(f"{actor} is in the {room_of[actor]}."))
            else:
                room = other_room(rng, ROOMS, room_of[actor])
                negation = "is not in" if draw < 0.86 else "is no longer in"
                fact = (False, room, story.say(f"{actor} {negation} the {room}."))
            latest[actor] = fact
            recent.append(actor)
        actor = _asked_actor(rng, recent, list(latest), recent_share=0.5)
        positive, room, line = latest[actor]
        if positive and rng.random() < 0.5:
            story.ask(f"Is {actor} in the {other_room(rng, ROOMS, room)}?", "no", (line,))
        else:
            story.ask(f"Is {actor} in the {room}?", "yes" if positive else "no", (line,))
    return story.story()


def indefinite_knowledge(rng: random.Random) -> Story:
    """Task 10: "X is either in the A or the B." makes some answers "maybe"."""
    story, room_of = StoryWriter(), {actor: rng.choice(TIMED_ROOMS) for actor in TIMED_ACTORS}
    latest: dict[str, tuple[tuple[str, ...], int]] = {}  # actor -> (possible rooms, line)
    for _ in range(QUESTIONS_PER_STORY):
        recent = []
        for _ in range(2):
            actor, draw = rng.choice(TIMED_ACTORS), rng.random()
            if draw < 0.5:
                room_of[actor] = other_room(rng, TIMED_ROOMS, room_of[actor])
                text = move_sentence(rng, actor, room_of[actor])
                possible: tuple[str, ...] = (room_of[actor],)
            elif draw < 0.76:
                text, possible = f"{actor} is in the {room_of[actor]}.", (room_of[actor],)
            else:
                possible = (room_of[actor], other_room(rng, TIMED_ROOMS, room_of[actor]))
                possible = tuple(rng.sample(possible, 2))
                text = f"{actor} is either in the {possible[0]} or the {possible[1]}."
            latest[actor] = (possible, story.say(text))
            recent.append(actor)
        actor = _asked_actor(rng, recent, list(latest), recent_share=0.5)
        possible, line = latest[actor]
        if rng.random() < (0.57 if len(possible) == 2 else 0.52):
            room, answer = rng.choice(possible), ("maybe" if len(possible) == 2 else "yes")
        else:
            room, answer = other_room(rng, TIMED_ROOMS, *possible), "no"
        story.ask(f"Is {actor} in the {room}?", answer, (line,))
    return story.story()


def basic_coreference(rng: random.Random) -> Story:
    """Task 11: a named move, then "After that he went to the office.", then a question."""
    story, room_of = StoryWriter(), {actor: rng.choice(ROOMS) for actor in ACTORS}
    support: dict[str, tuple[int, ...]] = {}
    for _ in range(QUESTIONS_PER_STORY):
        actor = rng.choice(ACTORS)
        room_of[actor] = other_room(rng, ROOMS, room_of[actor])
        named = story.say(move_sentence(rng, actor, room_of[actor]))
        room_of[actor] = other_room(rng, ROOMS, room_of[actor])
        pronoun = f"{rng.choice(SEQUENCE_WORDS)} {PRONOUNS[actor]}"
        support[actor] = (named, story.say(move_sentence(rng, pronoun, room_of[actor])))
        asked = _asked_actor(rng, [actor], list(support), recent_share=0.15)
        story.ask(f"Where is {asked}?", room_of[asked], support[asked])
    return story.story()


def conjunction(rng: random.Random) -> Story:
    """Task 12: "Mary and Daniel went to the bathroom." twice, then a question."""
    story, room_of = StoryWriter(), {actor: rng.choice(ROOMS) for actor in ACTORS}
    support: dict[str, tuple[int, ...]] = {}
    for _ in range(QUESTIONS_PER_STORY):
        recent: list[str] = []
        for _ in range(2):
            pair = rng.sample(ACTORS, 2)
            room = other_room(rng, ROOMS, *(room_of[actor] for actor in pair))
            line = story.say(move_sentence(rng, " and ".join(pair), room))
            for actor in pair:
                room_of[actor], support[actor] = room, (line,)
            recent += pair
        asked = _asked_actor(rng, recent, list(support), recent_share=0.8)
        story.ask(f"Where is {asked}?", room_of[asked], support[asked])
    return story.story()


def compound_coreference(rng: random.Random) -> Story:
    """Task 13: "Mary and Daniel went to the bathroom. Then they journeyed to the hallway."."""
    story, room_of = StoryWriter(), {actor: rng.choice(ROOMS) for actor in ACTORS}
    support: dict[str, tuple[int, ...]] = {}
    for _ in range(QUESTIONS_PER_STORY):
        pair = rng.sample(ACTORS, 2)
        room = other_room(rng, ROOMS, *(room_of[actor] for actor in pair))
        named = story.say(move_sentence(rng, " and ".join(pair), room))
        room = other_room(rng, ROOMS, room)
        they = story.say(move_sentence(rng, f"{rng.choice(SEQUENCE_WORDS)} they", room))
        for actor in pair:
            room_of[actor], support[actor] = room, (named, they)
        asked = _asked_actor(rng, pair, list(support), recent_share=0.8)
        story.ask(f"Where is {asked}?", room_of[asked], support[asked])
    return story.story()


def time_reasoning(rng: random.Random) -> Story:
    """Task 14: moves at four times of day, told out of order; "Where was Julie before the school?".

    The first four statements include two consecutive moves of one actor, so that the first
    question can be asked; later questions wait for another statement when nothing is askable.
    """
    story = StoryWriter()
    visits: dict[str, dict[int, tuple[str, int]]] = {actor: {} for actor in TIMED_ACTORS}

    def tell(actor: str, time: int) -> None:
        neighbours = [visits[actor][t][0] for t in (time - 1, time + 1) if t in visits[actor]]
        room = other_room(rng, TIMED_ROOMS, *neighbours)
        clause = move_sentence(rng, actor, room)[:-1]
        text = f"{TIMES[time].capitalize()} {clause}." if rng.random() < 0.5 else f"{clause} {TIMES[time]}."
        visits[actor][time] = (room, story.say(text))

    planted_actor, planted_time = rng.choice(TIMED_ACTORS), rng.choices((0, 1, 2), (4, 2, 1))[0]
    planted = [(planted_actor, planted_time), (planted_actor, planted_time + 1)]
    rng.shuffle(planted)

    def free_times(actor: str) -> list[int]:
        reserved = [time for owner, time in planted if owner == actor]
        return [t for t in range(len(TIMES)) if t not in visits[actor] and t not in reserved]

    def tell_any() -> None:
        """Tells a move of anyone at a free time, earlier times likelier (no-op once all are told)."""
        actors = [actor for actor in TIMED_ACTORS if free_times(actor)]
        if actors:
            times = free_times(actor := rng.choice(actors))
            tell(actor, rng.choices(times, [2 ** (len(TIMES) - time) for time in times])[0])

    planted_positions = rng.sample(range(4), 2)
    for position in range(4):
        if position in planted_positions:
            tell(*planted.pop(0))
        else:
            tell_any()
    while story.questions_asked < QUESTIONS_PER_STORY:
        askable = [
            (time, actor, times[time + 1], times[time])
            for actor, times in visits.items()
            for time in range(len(TIMES) - 1)
            if time in times
            and time + 1 in times
            and all(times[later][0] != times[time + 1][0] for later in times if later > time + 1)
        ]
        if not askable:
            tell_any()
            continue
        earlier_first = [len(TIMES) - 1 - time for time, *_ in askable]
        _, actor, (place, place_line), (answer, answer_line) = rng.choices(askable, earlier_first)[0]
        story.ask(f"Where was {actor} before the {place}?", answer, (place_line, answer_line))
        if story.questions_asked < QUESTIONS_PER_STORY:
            tell_any()
            tell_any()
    return story.story()


def basic_deduction(rng: random.Random) -> Story:
    """Task 15: four fears and four memberships, shuffled; "What is gertrude afraid of?" x4."""
    story, species = StoryWriter(), tuple(SPECIES_PLURAL)
    fears = {animal: rng.choice([other for other in species if other != animal]) for animal in species}
    kind_of = {actor: rng.choice(species) for actor in DEDUCTION_ACTORS}
    facts = [("fear", animal) for animal in species] + [("member", actor) for actor in DEDUCTION_ACTORS]
    rng.shuffle(facts)
    line_of: dict[tuple[str, str], int] = {}
    for kind, name in facts:
        if kind == "fear":
            text = f"{SPECIES_PLURAL[name].capitalize()} are afraid of {SPECIES_PLURAL[fears[name]]}."
        else:
            text = f"{name} is a {kind_of[name]}."
        line_of[kind, name] = story.say(text)
    for _ in range(4):
        actor = rng.choice(DEDUCTION_ACTORS)
        support = (line_of["member", actor], line_of["fear", kind_of[actor]])
        story.ask(f"What is {actor.lower()} afraid of?", fears[kind_of[actor]], support)
    return story.story()


def basic_induction(rng: random.Random) -> Story:
    """Task 16: five memberships and four colours, shuffled; the colour of the uncoloured actor.

    As in v1.2, the asked actor shares its species with one coloured actor or with three or more
    (never two). One example means one colour; with three or more, their colours are drawn each
    on its own (so they mostly disagree, about 7% of v1.2's questions) and the answer is the
    colour of the most recent example, the one whose two statements are completed last.
    """
    story = StoryWriter()
    asked = rng.choice(INDUCTION_ACTORS)
    others = [actor for actor in INDUCTION_ACTORS if actor != asked]
    species = rng.choice(INDUCTION_SPECIES)
    examples = rng.sample(others, rng.choices((1, 3, 4), INDUCTION_EXAMPLE_COUNTS)[0])
    other_species = [animal for animal in INDUCTION_SPECIES if animal != species]
    kind_of = {actor: rng.choice(other_species) for actor in others if actor not in examples}
    kind_of |= dict.fromkeys((asked, *examples), species)
    colour_of = {animal: rng.choice(COLOURS) for animal in INDUCTION_SPECIES}
    colour = {actor: colour_of[kind_of[actor]] for actor in others}
    if len(examples) > 1:
        colour |= {actor: rng.choice(COLOURS) for actor in examples}
    facts = [("member", actor) for actor in INDUCTION_ACTORS] + [("colour", actor) for actor in others]
    rng.shuffle(facts)
    line_of: dict[tuple[str, str], int] = {}
    for kind, actor in facts:
        told = f"a {kind_of[actor]}" if kind == "member" else colour[actor]
        line_of[kind, actor] = story.say(f"{actor} is {told}.")
    example = max(examples, key=lambda actor: max(line_of["member", actor], line_of["colour", actor]))
    support = (line_of["member", asked], line_of["member", example], line_of["colour", example])
    story.ask(f"What color is {asked}?", colour[example], support)
    return story.story()


def positional_reasoning(rng: random.Random) -> Story:
    """Task 17: three shapes a unit step apart; eight yes/no questions about the outer two.

    "Above" and "to the left of" compare one axis strictly; a pair lying on one line is asked
    only about that axis (on the other they would be level).
    """
    story = StoryWriter()
    first, middle, last = rng.sample(SHAPES, 3)
    first_step = rng.choice("nsew")
    second_step = rng.choice([way for way in "nsew" if way != OPPOSITE[first_step]])
    position = {first: (0, 0)}
    position[middle] = _step(position[first], first_step)
    position[last] = _step(position[middle], second_step)
    pairs = [(first, middle), (middle, last)]
    rng.shuffle(pairs)
    line_of: dict[str, list[int]] = {first: [], middle: [], last: []}
    for pair in pairs:
        subject, reference = rng.sample(pair, 2)
        relation = next(r for r in RELATIONS if _holds(r, position[subject], position[reference]))
        line = story.say(f"The {subject} is {relation} the {reference}.")
        line_of[subject].append(line)
        line_of[reference].append(line)
    axes = {axis for axis in (0, 1) if position[first][axis] != position[last][axis]}
    relations = [relation for relation, (axis, _) in RELATIONS.items() if axis in axes]
    for _ in range(8):
        subject, reference = rng.sample((first, last), 2)
        relation = rng.choice(relations)
        answer = "yes" if _holds(relation, position[subject], position[reference]) else "no"
        support = (line_of[subject][0], line_of[reference][0])
        story.ask(f"Is the {subject} {relation} the {reference}?", answer, support)
    return story.story()


def _step(cell: tuple[int, int], way: str) -> tuple[int, int]:
    return cell[0] + STEP[way][0], cell[1] + STEP[way][1]


def _holds(relation: str, subject: tuple[int, int], reference: tuple[int, int]) -> bool:
    axis, sign = RELATIONS[relation]
    return (subject[axis] - reference[axis]) * sign > 0


def size_reasoning(rng: random.Random) -> Story:
    """Task 18: blocks of five size comparisons, then five questions each settled by a 2-step chain.

    Blocks are told until some pair is linked through a third object, so stories have 5, 10 or
    15 statements as in v1.2 (a story still without a chain after three blocks is drawn again).
    A question may be about a pair that is also compared directly, but it always cites a chain.
    """
    while True:
        story = StoryWriter()
        by_size = SMALL_THINGS + tuple(rng.sample(SIZED_CONTAINERS, len(SIZED_CONTAINERS)))
        bigger: list[tuple[str, str, int]] = []  # (bigger, smaller, line)
        chains: list[tuple[str, str, tuple[int, int]]] = []  # (bigger, smaller, the two lines)
        while not chains and len(bigger) < 3 * SIZE_BLOCK:
            for _ in range(SIZE_BLOCK):
                small, big = sorted(rng.sample(by_size, 2), key=by_size.index)
                if rng.random() < 0.5:
                    line = story.say(f"The {small} fits inside the {big}.")
                else:
                    line = story.say(f"The {big} is bigger than the {small}.")
                bigger.append((big, small, line))
            chains = [
                (top, bottom, (first_line, second_line))
                for top, middle, first_line in bigger
                for upper, bottom, second_line in bigger
                if upper == middle
            ]
        if chains:
            break
    for _ in range(QUESTIONS_PER_STORY):
        big, small, lines = rng.choice(chains)
        first, second = rng.sample((big, small), 2)
        answer = "yes" if first == small else "no"
        if rng.random() < 0.5:
            story.ask(f"Does the {first} fit in the {second}?", answer, tuple(sorted(lines)))
        else:
            answer = "no" if answer == "yes" else "yes"
            story.ask(f"Is the {first} bigger than the {second}?", answer, tuple(sorted(lines)))
    return story.story()


def path_finding(rng: random.Random) -> Story:
    """Task 19: six rooms joined by five adjacencies on a grid; the 2-step path between two.

    The rooms form a tree (each new room is put next to a placed one on a free cell), so every
    path is unique; the answer is the directions walked from the start, like "s,e".
    """
    story, rooms = StoryWriter(), rng.sample(ROOMS, len(ROOMS))
    cell_of = {rooms[0]: (0, 0)}
    edges: list[tuple[str, str, str]] = []  # (from, direction walked, to)
    for room in rooms[1:]:
        while True:
            anchor, way = rng.choice(list(cell_of)), rng.choice("nsew")
            cell = _step(cell_of[anchor], way)
            if cell not in cell_of.values():
                break
        cell_of[room] = cell
        edges.append((anchor, way, room))
    rng.shuffle(edges)
    line_of: dict[tuple[str, str], int] = {}
    walks: dict[str, list[tuple[str, str]]] = {room: [] for room in rooms}  # room -> (way, next)
    for anchor, way, room in edges:
        if rng.random() < 0.5:
            line = story.say(f"The {room} is {DIRECTIONS[way]} of the {anchor}.")
        else:
            line = story.say(f"The {anchor} is {DIRECTIONS[OPPOSITE[way]]} of the {room}.")
        line_of[anchor, room] = line_of[room, anchor] = line
        walks[anchor].append((way, room))
        walks[room].append((OPPOSITE[way], anchor))
    paths = [
        (start, first_way, middle, second_way, end)
        for start in rooms
        for first_way, middle in walks[start]
        for second_way, end in walks[middle]
        if end != start
    ]
    start, first_way, middle, second_way, end = rng.choice(paths)
    support = (line_of[start, middle], line_of[middle, end])
    story.ask(f"How do you go from the {start} to the {end}?", f"{first_way},{second_way}", support)
    return story.story()


def agents_motivations(rng: random.Random) -> Story:
    """Task 20: "Sumit is tired.", a move to where that leads, a get of what is there.

    A question follows every statement, about the actor just mentioned; actors' steps are
    interleaved and the story stops after 10 to 12 of them (the lengths seen in v1.2).
    """
    story = StoryWriter()
    motive_of = {actor: rng.choice(list(MOTIVES)) for actor in MOTIVATED_ACTORS}
    steps = [actor for actor in MOTIVATED_ACTORS for _ in range(3)]
    rng.shuffle(steps)
    length = rng.choices((10, 11, 12), (0.4, 0.5, 0.1))[0]
    told: dict[str, int] = {}
    motive_line: dict[str, int] = {}
    for actor in steps[:length]:
        step = told[actor] = told.get(actor, 0) + 1
        motive = motive_of[actor]
        room, thing = MOTIVES[motive]
        name = actor.lower()
        if step == 1:
            motive_line[actor] = story.say(f"{actor} is {motive}.")
            story.ask(f"Where will {name} go?", room, (motive_line[actor],))
        elif step == 2:
            story.say(move_sentence(rng, actor, room))
            story.ask(f"Why did {name} go to the {room}?", motive, (motive_line[actor],))
        else:
            story.say(get_sentence(rng, actor, thing, there_rate=1.0))
            story.ask(f"Why did {name} get the {thing}?", motive, (motive_line[actor],))
    return story.story()


STORY_POLICIES: dict[int, Callable[[random.Random], Story]] = {
    1: single_supporting_fact,
    2: two_supporting_facts,
    3: three_supporting_facts,
    4: two_arg_relations,
    5: three_arg_relations,
    6: yes_no_questions,
    7: counting,
    8: lists_sets,
    9: simple_negation,
    10: indefinite_knowledge,
    11: basic_coreference,
    12: conjunction,
    13: compound_coreference,
    14: time_reasoning,
    15: basic_deduction,
    16: basic_induction,
    17: positional_reasoning,
    18: size_reasoning,
    19: path_finding,
    20: agents_motivations,
}
