"""Errors the painter sees, and a guard that keeps every other error out of Krita's
modal traceback dialog (Krita's sys.excepthook shows one for any uncaught exception)."""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)


class UserFacingError(Exception):
    """Something the painter can fix; `str()` is the sentence the docker shows."""


def guarded(report):
    """Decorator factory: exceptions in a Qt slot are logged and reported with `report(text)`
    instead of reaching Krita's excepthook. `report` is looked up on the instance by name
    when given as a string, so methods can be guarded at class level."""

    def wrap(fn):
        @functools.wraps(fn)
        def slot(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except UserFacingError as exc:
                message = str(exc)
            except Exception as exc:  # noqa: BLE001 - the last line of defence for a Qt slot
                log.exception("SinGAN plugin error in %s", fn.__name__)
                message = (f"Something went wrong inside the SinGAN plugin ({exc.__class__.__name__}: "
                           f"{exc}). The details are in Krita's log.")
            target = getattr(args[0], report) if isinstance(report, str) and args else report
            try:
                target(message)
            except Exception:  # noqa: BLE001 - reporting must never raise into Qt either
                log.exception("could not report an error: %s", message)
            return None

        return slot

    return wrap
