"""The docker's contents: backend status, the model to use, tabs of options and actions
(ui/pages.py), jobs with one progress bar each, a preview of the training and cancel, and a
message line. It renders Controller.view() and sends clicks back; it holds no state of its
own besides the widgets."""

from __future__ import annotations

import logging
from dataclasses import replace

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QIcon, QImage, QPixmap
from PyQt5.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..availability import TIPS
from ..connection import State
from ..errors import UserFacingError, guarded
from ..options import PRESET_SIZES, model_labels, parse_seed
from . import pages

log = logging.getLogger(__name__)
STATE_COLORS = {State.CONNECTED: "#3c9d3c", State.STARTING: "#d8a520", State.CONNECTING: "#d8a520",
                State.NOT_RUNNING: "#b03a2e", State.VERSION_MISMATCH: "#b03a2e"}
PREVIEW_SIDE = 128  # px, the longest side of the training preview in the docker
# the message line's colour per level: errors red, warnings (a result with a caveat) amber
MESSAGE_STYLES = {"error": "color: #c0392b;", "warning": "color: #b9770e;"}


class Panel(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.buttons: dict[str, QPushButton] = {}
        self.job_rows: dict[str, tuple] = {}
        self.history_buttons: dict[str, QPushButton] = {}
        c = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._status_row())
        # what is running and what happened come first: in a short docker they stay in view
        self.jobs_box = QGroupBox("Running")
        self.jobs_layout = QVBoxLayout(self.jobs_box)
        self.jobs_layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.jobs_box)
        self.message = pages.wrapping_label("singan_message")
        layout.addWidget(self.message)
        layout.addLayout(self._models_row())
        self.tabs = QTabWidget()
        self.tabs.setObjectName("singan_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.addTab(pages.train_page(self, c.train_options), "Train")
        self.tabs.addTab(pages.variations_page(self, c.variation_options), "Generate")
        self.tabs.addTab(pages.tasks_page(self, c.upscale_options, c.animate_options), "Tasks")
        self.tabs.addTab(pages.history_page(self), "History")
        self.tabs.addTab(pages.backend_page(self), "More")
        self.history.currentItemChanged.connect(lambda *_: self._show_entry())
        self.tabs.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        self.tabs.currentChanged.connect(self._fit_tab)
        self._fit_tab(self.tabs.currentIndex())
        layout.addWidget(self.tabs)
        layout.addStretch(1)
        self.preset.currentIndexChanged.connect(lambda *_: self._preset_changed())
        self.max_size.valueChanged.connect(lambda value: self._size_changed(value))
        for widget in (self.iters, self.count, self.width_box, self.height_box,
                       self.start_scale, self.layout_box, self.seed, self.quantize, self.factor, self.frames,
                       self.animated_layer, self.animate_lift):
            self._watch(widget)
        controller.subscribe(self.render)
        self.destroyed.connect(lambda *_: controller.unsubscribe(self.render))
        self.render()

    # ---- building ----------------------------------------------------------------------

    def _status_row(self) -> QVBoxLayout:
        col = QVBoxLayout()
        row = QHBoxLayout()
        self.dot = QLabel("●")
        self.status = pages.wrapping_label("singan_status", selectable=False)
        row.addWidget(self.dot, 0, Qt.AlignTop)
        row.addWidget(self.status, 1)
        self.start = QPushButton("Start backend")
        self.start.setObjectName("singan_start")
        self.start.setToolTip("Start the SinGAN backend on this computer; it stops when Krita "
                              "quits unless you keep it (More tab).")
        self.start.clicked.connect(self._start)
        col.addLayout(row)
        col.addWidget(self.start)
        return col

    def _models_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.models = QComboBox()
        self.models.setObjectName("singan_models")
        self.models.setToolTip("The model that Generate, the tasks and Animate use.")
        self.models.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.models.setMinimumContentsLength(10)
        self.models.setMinimumWidth(80)  # long names elide instead of widening the docker
        self.models.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.models.currentIndexChanged.connect(self._model_picked)
        self.delete = QPushButton("Delete")
        self.delete.setObjectName("singan_delete")
        self.delete.setToolTip("Delete the chosen model from the disk.")
        self.delete.clicked.connect(self._delete)
        row.addWidget(self.models, 1)
        row.addWidget(self.delete)
        return row

    def _fit_tab(self, index: int) -> None:
        """The tabs take the height of the page shown, not of the tallest page: in a short
        docker the Train button stays in view."""
        for i in range(self.tabs.count()):
            policy = QSizePolicy.Preferred if i == index else QSizePolicy.Ignored
            self.tabs.widget(i).setSizePolicy(policy, policy)
        self.tabs.updateGeometry()

    def make_seed_field(self) -> QLineEdit:
        seed = QLineEdit()
        seed.setObjectName("singan_seed")
        seed.setPlaceholderText("random")
        seed.setToolTip("Same seed, same model, same settings: the same pictures.")
        return seed

    def _watch(self, widget) -> None:
        for signal in ("valueChanged", "currentIndexChanged", "textChanged", "toggled"):
            if hasattr(widget, signal):
                getattr(widget, signal).connect(lambda *_: self._apply_options(strict=False))
                return

    # ---- options and clicks --------------------------------------------------------------

    def _preset_changed(self) -> None:
        """The Size field follows the preset until the painter sets a size of their own."""
        c = self.controller
        c.set_options(train_options=replace(c.train_options, preset=self.preset.currentData()))
        if c.train_options.max_size is None:
            self.max_size.blockSignals(True)
            self.max_size.setValue(PRESET_SIZES[self.preset.currentData()])
            self.max_size.blockSignals(False)

    def _size_changed(self, value: int) -> None:
        c = self.controller
        c.set_options(train_options=replace(c.train_options, max_size=int(value)))

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
                                  iters=self.iters.value()),
            variation_options=replace(c.variation_options, count=self.count.value(),
                                      width=self.width_box.value(), height=self.height_box.value(),
                                      start_scale=self.start_scale.value(), seed=seed,
                                      layout=self.layout_box.currentData()),
            task_options=replace(c.task_options, seed=seed, quantize=self.quantize.isChecked()),
            upscale_options=replace(c.upscale_options, factor=self.factor.value()),
            animate_options=replace(c.animate_options, frames=self.frames.value(),
                                    animated_layer=self.animated_layer.isChecked(),
                                    lift=self.animate_lift.isChecked()))

    def report(self, message: str) -> None:
        self.controller.report(message)

    @guarded("report")
    def run_action(self, action: str) -> None:
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

    @guarded("report")
    def delete_sr_model(self, *_args) -> None:
        item = self.sr_models.currentItem()
        if item is not None:
            self.controller.delete_model(item.data(Qt.UserRole))

    def _entry(self):
        item = self.history.currentItem()
        if item is None or self.controller.history is None:
            return None
        return next((e for e in self.controller.history.entries
                     if e.entry_id == item.data(Qt.UserRole)), None)

    @guarded("report")
    def history_clicked(self, what: str) -> None:
        entry = self._entry()
        if entry is None:
            raise UserFacingError("Pick a result in the history first.")
        if what == "apply":
            self.controller.apply_result(entry.entry_id)
        elif what == "discard":
            self.controller.discard_result(entry.entry_id)
        elif entry.seed is None:
            raise UserFacingError("That result has no seed.")
        else:
            self.seed.setText(str(entry.seed))  # -> the options, as if typed
            self.controller.report(f"Seed {entry.seed} is in the Generate tab.", "info")

    def _show_entry(self) -> None:
        entry = self._entry()
        for button in self.history_buttons.values():
            button.setEnabled(entry is not None)
        self.history_preview.setVisible(entry is not None)
        if entry is None:
            self.history_caption.setText("No result yet." if not self.history.count() else "")
            return
        self.history_preview.setPixmap(self._thumb(entry, pages.THUMB_PREVIEW))
        settings = ", ".join(f"{k} {v}" for k, v in entry.settings.items()
                             if k not in ("model_id", "x", "y"))
        self.history_caption.setText(
            f"{entry.caption}\n{'model ' + entry.model + ' · ' if entry.model else ''}"
            f"seed {entry.seed}\n{settings}")

    def _thumb(self, entry, side: int) -> QPixmap:
        (w, h), data = entry.thumb, self.controller.history.thumb(entry)
        if len(data) != w * h * 4 or not w:
            return QPixmap()
        image = QImage(data, w, h, w * 4, QImage.Format_RGBA8888).copy()
        return QPixmap.fromImage(image).scaled(side, side, Qt.KeepAspectRatio,
                                               Qt.SmoothTransformation)

    def _model_picked(self, index: int) -> None:
        if index >= 0:
            self.controller.select_model(self.models.itemData(index))

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
        connected = v.state is State.CONNECTED
        self.delete.setEnabled(v.selected is not None and connected)
        self.delete_sr.setEnabled(bool(v.sr_models) and connected)
        if self.keep_backend.isChecked() != v.keep_backend:
            self.keep_backend.blockSignals(True)
            self.keep_backend.setChecked(v.keep_backend)
            self.keep_backend.blockSignals(False)
        refused = v.animated_layer_problem
        self.animated_layer.setEnabled(refused is None)
        if refused:
            self.animated_layer.setChecked(False)
        self.animated_layer.setToolTip(refused or pages.ANIMATED_LAYER_TIP)
        w, h = v.doc.canvas
        self.width_box.setSpecialValueText(f"canvas ({w})" if w else "canvas")
        self.height_box.setSpecialValueText(f"canvas ({h})" if h else "canvas")
        self._render_jobs(v.jobs)
        self._render_history(v.history)
        self.message.setText(v.message)
        self.message.setVisible(bool(v.message))
        self.message.setStyleSheet(MESSAGE_STYLES.get(v.level, ""))

    def _render_models(self, v) -> None:
        ids = [m.get("id") for m in v.models]
        shown = [self.models.itemData(i) for i in range(self.models.count())]
        self.models.blockSignals(True)
        if ids != shown:
            self.models.clear()
            for model, label in zip(v.models, model_labels(v.models)):
                self.models.addItem(self._model_icon(model.get("id")), label, model.get("id"))
                self.models.setItemData(self.models.count() - 1, label, Qt.ToolTipRole)
        if hasattr(self.models, "setPlaceholderText"):  # Qt 5.15
            self.models.setPlaceholderText("no model yet: train one")
        self.models.setCurrentIndex(ids.index(v.selected) if v.selected in ids else -1)
        self.models.blockSignals(False)
        sr_ids = [m.get("id") for m in v.sr_models]
        if sr_ids != [self.sr_models.item(i).data(Qt.UserRole) for i in range(self.sr_models.count())]:
            self.sr_models.clear()
            for model, label in zip(v.sr_models, model_labels(v.sr_models)):
                item = QListWidgetItem(label)
                item.setData(Qt.UserRole, model.get("id"))
                self.sr_models.addItem(item)

    def _model_icon(self, model_id) -> QIcon:
        """The last preview of the model's training, when this computer saw it train."""
        history = self.controller.history
        found = history.model_preview(str(model_id)) if history is not None else None
        if found is None:
            return QIcon()
        w, h, data = found
        return QIcon(QPixmap.fromImage(QImage(data, w, h, w * 4, QImage.Format_RGBA8888).copy()))

    def _render_history(self, entries) -> None:
        ids = [e.entry_id for e in entries]
        if ids == [self.history.item(i).data(Qt.UserRole) for i in range(self.history.count())]:
            return
        current = self.history.currentItem()
        keep = current.data(Qt.UserRole) if current is not None else None
        self.history.blockSignals(True)
        self.history.clear()
        for entry in entries:
            item = QListWidgetItem(QIcon(self._thumb(entry, 48)), entry.caption)
            item.setData(Qt.UserRole, entry.entry_id)
            self.history.addItem(item)
        self.history.setCurrentRow(ids.index(keep) if keep in ids else (0 if ids else -1))
        self.history.blockSignals(False)
        self._show_entry()

    def _render_jobs(self, jobs) -> None:
        ids = [j.request_id for j in jobs]
        for rid in list(self.job_rows):
            if rid not in ids:
                self.job_rows.pop(rid)[0].deleteLater()
        for job in jobs:
            if job.request_id not in self.job_rows:
                self.job_rows[job.request_id] = self._job_row(job.request_id)
            frame, label, bar, detail, preview = self.job_rows[job.request_id]
            label.setText(job.label)
            bar.setValue(int(round(job.fraction * 1000)))
            detail.setText(job.detail)
            self._render_preview(preview, job)
        self.jobs_box.setVisible(bool(jobs))

    def _render_preview(self, label: QLabel, job) -> None:
        image = job.preview
        if image is None or label.property("singan_preview_of") == id(image):
            label.setVisible(image is not None)
            return
        qimage = QImage(bytes(image.data), image.width, image.height, image.width * 4,
                        QImage.Format_ARGB32 if image.channel_order == "BGRA"
                        else QImage.Format_RGBA8888).copy()
        pixmap = QPixmap.fromImage(qimage).scaled(PREVIEW_SIDE, PREVIEW_SIDE, Qt.KeepAspectRatio,
                                                  Qt.SmoothTransformation)
        label.setPixmap(pixmap)
        label.setProperty("singan_preview_of", id(image))
        label.setToolTip(job.preview_caption)
        label.setVisible(True)

    def _job_row(self, request_id: str) -> tuple:
        frame = QWidget()
        col = QVBoxLayout(frame)
        col.setContentsMargins(0, 0, 0, 0)
        label = QLabel()
        label.setWordWrap(True)
        label.setMinimumWidth(1)
        row = QHBoxLayout()
        bar = QProgressBar()
        bar.setObjectName("singan_progress")
        bar.setRange(0, 1000)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(lambda: self.controller.cancel(request_id))
        row.addWidget(bar, 1)
        row.addWidget(cancel)
        detail = QLabel()
        detail.setObjectName("singan_job_detail")
        detail.setWordWrap(True)
        detail.setMinimumWidth(1)
        preview = QLabel()
        preview.setObjectName("singan_preview")
        preview.setAlignment(Qt.AlignCenter)
        preview.setVisible(False)
        col.addWidget(label)
        col.addLayout(row)
        col.addWidget(detail)
        col.addWidget(preview)
        self.jobs_layout.addWidget(frame)
        return frame, label, bar, detail, preview
