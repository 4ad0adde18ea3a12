"""The docker's tabs: Train, Generate, Tasks and Backend, each a small form of option widgets
and action buttons. Built once by the Panel, which reads and renders them; no state here.

Krita opens a new docker squeezed under the Layers docker (about 250 px wide): rows wrap
their label above the field when narrow, texts are short (details go in tooltips), and
nothing asks for more width than its own words."""

from __future__ import annotations

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from singan_protocol.messages import Animate, Generate, Train, Upscale

from ..availability import ACTIONS
from ..options import LAYOUT_LABELS, PRESET_LABELS, PRESET_SIZES, PRESET_TIMES, PRESETS, bounds

THUMB_PREVIEW = 160  # px, the history's preview of the result picked
ANIMATED_LAYER_TIP = ("Off: the frames arrive as layers in a group of a new document, which is "
                      "safe. On: one animated layer through Krita's animation import, which "
                      "crashed Krita 5.1: save your work first.")


def spin(name: str, low: int, high: int, value: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


def wrapping_label(name: str, selectable: bool = True) -> QLabel:
    """A label whose long text wraps and never widens the narrow docker."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setMinimumWidth(1)
    if selectable:  # a message the painter may want to copy
        label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


def form(page: QWidget) -> QFormLayout:
    layout = QFormLayout(page)
    layout.setRowWrapPolicy(QFormLayout.WrapLongRows)  # label above the field when narrow
    layout.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    layout.setContentsMargins(4, 4, 4, 4)
    return layout


# Short words on the docker's buttons (the menu keeps the long ones, ACTIONS; the tooltip
# says what each does)
BUTTON_TEXT = {"train": "Train on layer", "generate": "Generate", "instant": "Instant (no model)",
               "harmonize": "Harmonize paste",
               "edit": "Edit selection", "paint": "Paint to image", "upscale": "Super-resolve",
               "animate": "Animate"}


def action_button(panel, action: str) -> QPushButton:
    button = QPushButton(BUTTON_TEXT.get(action, ACTIONS[action]))
    button.setObjectName(f"singan_{action}")
    button.clicked.connect(lambda _checked=False, a=action: panel.run_action(a))
    panel.buttons[action] = button
    return button


def train_page(panel, options) -> QWidget:
    page = QWidget()
    rows = form(page)
    panel.preset = QComboBox()
    panel.preset.setObjectName("singan_preset")
    for preset in PRESETS:
        panel.preset.addItem(PRESET_LABELS[preset], preset)
        panel.preset.setItemData(panel.preset.count() - 1,
                                 f"{PRESET_LABELS[preset]}: trains at {PRESET_SIZES[preset]} px, "
                                 f"{PRESET_TIMES[preset]}",
                                 Qt.ToolTipRole)
    panel.preset.setCurrentIndex(PRESETS.index(options.preset))
    panel.preset.setMinimumWidth(60)  # elides rather than widening the docker
    panel.max_size = spin("singan_max_size", *bounds(Train, "max_size"), options.size)
    panel.max_size.setSuffix(" px")
    panel.max_size.setToolTip("Longest side the model learns at. Bigger is slower and finer. "
                              "It follows the preset until you change it.")
    panel.iters = spin("singan_iters", 0, bounds(Train, "iters")[1], options.iters, "preset's")
    panel.iters.setToolTip("Training steps per scale (preset's: the preset decides).")
    rows.addRow(action_button(panel, "train"))  # first: in view in a short docker
    rows.addRow("Preset", panel.preset)
    rows.addRow("Size", panel.max_size)
    rows.addRow("Steps", panel.iters)
    return page


def variations_page(panel, options) -> QWidget:
    page = QWidget()
    rows = form(page)
    panel.count = spin("singan_count", *bounds(Generate, "n"), options.count)
    panel.width_box = spin("singan_width", 0, bounds(Generate, "width")[1], 0, "canvas")
    panel.height_box = spin("singan_height", 0, bounds(Generate, "height")[1], 0, "canvas")
    for box, side in ((panel.width_box, "width"), (panel.height_box, "height")):
        box.setSuffix(" px")
        box.setToolTip(f"The variations' {side} (canvas: the document's).")
    panel.start_scale = spin("singan_start_scale", 0, 32, 0)
    panel.start_scale.setToolTip("0 varies everything; higher scales keep more of the layout.")
    panel.layout_box = QComboBox()
    panel.layout_box.setObjectName("singan_layout")
    for value, label in LAYOUT_LABELS.items():
        panel.layout_box.addItem(label, value)
    panel.layout_box.setCurrentIndex(list(LAYOUT_LABELS).index(options.layout))
    panel.layout_box.setToolTip(
        "Where a variation's layout comes from at start scale 0. SinGAN's own: the model's "
        "coarsest scales (the paper). Image's patches: a rearrangement of the training layer, "
        "which the model redraws: better on many alike objects (cups, pebbles). Model's "
        "choice: the one it measured closer to its layer after training.")
    panel.seed = panel.make_seed_field()
    rows.addRow(action_button(panel, "generate"))
    rows.addRow(action_button(panel, "instant"))
    rows.addRow("Count", panel.count)
    rows.addRow("Width", panel.width_box)
    rows.addRow("Height", panel.height_box)
    rows.addRow("Start scale", panel.start_scale)
    rows.addRow("Layout", panel.layout_box)
    rows.addRow("Seed", panel.seed)
    return page


def tasks_page(panel, upscale, animate) -> QWidget:
    page = QWidget()
    rows = form(page)
    rows.addRow(action_button(panel, "harmonize"))
    rows.addRow(action_button(panel, "edit"))
    rows.addRow(action_button(panel, "paint"))
    panel.quantize = QCheckBox("Model's colours")
    panel.quantize.setObjectName("singan_quantize")
    panel.quantize.setToolTip("Paint to image: reduce the sketch to the model's colours first.")
    rows.addRow(panel.quantize)
    panel.factor = QDoubleSpinBox()
    panel.factor.setObjectName("singan_factor")
    low, high = bounds(Upscale, "factor")
    panel.factor.setRange(low + 0.1, high)  # the protocol's low bound is exclusive
    panel.factor.setSingleStep(0.5)
    panel.factor.setValue(upscale.factor)
    panel.factor.setPrefix("x")
    panel.factor.setToolTip("Super-resolve: how many times larger the new document is.")
    rows.addRow("Factor", panel.factor)
    rows.addRow(action_button(panel, "upscale"))
    panel.frames = spin("singan_frames", *bounds(Animate, "frames"), animate.frames)
    panel.frames.setToolTip("Animate: frames of the loop.")
    rows.addRow("Frames", panel.frames)
    panel.animated_layer = QCheckBox("Animated layer")
    panel.animated_layer.setObjectName("singan_animated_layer")
    panel.animated_layer.setChecked(animate.animated_layer)
    panel.animated_layer.setToolTip(ANIMATED_LAYER_TIP)
    rows.addRow(panel.animated_layer)
    panel.animate_lift = QCheckBox("Lift frames to the layer's size")
    panel.animate_lift.setObjectName("singan_animate_lift")
    panel.animate_lift.setChecked(animate.lift)
    panel.animate_lift.setToolTip("Animate: frames at the size of the layer the model learnt "
                                  "from, not the model's own. Slower: a lift per frame.")
    rows.addRow(panel.animate_lift)
    rows.addRow(action_button(panel, "animate"))
    return page


def backend_page(panel) -> QWidget:
    page = QWidget()
    col = QVBoxLayout(page)
    col.setContentsMargins(4, 4, 4, 4)
    panel.keep_backend = QCheckBox("Keep it running")
    panel.keep_backend.setObjectName("singan_keep_backend")
    panel.keep_backend.setToolTip("Off: the backend stops when Krita quits, whoever started it. "
                                  "On: it keeps running (and training) after Krita quits.")
    note = QLabel("Off: the backend stops when Krita quits.")
    note.setWordWrap(True)
    panel.keep_backend.toggled.connect(lambda on: panel.controller.set_keep_backend(on))
    col.addWidget(panel.keep_backend)
    col.addWidget(note)
    label = QLabel("Super-resolution models")
    label.setWordWrap(True)
    label.setToolTip("Made by Super-resolve layer. They only upscale, so the model list "
                     "above leaves them out.")
    col.addWidget(label)
    panel.sr_models = QListWidget()
    panel.sr_models.setObjectName("singan_sr_models")
    panel.sr_models.setMaximumHeight(80)
    col.addWidget(panel.sr_models)
    row = QHBoxLayout()
    refresh = QPushButton("Refresh")
    refresh.setObjectName("singan_refresh")
    refresh.clicked.connect(lambda: panel.controller.refresh_models())
    panel.delete_sr = QPushButton("Delete")
    panel.delete_sr.setObjectName("singan_delete_sr")
    panel.delete_sr.setToolTip("Delete the chosen super-resolution model from the disk.")
    panel.delete_sr.clicked.connect(panel.delete_sr_model)
    row.addWidget(refresh)
    row.addWidget(panel.delete_sr)
    col.addLayout(row)
    col.addStretch(1)
    return page


def history_page(panel) -> QWidget:
    page = QWidget()
    col = QVBoxLayout(page)
    col.setContentsMargins(4, 4, 4, 4)
    panel.history = QListWidget()
    panel.history.setObjectName("singan_history")
    panel.history.setIconSize(QSize(48, 48))
    panel.history.setWordWrap(True)
    panel.history.setMaximumHeight(170)
    panel.history.setToolTip("Every result, newest first. Pick one to see it.")
    col.addWidget(panel.history)
    panel.history_preview = QLabel()
    panel.history_preview.setObjectName("singan_history_preview")
    panel.history_preview.setAlignment(Qt.AlignCenter)
    col.addWidget(panel.history_preview)
    panel.history_caption = wrapping_label("singan_history_caption")
    col.addWidget(panel.history_caption)
    rows = (QHBoxLayout(), QHBoxLayout())  # two buttons a row fit the narrow docker
    for row, name, text, tip in (
            (0, "apply", "Apply to document", "Add it to the active document as new layers."),
            (1, "seed", "Use seed", "Copy its seed into the Generate tab's Seed."),
            (1, "discard", "Discard", "Remove it from the history (and the disk).")):
        button = QPushButton(text)
        button.setObjectName(f"singan_history_{name}")
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False, n=name: panel.history_clicked(n))
        rows[row].addWidget(button)
        panel.history_buttons[name] = button
    for row in rows:
        col.addLayout(row)
    col.addStretch(1)
    return page
