"""The wire protocol between SinGAN clients (Krita plugin, CLI) and `singan-backend serve`.

Pure Python + msgpack (pyzmq only for `Client`); PROTOCOL.md beside this file is the authority.
`Client` is imported lazily so that the rest works where pyzmq is missing.
"""

from .connection import (
    ConnectionInfo,
    default_connection_file,
    new_key,
    pid_alive,
    read_connection_file,
    write_connection_file,
)
from .messages import EVENTS, FINAL_EVENTS, JOB_REQUESTS, QUICK_REQUESTS, REQUESTS
from .payload import BYTES_PER_SAMPLE, CHANNELS, DEFAULT_MAX_PIXELS, ImagePayload
from .wire import PROTOCOL_VERSION, Message, ProtocolError, ReplayGuard, Signer, decode, encode

__all__ = [
    "PROTOCOL_VERSION", "ConnectionInfo", "read_connection_file", "write_connection_file",
    "default_connection_file", "new_key", "pid_alive", "ImagePayload", "BYTES_PER_SAMPLE",
    "CHANNELS", "DEFAULT_MAX_PIXELS", "Client", "Event", "RemoteError", "ProtocolError",
    "Signer", "Message", "ReplayGuard", "encode", "decode", "REQUESTS", "QUICK_REQUESTS",
    "JOB_REQUESTS", "EVENTS", "FINAL_EVENTS",
]


def __getattr__(name: str):
    if name in ("Client", "Event", "RemoteError"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'singan_protocol' has no attribute {name!r}")
