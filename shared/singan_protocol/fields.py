"""Each request field's default, range and help in one place: `opt()` in messages.py.

`Body.from_dict` checks every range from here; the CLI builds its flags, and the plugin its
limits, from `specs(cls)`, so an option is added, or its limit moved, by one edit.
Stdlib only: the plugin imports it inside Krita's Python.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any

_KEY = "singan"  # the key of dataclasses.field(metadata=...) that holds a Spec's limits


def opt(default: Any = dataclasses.MISSING, *, lo: float | None = None,
        hi: float | None = None, above: float | None = None, below: float | None = None,
        choices: tuple | None = None, help: str = "") -> Any:
    """A request field: lo/hi are inclusive bounds, above/below exclusive ones."""
    meta = {_KEY: {"lo": lo, "hi": hi, "above": above, "below": below,
                   "choices": tuple(choices) if choices is not None else None, "help": help}}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Spec:
    """What one request field accepts, as the CLI, the plugin and the checks read it."""

    name: str
    type: type  # bool, int, float, str (the type without None)
    nullable: bool  # nil is allowed: "the backend's choice"
    default: Any  # dataclasses.MISSING when the field is required
    lo: float | None = None
    hi: float | None = None
    above: float | None = None
    below: float | None = None
    choices: tuple | None = None
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    def range_text(self) -> str:
        """'between 1 and 64', 'greater than 1 and at most 16', ... ('' if none)."""
        low = (f"at least {_num(self.lo)}" if self.lo is not None else
               f"greater than {_num(self.above)}" if self.above is not None else "")
        high = (f"at most {_num(self.hi)}" if self.hi is not None else
                f"less than {_num(self.below)}" if self.below is not None else "")
        if self.lo is not None and self.hi is not None:
            return f"between {_num(self.lo)} and {_num(self.hi)}"
        return " and ".join(t for t in (low, high) if t)

    def problem(self, value: Any) -> str | None:
        """Why `value` (already of the right type) is refused, or None."""
        if value is None:
            return None
        if self.choices is not None and value not in self.choices:
            return f"{self.name} must be one of {', '.join(map(str, self.choices))} (got {value!r})"
        if self.type in (int, float) and not (
                (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
                and (self.above is None or value > self.above)
                and (self.below is None or value < self.below)):
            return f"{self.name} must be {self.range_text()} (got {_num(value)})"
        return None


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _base_type(tp: Any) -> tuple[type, bool]:
    """(the type without None, whether None is allowed) of an annotation."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else object), len(args) < len(typing.get_args(tp))
    return tp, False


@functools.cache
def specs(cls: type) -> dict[str, Spec]:
    """name -> Spec for every field of a request body class, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        tp, nullable = _base_type(hints[f.name])
        meta = dict(f.metadata.get(_KEY, {}))
        meta.setdefault("help", "")
        out[f.name] = Spec(f.name, tp, nullable, f.default, **meta)
    return out


def spec(cls: type, name: str) -> Spec:
    return specs(cls)[name]
