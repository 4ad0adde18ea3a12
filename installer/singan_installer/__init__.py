"""`singan install-krita`: puts the SinGAN plugin, the protocol package and vendored
pyzmq/msgpack wheels into Krita's resource folder, enables it, and can take it all out again.
"""

from .cli import main

__all__ = ["main"]
