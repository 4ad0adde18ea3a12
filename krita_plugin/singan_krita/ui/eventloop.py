"""Drives the controller from Qt's event loop: a QTimer for ticks and a QSocketNotifier on
the ZeroMQ socket's FD. The FD is edge-triggered, so every wake-up drains the socket
completely (Connection.on_readable does) and nothing ever blocks the GUI thread."""

from __future__ import annotations

import logging

from PyQt5.QtCore import QObject, QSocketNotifier, QTimer

from ..errors import guarded

log = logging.getLogger(__name__)


class EventLoop(QObject):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.notifier: QSocketNotifier | None = None
        controller.connection.on_fd = self._fd_changed
        self.timer = QTimer(self)
        self.timer.setInterval(int(controller.settings.tick_interval_s * 1000))
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.controller.tick()

    def _fd_changed(self, fd: int | None) -> None:
        if self.notifier is not None:
            self.notifier.setEnabled(False)  # before its socket closes
            self.notifier.deleteLater()
            self.notifier = None
        if fd is not None:
            self.notifier = QSocketNotifier(fd, QSocketNotifier.Read, self)
            self.notifier.activated.connect(self._readable)

    def _readable(self, *_args) -> None:
        self._drain()

    @guarded("report")
    def _drain(self) -> None:
        self.controller.connection.on_readable()

    def report(self, message: str) -> None:
        self.controller.report(message)

    def stop(self) -> None:
        self.timer.stop()
        self._fd_changed(None)
