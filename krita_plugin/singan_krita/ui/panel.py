"""The docker's contents: backend status, models, options, one button per action, jobs with
progress and cancel, and a message line. It renders Controller.view() and sends clicks back;
it holds no state of its own besides the widgets."""

from __future__ import annotations

import logging
from dataclasses import replace

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..availability import ACTIONS, TIPS
from ..connection import State
from ..errors import UserFacingError, guarded
from ..options import PRESET_LABELS, PRESETS, model_label, parse_seed

log = logging.getLogger(__name__)
STATE_COLORS = {State.CONNECTED: "#3c9d3c", State.STARTING: "#d8a520", State.CONNECTING: "#d8a520",
                State.NOT_RUNNING: "#b03a2e", State.VERSION_MISMATCH: "#b03a2e"}


def _spin(name: str, low: int, high: int, value: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


class Panel(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.buttons: dict[str, QPushButton] = {}
        self.job_rows: dict[str, tuple] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(self._status_row())
        layout.addWidget(self._models_box())
        layout.addWidget(self._train_box())
        layout.addWidget(self._variations_box())
        layout.addWidget(self._tasks_box())
        self.jobs_box = QGroupBox("Running")
        self.jobs_layout = QVBoxLayout(self.jobs_box)
        layout.addWidget(self.jobs_box)
        self.message = QLabel()
        self.message.setObjectName("singan_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.message)
        layout.addStretch(1)
        controller.subscribe(self.render)
        self.destroyed.connect(lambda *_: controller.unsubscribe(self.render))
        self.render()

    # ---- building ----------------------------------------------------------------------

    def _status_row(self) -> QVBoxLayout:
        col = QVBoxLayout()
        row = QHBoxLayout()
        self.dot = QLabel("●")
        self.status = QLabel()
        self.status.setObjectName("singan_status")
        self.status.setWordWrap(True)
        row.addWidget(self.dot)
        row.addWidget(self.status, 1)
        self.start = QPushButton("Start backend")
        self.start.setObjectName("singan_start")
        self.start.setToolTip("Start the SinGAN backend on this computer; it stops when Krita quits.")
        self.start.clicked.connect(self._start)
        col.addLayout(row)
        col.addWidget(self.start)
        return col

    def _models_box(self) -> QGroupBox:
        box = QGroupBox("Models")
        col = QVBoxLayout(box)
        self.models = QListWidget()
        self.models.setObjectName("singan_models")
        self.models.setMaximumHeight(110)
        self.models.currentItemChanged.connect(self._model_picked)
        col.addWidget(self.models)
        row = QHBoxLayout()
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.controller.refresh_models())
        self.delete = QPushButton("Delete")
        self.delete.setObjectName("singan_delete")
        self.delete.setToolTip("Delete the chosen model from the disk.")
        self.delete.clicked.connect(self._delete)
        row.addWidget(refresh)
        row.addWidget(self.delete)
        col.addLayout(row)
        return box

    def _action_button(self, action: str) -> QPushButton:
        button = QPushButton(ACTIONS[action])
        button.setObjectName(f"singan_{action}")
        button.clicked.connect(lambda _checked=False, a=action: self._run(a))
        self.buttons[action] = button
        return button

    def _train_box(self) -> QGroupBox:
        box = QGroupBox("Train")
        form = QFormLayout(box)
        self.preset = QComboBox()
        self.preset.setObjectName("singan_preset")
        for preset in PRESETS:
            self.preset.addItem(PRESET_LABELS[preset], preset)
        self.preset.setCurrentIndex(PRESETS.index(self.controller.train_options.preset))
        self.max_size = _spin("singan_max_size", 16, 1024, self.controller.train_options.max_size)
        self.max_size.setSuffix(" px")
        self.max_size.setToolTip("Longest side the model learns at. Bigger is slower and finer.")
        self.iters = _spin("singan_iters", 0, 100000, 0, "preset's")
        self.iters.setToolTip("Training steps per scale (0: the preset's).")
        form.addRow("Preset", self.preset)
        form.addRow("Size", self.max_size)
        form.addRow("Steps per scale", self.iters)
        form.addRow(self._action_button("train"))
        for widget in (self.preset, self.max_size, self.iters):
            self._watch(widget)
        return box

    def _variations_box(self) -> QGroupBox:
        box = QGroupBox("Variations")
        form = QFormLayout(box)
        self.count = _spin("singan_count", 1, 64, self.controller.variation_options.count)
        self.width_box = _spin("singan_width", 0, 8192, 0, "canvas")
        self.height_box = _spin("singan_height", 0, 8192, 0, "canvas")
        self.start_scale = _spin("singan_start_scale", 0, 32, 0)
        self.start_scale.setToolTip("0 varies everything; higher scales keep more of the layout.")
        self.seed = QLineEdit()
        self.seed.setObjectName("singan_seed")
        self.seed.setPlaceholderText("random")
        size = QHBoxLayout()
        size.addWidget(self.width_box)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_box)
        form.addRow("Count", self.count)
        form.addRow("Size", size)
        form.addRow("Start scale", self.start_scale)
        form.addRow("Seed", self.seed)
        form.addRow(self._action_button("generate"))
        for widget in (self.count, self.width_box, self.height_box, self.start_scale, self.seed):
            self._watch(widget)
        return box

    def _tasks_box(self) -> QGroupBox:
        box = QGroupBox("Tasks")
        form = QFormLayout(box)
        form.addRow(self._action_button("harmonize"))
        form.addRow(self._action_button("edit"))
        self.quantize = QCheckBox("Reduce the sketch to the model's colours")
        self.quantize.setObjectName("singan_quantize")
        form.addRow(self._action_button("paint"))
        form.addRow(self.quantize)
        self.factor = QDoubleSpinBox()
        self.factor.setObjectName("singan_factor")
        self.factor.setRange(1.1, 16.0)
        self.factor.setSingleStep(0.5)
        self.factor.setValue(self.controller.upscale_options.factor)
        self.factor.setPrefix("x")
        upscale = QHBoxLayout()
        upscale.addWidget(self.factor)
        upscale.addWidget(self._action_button("upscale"), 1)
        form.addRow(upscale)
        self.frames = _spin("singan_frames", 1, 1000, self.controller.animate_options.frames)
        self.frames.setSuffix(" frames")
        self.as_layers = QCheckBox("as layers")
        self.as_layers.setObjectName("singan_as_layers")
        self.as_layers.setToolTip("Frames as layers in a group instead of an animated layer.")
        animate = QHBoxLayout()
        animate.addWidget(self.frames)
        animate.addWidget(self.as_layers)
        animate.addWidget(self._action_button("animate"), 1)
        form.addRow(animate)
        for widget in (self.quantize, self.factor, self.frames, self.as_layers):
            self._watch(widget)
        return box

    def _watch(self, widget) -> None:
        for signal in ("valueChanged", "currentIndexChanged", "textChanged", "toggled"):
            if hasattr(widget, signal):
                getattr(widget, signal).connect(lambda *_: self._apply_options(strict=False))
                return

    # ---- options and clicks --------------------------------------------------------------

    def _apply_options(self, strict: bool) -> None:
        c = self.controller
        try:
            seed = parse_seed(self.seed.text())
        except UserFacingError:
            if strict:
                raise
            seed = c.variation_options.seed
        c.set_options(
            train_options=replace(c.train_options, preset=self.preset.currentData(),
                                  max_size=self.max_size.value(), iters=self.iters.value()),
            variation_options=replace(c.variation_options, count=self.count.value(),
                                      width=self.width_box.value(), height=self.height_box.value(),
                                      start_scale=self.start_scale.value(), seed=seed),
            task_options=replace(c.task_options, seed=seed, quantize=self.quantize.isChecked()),
            upscale_options=replace(c.upscale_options, factor=self.factor.value()),
            animate_options=replace(c.animate_options, frames=self.frames.value(),
                                    as_layers=self.as_layers.isChecked()))

    def report(self, message: str) -> None:
        self.controller.report(message)

    @guarded("report")
    def _run(self, action: str) -> None:
        self._apply_options(strict=True)
        self.controller.run(action)

    @guarded("report")
    def _start(self, *_args) -> None:
        self.controller.start_backend()

    @guarded("report")
    def _delete(self, *_args) -> None:
        model = self.controller.selected_model()
        if model is not None:
            self.controller.delete_model(model["id"])

    def _model_picked(self, current, _previous) -> None:
        if current is not None:
            self.controller.select_model(current.data(Qt.UserRole))

    # ---- rendering ---------------------------------------------------------------------

    def render(self) -> None:
        v = self.controller.view()
        self.dot.setStyleSheet(f"color: {STATE_COLORS.get(v.state, '#888')};")
        self.status.setText(v.status)
        self.start.setEnabled(v.can_start)
        self.start.setVisible(v.state is not State.CONNECTED)
        self._render_models(v)
        for action, button in self.buttons.items():
            reason = v.reasons.get(action)
            button.setEnabled(reason is None)
            button.setToolTip(TIPS[action] if reason is None else reason)
        self.delete.setEnabled(v.selected is not None and v.state is State.CONNECTED)
        w, h = v.doc.canvas
        self.width_box.setSpecialValueText(f"canvas ({w})" if w else "canvas")
        self.height_box.setSpecialValueText(f"canvas ({h})" if h else "canvas")
        self._render_jobs(v.jobs)
        self.message.setText(v.message)
        self.message.setStyleSheet("color: #c0392b;" if v.level == "error" else "")

    def _render_models(self, v) -> None:
        ids = [m.get("id") for m in v.models]
        shown = [self.models.item(i).data(Qt.UserRole) for i in range(self.models.count())]
        self.models.blockSignals(True)
        if ids != shown:
            self.models.clear()
            for model in v.models:
                item = QListWidgetItem(model_label(model))
                item.setData(Qt.UserRole, model.get("id"))
                self.models.addItem(item)
        for i in range(self.models.count()):
            if self.models.item(i).data(Qt.UserRole) == v.selected:
                self.models.setCurrentRow(i)
        self.models.blockSignals(False)

    def _render_jobs(self, jobs) -> None:
        ids = [j.request_id for j in jobs]
        for rid in list(self.job_rows):
            if rid not in ids:
                self.job_rows.pop(rid)[0].deleteLater()
        for job in jobs:
            if job.request_id not in self.job_rows:
                self.job_rows[job.request_id] = self._job_row(job.request_id)
            frame, label, bar, detail = self.job_rows[job.request_id]
            label.setText(job.label)
            bar.setValue(int(round(job.fraction * 1000)))
            detail.setText(job.detail)
        self.jobs_box.setVisible(bool(jobs))

    def _job_row(self, request_id: str) -> tuple:
        frame = QWidget()
        col = QVBoxLayout(frame)
        col.setContentsMargins(0, 0, 0, 0)
        label = QLabel()
        row = QHBoxLayout()
        bar = QProgressBar()
        bar.setObjectName("singan_progress")
        bar.setRange(0, 1000)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(lambda: self.controller.cancel(request_id))
        row.addWidget(bar, 1)
        row.addWidget(cancel)
        detail = QLabel()
        col.addWidget(label)
        col.addLayout(row)
        col.addWidget(detail)
        self.jobs_layout.addWidget(frame)
        return frame, label, bar, detail
