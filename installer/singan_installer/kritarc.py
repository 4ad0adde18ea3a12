"""Reads and edits single keys of Krita's `kritarc` (KConfig INI) without touching the rest.

configparser would rewrite the whole file (case, ordering, KConfig escapes); Krita's own
settings must come out byte for byte as they went in, apart from the one key we own.
"""

from __future__ import annotations

import re

_GROUP = re.compile(r"^\s*\[(?P<name>[^\]]*)\]\s*$")


def _group_span(lines: list[str], group: str) -> tuple[int, int] | None:
    """(first line after the header, end) of `[group]`, or None when it is absent."""
    start = None
    for i, line in enumerate(lines):
        m = _GROUP.match(line)
        if m and start is not None:
            return start, i
        if m and m.group("name") == group:
            start = i + 1
    return (start, len(lines)) if start is not None else None


def _key_line(lines: list[str], span: tuple[int, int], key: str) -> int | None:
    for i in range(*span):
        name, sep, _ = lines[i].partition("=")
        if sep and name.strip() == key:
            return i
    return None


def get_value(text: str, group: str, key: str) -> str | None:
    lines = text.splitlines()
    span = _group_span(lines, group)
    index = _key_line(lines, span, key) if span else None
    return None if index is None else lines[index].partition("=")[2].strip()


def set_value(text: str, group: str, key: str, value: str) -> str:
    lines = text.splitlines()
    span = _group_span(lines, group)
    if span is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"[{group}]", f"{key}={value}"]
    else:
        index = _key_line(lines, span, key)
        if index is None:
            end = span[1]
            while end > span[0] and not lines[end - 1].strip():
                end -= 1  # keep the blank line that separates groups after our key
            lines.insert(end, f"{key}={value}")
        else:
            lines[index] = f"{key}={value}"
    return "\n".join(lines) + "\n"


def remove_key(text: str, group: str, key: str) -> str:
    lines = text.splitlines()
    span = _group_span(lines, group)
    index = _key_line(lines, span, key) if span else None
    if index is None:
        return text
    del lines[index]
    return "\n".join(lines) + ("\n" if lines else "")


def remove_group_if_empty(text: str, group: str) -> str:
    """Drop `[group]` when no key is left in it (only for a group we added ourselves)."""
    lines = text.splitlines()
    span = _group_span(lines, group)
    if span is None or any(line.strip() for line in lines[span[0]:span[1]]):
        return text
    del lines[span[0] - 1:span[1]]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + ("\n" if lines else "")
