"""The three continual-learning scenarios (van de Ven & Tolias, arXiv 1904.07734).

- TASK:   the task id is given at test time; one output head per task.
- DOMAIN: one shared head; every task has the same label set.
- CLASS:  one head over all classes seen so far; no task id at test time.

The scenario decides the *target space*: task and domain targets are the label's index within
its task (0..k-1), class targets are global class ids. Streams store targets already mapped, so
methods never compute class offsets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import torch


class Scenario(StrEnum):
    TASK = "task"
    DOMAIN = "domain"
    CLASS = "class"

    @classmethod
    def parse(cls, value: str | Scenario) -> Scenario:
        """``"task"``/``"task-il"``/``Scenario.TASK`` -> ``Scenario.TASK``; anything else is a clear error."""
        if isinstance(value, Scenario):
            return value
        key = value.lower().removesuffix("-il").removesuffix("-incremental")
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown scenario {value!r}; valid: task, domain, class") from None


ALL_SCENARIOS = frozenset(Scenario)
ScenarioName = Literal["task", "domain", "class"]  # how options name a scenario (choices in --help)


def targets_for(scenario: Scenario, local: torch.Tensor, classes: tuple[int, ...]) -> torch.Tensor:
    """Local labels (index within the task) -> targets in the scenario's space."""
    if scenario is Scenario.CLASS:
        return torch.tensor(classes, dtype=torch.long)[local]
    return local.long()
