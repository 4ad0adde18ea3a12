"""Multipart framing and HMAC-SHA256 signing: PROTOCOL.md section 2.

A message on the wire is [signature, header, body, *image frames]. This module turns a
(msg_type, body, images) triple into those frames and back, and never touches a socket.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

PROTOCOL_VERSION = "1.0"  # keep equal to the version line of PROTOCOL.md (a test checks)
MAX_HEADER_BYTES = 1 << 20
MAX_BODY_BYTES = 1 << 20
SIGNATURE_SCHEME = "hmac-sha256"
_ID_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_VERSION_RE = re.compile(r"^(\d{1,4})\.(\d{1,4})$")


class ProtocolError(Exception):
    """A message, field, file or payload that breaks the protocol.

    `code` is one of PROTOCOL.md's stable error codes. `msg_id` is set when the offending
    message was authentic and its id could be read, so the backend can answer it; when it is
    None the message is dropped without an answer.
    """

    def __init__(self, message: str, code: str = "bad_request", msg_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.msg_id = msg_id


def new_msg_id() -> str:
    return uuid.uuid4().hex


def valid_id(x: Any) -> bool:
    return isinstance(x, str) and _ID_RE.match(x) is not None


def major(version: str) -> int | None:
    m = _VERSION_RE.match(version) if isinstance(version, str) else None
    return int(m.group(1)) if m else None


def _view(frame: Any) -> memoryview:
    # zmq.Frame exposes its bytes as .buffer; bytes / bytearray / memoryview are buffers already.
    return memoryview(getattr(frame, "buffer", frame))


class Signer:
    """HMAC-SHA256 over length-prefixed frames (PROTOCOL.md 2.2)."""

    def __init__(self, key: str | bytes):
        self.key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if not self.key:
            raise ValueError("an empty key would make every signature forgeable")

    def sign(self, frames: Sequence[Any]) -> bytes:
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for f in frames:
            view = _view(f)
            mac.update(view.nbytes.to_bytes(8, "big"))
            mac.update(view)  # hashes the buffer in place: no copy of the pixels
        return mac.hexdigest().encode("ascii")

    def verify(self, signature: Any, frames: Sequence[Any]) -> bool:
        sig = _view(signature)
        if sig.nbytes != 64:
            return False
        return hmac.compare_digest(bytes(sig), self.sign(frames))


@dataclass
class Message:
    """A decoded, authenticated message."""

    msg_id: str
    msg_type: str
    version: str
    date: float
    parent_id: str | None
    body: dict
    images: list = field(default_factory=list)  # list[ImagePayload]


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _no_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not allowed")


def unpack_map(buf: Any, what: str, limit: int, msg_id: str | None = None) -> dict:
    view = _view(buf)
    if view.nbytes > limit:
        raise ProtocolError(f"{what} is {view.nbytes} bytes; the limit is {limit}", "too_large",
                            msg_id)
    try:
        # unpackb bounds every string, array and map by the input's length, so a small frame
        # cannot declare a huge container
        obj = msgpack.unpackb(view, raw=False, strict_map_key=True, ext_hook=_no_ext,
                              timestamp=0)
    except Exception as e:  # msgpack raises many types for bad input; all mean the same here
        raise ProtocolError(f"{what} is not valid msgpack ({type(e).__name__})", "bad_request",
                            msg_id) from None
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise ProtocolError(f"{what} must be a map with string keys", "bad_request", msg_id)
    if any(isinstance(v, msgpack.Timestamp) for v in obj.values()):
        raise ProtocolError(f"{what} holds a msgpack timestamp", "bad_request", msg_id)
    return obj


def encode(signer: Signer, msg_type: str, body: dict, images: Sequence[Any] = (),
           parent_id: str | None = None, msg_id: str | None = None) -> tuple[str, list]:
    """Frames for one message: [signature, header, body, *image data]. Returns (msg_id, frames).

    Image data frames are the payloads' own buffers (not copied); send them with copy=False.
    """
    msg_id = msg_id or new_msg_id()
    header = {"msg_id": msg_id, "msg_type": msg_type, "version": PROTOCOL_VERSION,
              "date": time.time(), "parent_id": parent_id,
              "images": [img.descriptor() for img in images]}
    frames = [pack(header), pack(body)] + [img.data for img in images]
    return msg_id, [signer.sign(frames)] + frames


def decode(signer: Signer, frames: Sequence[Any], max_pixels: int | None = None) -> Message:
    """Check the signature first, then the header, body and image descriptors.

    Raises ProtocolError; its msg_id is None when the message must be dropped unanswered.
    """
    from .payload import ImagePayload  # payload imports this module for ProtocolError

    if len(frames) < 3:
        raise ProtocolError(f"a message needs at least 3 frames, got {len(frames)}")
    if not signer.verify(frames[0], frames[1:]):
        raise ProtocolError("bad or missing signature", "bad_signature")
    header = unpack_map(frames[1], "header", MAX_HEADER_BYTES)
    msg_id = header.get("msg_id")
    if not valid_id(msg_id):
        raise ProtocolError("header.msg_id missing or malformed")
    for key, types in (("msg_type", str), ("version", str), ("date", (float, int)),
                       ("images", list)):
        value = header.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            raise ProtocolError(f"header.{key} missing or of the wrong type", msg_id=msg_id)
    parent_id = header.get("parent_id")
    if parent_id is not None and not valid_id(parent_id):
        raise ProtocolError("header.parent_id is malformed", msg_id=msg_id)
    if major(header["version"]) is None:
        raise ProtocolError(f"header.version {header['version']!r} is not MAJOR.MINOR",
                            msg_id=msg_id)
    descs = header["images"]
    if len(descs) != len(frames) - 3:
        raise ProtocolError(f"header lists {len(descs)} images but {len(frames) - 3} image "
                            f"frames came", msg_id=msg_id)
    body = unpack_map(frames[2], "body", MAX_BODY_BYTES, msg_id)
    images = []
    for i, (desc, frame) in enumerate(zip(descs, frames[3:], strict=True)):
        try:
            images.append(ImagePayload.from_descriptor(desc, _view(frame), max_pixels))
        except ProtocolError as e:
            raise ProtocolError(f"image {i}: {e.message}", e.code, msg_id) from None
    return Message(msg_id, header["msg_type"], header["version"], float(header["date"]),
                   parent_id, body, images)


class ReplayGuard:
    """Rejects a msg_id seen before and a date outside the window (PROTOCOL.md 2.2).

    An id only needs remembering while its date is inside the window: an older copy is
    refused by its date. The cap bounds memory even under a flood of authentic messages.
    """

    def __init__(self, window_s: float = 300.0, max_ids: int = 200_000):
        self.window_s = window_s
        self.max_ids = max_ids
        self.seen: OrderedDict[str, float] = OrderedDict()  # msg_id -> time first seen

    def check(self, msg: Message, now: float | None = None) -> None:
        now = time.time() if now is None else now
        while self.seen and (len(self.seen) > self.max_ids
                             or next(iter(self.seen.values())) < now - 2 * self.window_s):
            self.seen.popitem(last=False)
        if msg.msg_id in self.seen:
            raise ProtocolError(f"replayed message {msg.msg_id}", "replayed")
        self.seen[msg.msg_id] = now
        if not abs(msg.date - now) <= self.window_s:  # "not <=": a NaN date is stale too
            raise ProtocolError(f"message date is {msg.date - now:+.0f} s from the backend's "
                                f"clock (window {self.window_s:.0f} s)", "stale", msg.msg_id)
