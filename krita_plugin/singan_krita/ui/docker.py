"""The SinGAN docker (Settings > Dockers > SinGAN): a scrollable Panel bound to the one
controller the extension made, or a plain message when the plugin could not start."""

from __future__ import annotations

from krita import DockWidget
from PyQt5.QtWidgets import QLabel, QScrollArea

from .panel import Panel

DOCKER_ID = "singan_docker"


class SinGANDocker(DockWidget):
    controller = None  # set by the extension before Krita creates any docker
    problem = ""  # why there is no controller, in words for the painter

    def __init__(self):
        super().__init__()
        self.setWindowTitle("SinGAN")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        if SinGANDocker.controller is not None:
            scroll.setWidget(Panel(SinGANDocker.controller))
        else:
            label = QLabel(SinGANDocker.problem or "The SinGAN plugin did not start.")
            label.setObjectName("singan_status")
            label.setWordWrap(True)
            scroll.setWidget(label)
        self.setWidget(scroll)

    def canvasChanged(self, canvas) -> None:
        if SinGANDocker.controller is not None:
            SinGANDocker.controller.tick()
