"""Typed options generated from signatures and dataclass fields: listing, parsing, validation.

Streams are registered functions, methods dataclasses; both expose (name, type, default) triples,
so the CLI, ``lifelong list`` and TOML presets share one source of truth. Values from the command
line (strings) and from presets (TOML values) pass through :func:`coerce`, which checks them against
the annotation: an unknown key names the valid ones, an enumerated option (``Literal[...]``) its
choices, a number must be finite, and a TOML ``true`` is not an integer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lifelong.errors import OptionError


@dataclass(frozen=True)
class Option:
    name: str
    annotation: Any
    default: Any

    @property
    def type_name(self) -> str:
        """``int``, ``float | None``, ``{fixed,random}`` (an enumeration shows its choices)."""
        return type_name(self.annotation)


def type_name(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "{" + ",".join(str(c) for c in typing.get_args(annotation)) + "}"
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def choices(annotation: Any) -> tuple[Any, ...]:
    """The values of an enumerated option (``Literal["fixed", "random"]``), else ``()``."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return ()


def options_of(target: Callable[..., Any] | type) -> list[Option]:
    """The configurable parameters of a stream builder (signature) or a method class (dataclass fields)."""
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        hints = typing.get_type_hints(target)
        return [Option(f.name, hints.get(f.name, Any), _field_default(f)) for f in dataclasses.fields(target)
                if f.init]
    hints = typing.get_type_hints(target)
    return [Option(p.name, hints.get(p.name, Any), p.default) for p in inspect.signature(target).parameters.values()]


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return inspect.Parameter.empty


def resolve(target: Callable[..., Any] | type, given: dict[str, Any], where: str, owner: str = "") -> dict[str, Any]:
    """Check ``given`` against the target's options and coerce values to the declared types.

    Args:
        target: a stream builder or a method/config dataclass.
        given: option name -> value (strings from the command line, TOML values from presets).
        where: how the user wrote the option's prefix, e.g. ``"--method."`` or ``"p.toml: [train] "``;
            every error starts with ``where`` + the key.
        owner: what the options belong to, e.g. ``"method 'ewc'"``, for the unknown-key message.
    """
    if not isinstance(given, dict):
        raise OptionError(f"{where.rstrip('. ')}: expected a table of options, got {given!r}")
    valid = {o.name: o for o in options_of(target)}
    out = {}
    for key, value in given.items():
        if key not in valid:
            of = f" of {owner}" if owner else ""
            raise OptionError(f"{where}{key}: unknown option{of}; valid: {', '.join(sorted(valid)) or '(none)'}")
        out[key] = coerce(value, valid[key].annotation, f"{where}{key}")
    return out


def coerce(value: Any, annotation: Any, name: str) -> Any:
    """A CLI string or a TOML value -> the annotated type, or an :class:`OptionError` naming ``name``.

    ``int | None`` accepts "none"; tuples take "a,b,c" or a TOML list; floats must be finite.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for candidate in inner:
            try:
                return coerce(value, candidate, name)
            except OptionError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise OptionError(f"{name}: cannot read {value!r} as {type_name(annotation)}")
    if origin is typing.Literal:
        if value not in args:
            raise OptionError(f"{name}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise OptionError(f"{name}: expected a list, got {value!r}")
        element = args[0] if args else Any
        if len(args) > 1 and args[1] is not Ellipsis:
            if len(items) != len(args):
                raise OptionError(f"{name}: expected {len(args)} values, got {len(items)}")
            return tuple(coerce(v, a, name) for v, a in zip(items, args, strict=True))
        return tuple(coerce(v, element, name) for v in items)
    if annotation is bool:
        return _boolean(value, name)
    if annotation is int:
        return _integer(value, name)
    if annotation is float:
        return _number(value, name)
    if annotation is str:
        if not isinstance(value, str):
            raise OptionError(f"{name}: expected text, got {value!r}")
        return value
    return value


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    raise OptionError(f"{name}: cannot read {value!r} as bool (true or false)")


def _integer(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise OptionError(f"{name}: cannot read {value!r} as int")


def _number(value: Any, name: str) -> float:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value)
    if number is None:
        raise OptionError(f"{name}: cannot read {value!r} as float")
    if not math.isfinite(number):
        raise OptionError(f"{name}: must be a finite number, got {value!r}")
    return number
