"""What each docker action sends and does with its result: train, generate, instant
variations, the paper's tasks, super-resolve and animate, and the history of results.
A mixin of Controller (controller.py), which owns the connection, the jobs and the view."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from singan_protocol.messages import FOREIGN_COLOURS_NOTE

from . import options as opt
from .errors import UserFacingError, guarded
from .jobs import Job
from .layers import Placement
from .pixels import PixelFormat

log = logging.getLogger(__name__)
ANIMATION_FORMAT = PixelFormat("RGBA", "U8")


class Actions:
    def _need_model(self) -> dict:
        model = self.selected_model()
        if model is None:
            raise UserFacingError("Train a model first, or pick one in the model list.")
        return model

    # ---- the actions -------------------------------------------------------------------

    @guarded("report")
    def train(self) -> None:
        read = self.adapter.read_layer(use_selection=True)
        name = opt.model_name(read.place.doc_name, read.layer)
        body = self.train_options.validate().body(name)
        self._job("train", f"Training “{name}”", "train", body, [read.image], read.place,
                  lambda job, event: self._trained(job, event, name))

    def _trained(self, job: Job, event, name: str, then: Callable | None = None) -> None:
        model_id = event.body["model_id"]
        if self.history is not None and job.preview is not None:  # the model list's picture
            self.history.keep_model_preview(model_id, job.preview)
        self._doc_models[job.context.doc_key] = model_id
        self.selected = model_id
        self.refresh_models()
        if then is None:
            self.report(f"The model “{name}” is ready. Try Generate variations.", "info")
        else:
            then(model_id)

    @guarded("report")
    def generate(self) -> None:
        model = self._need_model()
        place = self.adapter.placement()
        canvas = self.adapter.doc_state().canvas
        body = self.variation_options.validate(canvas, int(model.get("num_scales", 1))).body(
            model["id"], canvas, place.fmt.sample_type, place.fmt.wire_order)

        def done(job: Job, event) -> None:
            count = len(event.images)
            names = [f"variation {i + 1}" for i in range(count)]
            group = opt.variations_group_name(model["name"], event.body["seed"])
            self.adapter.add_layers(place, event.images, names, group=group)
            self._keep("generate", group, names, event.images, model["name"],
                       event.body["seed"], body, place)
            self.report(f"Added {count} variation{'s' if count > 1 else ''} of “{model['name']}” "
                        f"(seed {event.body['seed']}).", "info")

        self._job("generate", f"Generating {body['n']} × “{model['name']}”", "generate", body, [],
                  place, done)

    @guarded("report")
    def instant(self) -> None:
        """Variations of the active layer (or the selection in it) with no model: the
        backend's patch synthesis, in seconds. Count and seed as Generate's; its size fields
        default to the source's size here, and the results land where the source is."""
        read = self.adapter.read_layer(use_selection=True)
        source = (read.image.width, read.image.height)
        options = self.variation_options.validate(source, 1)  # size 0: the source's
        width, height = options.size(source)
        body = {"n": options.count, "width": width, "height": height}
        if options.seed is not None:
            body["seed"] = options.seed

        def done(job: Job, event) -> None:
            count = len(event.images)
            seed = event.body.get("seed")
            names = [f"instant {i + 1}" for i in range(count)]
            group = opt.variations_group_name(f"{read.layer} instant", seed)
            self.adapter.add_layers(read.place, event.images, names, group=group)  # at the source
            self._keep("instant", group, names, event.images, "", seed, body, read.place)
            self.report(f"Added {count} instant variation{'s' if count > 1 else ''} of "
                        f"“{read.layer}” (seed {seed}).", "info")

        self._job("instant", f"Instant variations of “{read.layer}”", "instant", body,
                  [read.image], read.place, done)

    @guarded("report")
    def harmonize(self) -> None:
        paste = self.adapter.read_paste()
        model_id = self._model_for(paste.place)
        if model_id is not None:
            self._harmonize(paste, model_id)
            return
        name = opt.model_name(paste.place.doc_name, "background")
        body = self.train_options.validate().body(name)
        self._job("train", f"Training “{name}” on the background, for Harmonize", "train", body,
                  [paste.background], paste.place,
                  lambda job, event: self._trained(job, event, name,
                                                   then=lambda mid: self._harmonize(paste, mid)))
        self.report("No model for this picture yet: training one on the background first, "
                    "then harmonizing.", "info")

    @guarded("report")
    def _harmonize(self, paste, model_id: str) -> None:
        def done(job: Job, event) -> None:
            names = [f"{paste.layer} harmonized"]
            self.adapter.add_layers(paste.place, event.images[:1], names)
            self._keep("harmonize", names[0], names, event.images[:1], self._name_of(model_id),
                       event.body.get("seed"), body, paste.place)
            self.report(f"Added “{paste.layer} harmonized” above the pasted layer.", "info")

        body = self.task_options.body(model_id, "harmonize")
        self._job("harmonize", f"Harmonizing “{paste.layer}”", "harmonize", body,
                  [paste.composite, paste.mask], paste.place, done)

    def _model_for(self, place: Placement) -> str | None:
        """The model trained on this document: this session's, else one named after it."""
        usable = self.generative_models()
        ids = {m.get("id") for m in usable}
        if self._doc_models.get(place.doc_key) in ids:
            return self._doc_models[place.doc_key]
        names = {opt.model_name(place.doc_name, "background"), opt.model_name(place.doc_name, "")}
        matches = [m for m in usable if m.get("name") in names]
        return matches[0]["id"] if matches else None

    @guarded("report")
    def edit(self) -> None:
        model = self._need_model()
        # the whole layer: the model knows the picture, the mask says what to redo
        read = self.adapter.read_layer(use_selection=False, with_mask=True)

        def done(job: Job, event) -> None:
            names = [f"{read.layer} edited", f"{read.layer} edited (unmasked)"]
            self.adapter.add_layers(read.place, event.images[:2], names[:len(event.images)],
                                    hidden=(1,))
            self._keep("edit", names[0], names, event.images[:2], model["name"],
                       event.body.get("seed"), body, read.place)
            self.report(f"Added “{names[0]}” above “{read.layer}”.", "info")

        body = self.task_options.body(model["id"], "edit")
        self._job("edit", f"Editing “{read.layer}”", "edit", body, [read.image, read.mask],
                  read.place, done)

    @guarded("report")
    def paint(self) -> None:
        model = self._need_model()
        read = self.adapter.read_layer(use_selection=False)

        def done(job: Job, event) -> None:
            names = [f"{read.layer} as image"]
            self.adapter.add_layers(read.place, event.images[:1], names)
            self._keep("paint", names[0], names, event.images[:1], model["name"],
                       event.body.get("seed"), body, read.place)
            added = f"Added “{read.layer} as image” above the sketch."
            note = foreign_colours_note(event.body.get("foreign_colours"), model["name"])
            self.report(f"{added} {note}" if note else added, "warning" if note else "info")

        body = self.task_options.body(model["id"], "paint")
        self._job("paint", f"Painting “{read.layer}” to an image", "paint", body, [read.image],
                  read.place, done)

    @guarded("report")
    def upscale(self) -> None:
        read = self.adapter.read_layer(use_selection=True)
        factor = self.upscale_options.validate((read.image.width, read.image.height)).factor
        body = {"factor": float(factor), "preset": self.train_options.preset}
        if self.train_options.iters:
            body["iters"] = self.train_options.iters
        name = f"{opt.model_name(read.place.doc_name, read.layer)} x{factor:g}"

        def done(job: Job, event) -> None:
            self.adapter.new_document(name, event.images[0], read.place.fmt)
            self.report(f"Opened “{name}” ({event.images[0].width} × {event.images[0].height}).",
                        "info")

        self._job("upscale", f"Super-resolving “{read.layer}” x{factor:g}", "upscale", body,
                  [read.image], read.place, done)

    @guarded("report")
    def animate(self) -> None:
        model = self._need_model()
        options = self.animate_options.validate()
        fmt = ANIMATION_FORMAT
        body = options.body(model["id"], fmt.sample_type, fmt.wire_order, self.task_options.seed)
        name = f"{model['name']} animation"

        # the animated layer only where Krita's import did not crash it (the adapter knows)
        animated = options.animated_layer and self.adapter.animated_layer_problem() is None

        def done(job: Job, event) -> None:
            how = self.adapter.new_animation(name, event.images, float(event.body.get("fps", options.fps)),
                                             fmt, animated)
            self.report(f"Opened “{name}”: {len(event.images)} frames {how}.", "info")

        self._job("animate", f"Animating “{model['name']}”", "animate", body, [], None, done)

    # ---- the history of results ----------------------------------------------------------

    def _name_of(self, model_id: str) -> str:
        return next((m.get("name", "") for m in self.models if m.get("id") == model_id), "")

    def _keep(self, kind: str, label: str, names, images, model: str, seed, body: dict,
              place: Placement) -> None:
        if self.history is not None:  # a copy; the result is in the document already
            settings = {k: v for k, v in body.items() if k not in ("sample_type", "channel_order")}
            self.history.add(kind, label, names, images, model, seed,
                             {**settings, "x": place.x, "y": place.y})

    @guarded("report")
    def apply_result(self, entry_id: str) -> None:
        """A result from the history as new layers of the active document, where it was."""
        entry = self.history.get(entry_id)
        images = self.history.images(entry_id)
        place = replace(self.adapter.placement(), x=int(entry.settings.get("x", 0)),
                        y=int(entry.settings.get("y", 0)))
        grouped = entry.kind in ("generate", "instant")
        self.adapter.add_layers(place, images, list(entry.names), group=entry.label if grouped
                                else None, hidden=(1,) if entry.kind == "edit" else ())
        self.report(f"Added “{entry.label}” from the history to “{place.doc_name}”.", "info")

    @guarded("report")
    def discard_result(self, entry_id: str) -> None:
        self.history.discard(entry_id)
        self.changed()


def foreign_colours_note(share: float | None, model: str) -> str | None:
    """What to do when much of a sketch is in colours the model's picture lacks (the paint
    result's `foreign_colours`), else None."""
    if not share or share <= FOREIGN_COLOURS_NOTE:
        return None
    return (f"{share:.0%} of the sketch is in colours “{model}” was not trained on, and there "
            "the result will not look like its picture: paint with colours picked from that "
            "picture, or tick “Model's colours” and paint again.")
