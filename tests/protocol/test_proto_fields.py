"""Each request field's default and range live in messages.py's opt(); PROTOCOL.md's field
lists and ranges, and from_dict's checks, follow them."""

import dataclasses
import re
from pathlib import Path

import pytest

import singan_protocol
from singan_protocol import JOB_REQUESTS, REQUESTS, ProtocolError
from singan_protocol.fields import spec, specs
from singan_protocol.messages import Animate, Generate, Upscale

DOC = (Path(singan_protocol.__file__).parent / "PROTOCOL.md").read_text()
LITERALS = {"true": True, "false": False}


def documented_fields(msg_type: str) -> dict[str, tuple[str, bool, str | None]]:
    """name -> (type, optional, default text) from the section heading's `{...}` list."""
    heading = re.search(rf"^### {msg_type} `\{{(.*?)\}}`", DOC, re.M)
    assert heading, f"PROTOCOL.md: no field list in the heading of {msg_type}"
    out = {}
    for item in filter(None, (t.strip() for t in heading.group(1).split(","))):
        m = re.fullmatch(r"(\w+)(\??): (\w+)(?:=(.+))?", item)
        assert m, f"PROTOCOL.md {msg_type}: cannot read {item!r}"
        out[m.group(1)] = (m.group(3), m.group(2) == "?", m.group(4))
    return out


def section(msg_type: str) -> str:
    return DOC.split(f"### {msg_type} ", 1)[1].split("\n### ", 1)[0]


def parse_default(text: str):
    return LITERALS[text] if text in LITERALS else eval(text)  # a number or a "string"


@pytest.mark.parametrize("msg_type", sorted(REQUESTS))
def test_the_field_lists_are_the_dataclasses(msg_type):
    doc = documented_fields(msg_type)
    fields = specs(REQUESTS[msg_type])
    assert set(doc) == set(fields), (f"PROTOCOL.md {msg_type}: lacks {set(fields) - set(doc)}, "
                                     f"has {set(doc) - set(fields)} that the code lacks")
    for name, (type_name, optional, default) in doc.items():
        s = fields[name]
        assert type_name == s.type.__name__, f"{msg_type}.{name}: type"
        assert optional == (s.nullable and s.default is None), f"{msg_type}.{name}: '?'"
        if default is not None:
            assert parse_default(default) == s.default, f"{msg_type}.{name}: default"
        else:
            assert s.default in (None, dataclasses.MISSING), f"{msg_type}.{name}: no default"


NUM = r"-?\d+(?:\.\d+)?"
# "`n` in 1..64", "`a`/`b` in 11..4096", "`factor` in (1, 16]"; "0..2^63-1" is left alone
RANGE = re.compile(rf"`(\w+)`(?:/`(\w+)`)?\s+in\s+(?:({NUM})\.\.({NUM})(?![\w^])|([\[(])({NUM}), "
                   rf"({NUM})([\])]))")


@pytest.mark.parametrize("msg_type", sorted(JOB_REQUESTS))
def test_the_ranges_the_doc_gives_are_the_dataclasses(msg_type):
    fields = specs(JOB_REQUESTS[msg_type])
    for m in RANGE.finditer(section(msg_type)):
        for name in filter(None, m.group(1, 2)):
            if name not in fields:
                continue  # a reply's field (progress's fraction, ...)
            s = fields[name]
            if m.group(3):  # lo..hi, both inclusive
                assert (float(m.group(3)), float(m.group(4))) == (s.lo, s.hi), name
            else:
                low, high = float(m.group(6)), float(m.group(7))
                assert (s.lo if m.group(5) == "[" else s.above) == low, name
                assert (s.hi if m.group(8) == "]" else s.below) == high, name


def test_ranges_come_from_the_declaration():
    for body in ({"model_id": "m", "fps": 50.5}, {"model_id": "m", "fps": 0.5}):
        with pytest.raises(ProtocolError, match="fps must be between 1 and 50") as e:
            Animate.from_dict(body)
        assert e.value.code == "bad_option"
    assert Animate.from_dict({"model_id": "m", "fps": 50}).fps == 50.0
    with pytest.raises(ProtocolError, match="greater than 1 and at most 16"):
        Upscale.from_dict({"factor": 1})
    with pytest.raises(ProtocolError, match="between 1 and 8192"):
        Generate.from_dict({"model_id": "m", "height": 8193})
    with pytest.raises(ProtocolError, match="one of u8, u16"):
        Generate.from_dict({"model_id": "m", "sample_type": "u32"})
    assert spec(Animate, "beta").problem(float("nan"))  # NaN is in no range


def test_every_job_field_has_help():
    for msg_type, cls in JOB_REQUESTS.items():
        for s in specs(cls).values():
            assert s.help, f"{msg_type}.{s.name} has no help text"
