"""The backend service: a ZeroMQ ROUTER loop, a job queue and restart safety (PROTOCOL.md).

`singan-backend serve` runs it; `Server(ServerConfig(...))` embeds it. Imports the engine and
the protocol, never Qt or krita.
"""

from .config import ServerConfig

__all__ = ["ServerConfig"]
