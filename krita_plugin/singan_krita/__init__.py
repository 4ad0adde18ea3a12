"""SinGAN for Krita: a docker and Tools > SinGAN actions that train SinGAN models on layers
and bring generated variations, harmonized pastes and upscaled layers back as new layers.

Importing this package outside Krita (tests, the installer) registers nothing.
"""

from . import bootstrap

_problem = bootstrap.activate()

try:
    import krita  # noqa: F401 - only present inside Krita
except ImportError:
    krita = None

if krita is not None:
    from .extension import register

    register(_problem)
