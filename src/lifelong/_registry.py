"""Name -> factory registries for streams, models and methods.

One registry per kind, so the CLI and ``lifelong list`` can be generated from what is registered,
and a second registration under an existing name is a loud error instead of a silent override.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lifelong.errors import OptionError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered thing: its name, family (for grouping in listings) and factory."""

    name: str
    family: str
    factory: T
    summary: str
    defaults: dict[str, Any]


class Registry(Generic[T]):
    """A name -> factory mapping that refuses duplicates and explains unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, *, family: str = "", summary: str = "", defaults: dict[str, Any] | None = None
    ) -> Callable[[T], T]:
        """Decorator registering ``factory`` under ``name``; a duplicate name raises ``ValueError``.

        ``defaults`` (streams only) name the model and training settings that suit the stream
        (``{"model": "memn2n", "train": {...}}``); explicit options and presets override them.
        """

        def decorate(factory: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            doc = summary or (getattr(factory, "__doc__", None) or "").strip().split("\n")[0]
            self._entries[name] = Entry(name, family, factory, doc, dict(defaults or {}))
            return factory

        return decorate

    def get(self, name: str) -> Entry[T]:
        """The entry for ``name``; an unknown name raises :class:`OptionError` listing the valid ones."""
        _load_builtins()
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries))
            raise OptionError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def names(self) -> list[str]:
        _load_builtins()
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        _load_builtins()
        return [self._entries[n] for n in sorted(self._entries)]


STREAMS: Registry[Callable[..., Any]] = Registry("stream")
MODELS: Registry[Callable[..., Any]] = Registry("model")
METHODS: Registry[type] = Registry("method")

_loaded = False


def _load_builtins() -> None:
    """Import the built-in streams, models and methods once, on first lookup (keeps import light)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from lifelong import methods, models, streams  # noqa: F401
