"""PROTOCOL.md is the authority: its version, request and event sections match the code."""

import dataclasses
import re
from pathlib import Path

import singan_protocol
from singan_protocol import EVENTS, PROTOCOL_VERSION, REQUESTS

DOC = (Path(singan_protocol.__file__).parent / "PROTOCOL.md").read_text()


def test_version_matches_the_constant():
    m = re.search(r"^Protocol version: \*\*(\d+\.\d+)\*\*$", DOC, re.M)
    assert m and m.group(1) == PROTOCOL_VERSION
    assert f"**{PROTOCOL_VERSION}**" in DOC.split("## 7. Changelog")[1]


def test_every_message_type_has_a_section():
    headings = set(re.findall(r"^### (\w+)", DOC, re.M))
    missing = (set(REQUESTS) | set(EVENTS) | {"reply", "result"}) - headings
    assert not missing, f"PROTOCOL.md lacks sections for {sorted(missing)}"


def test_every_request_field_is_documented():
    for msg_type, cls in REQUESTS.items():
        section = DOC.split(f"### {msg_type} ", 1)[1].split("\n### ", 1)[0]
        for field in (f.name for f in dataclasses.fields(cls)):
            assert field in section, f"PROTOCOL.md: {msg_type} does not mention {field!r}"
