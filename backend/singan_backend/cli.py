"""`singan`: train, sample, run the paper's tasks and manage models from the command line.

Each command builds a request (the protocol's msg_type, body and images) and executes it
in this process, or through a running backend with --connect. Bad input ends in a
one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

from singan_protocol.fields import Spec, specs
from singan_protocol.messages import (
    FOREIGN_COLOURS_NOTE,
    Animate,
    Generate,
    Harmonize,
    Instant,
    Paint,
    Train,
    Upscale,
)

from . import cpu_policy, dispatch
from .engine import superres
from .engine.inject import DEFAULT_START_SCALE
from .errors import BadOption, Cancelled, SinGANError
from .images import load_image, load_mask, save_image
from .store import ModelStore


class ProgressBar:
    """One line on stderr: scale i/N, a bar, iteration, elapsed and ETA."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_line = 0.0
        self.shown = False

    def __call__(self, p) -> None:
        now = time.monotonic()
        final = p.iteration >= p.total and p.scale >= p.num_scales - 1
        if not self.tty and now - self.last_line < 5 and not final:
            return  # a log file gets a line every few seconds, not a flood
        self.last_line = now
        done = int(p.fraction * 30)
        eta = "?" if p.eta_s is None else _duration(p.eta_s)
        line = (f"{p.task} {p.stage} [{'#' * done}{'.' * (30 - done)}] "
                f"{p.iteration}/{p.total}  {_duration(p.elapsed_s)} elapsed, ETA {eta}")
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def execute(args, msg_type: str, body: dict, images=()) -> tuple[dict, list]:
    """Run one request here, or on the backend named by --connect."""
    bar = ProgressBar()
    try:
        if args.connect is not None:
            from .remote import execute_remote
            return execute_remote(args.connect, msg_type, body, list(images), on_progress=bar)
        return dispatch.run(ModelStore(args.models_dir), msg_type, body, list(images),
                            device=getattr(args, "device", None), on_progress=bar)
    finally:
        bar.close()


def checked(spec: Spec):
    """An argparse type: the field's type, refused outside the protocol's range for it."""
    def parse(text: str):
        value = spec.type(text)
        problem = spec.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value
    parse.__name__ = spec.type.__name__  # argparse's "invalid int value: 'x'"
    return parse


def add_request_options(p: argparse.ArgumentParser, request: type, names: str,
                        **helps: str) -> None:
    """--flag-name for each named field of a protocol request: type, default, range, choices
    and help come from the request's own declaration (singan_protocol/fields.py), so that the
    CLI accepts what the backend accepts. `helps` replace a field's help where the CLI's
    wording differs. A bool field that defaults to true becomes --no-flag-name."""
    for name in names.split():
        spec = specs(request)[name]
        flag, text = "--" + name.replace("_", "-"), helps.get(name, spec.help)
        if spec.type is bool:
            if spec.default:
                p.add_argument("--no-" + flag[2:], dest=name, action="store_false", help=text)
            else:
                p.add_argument(flag, dest=name, action="store_true", help=text)
            continue
        notes = [spec.range_text()] if spec.range_text() else []
        if spec.default is not None and not spec.required:
            notes.append(f"default: {spec.default}")
        if notes:
            text = f"{text} ({'; '.join(notes)})"
        p.add_argument(flag, dest=name, type=checked(spec), choices=spec.choices,
                       required=spec.required, help=text,
                       default=None if spec.required else spec.default)


# -- commands ------------------------------------------------------------------------------
def cmd_train(args) -> int:
    body = {"name": args.name, "preset": args.preset, "max_size": args.max_size,
            "min_size": args.min_size, "scale_factor": args.scale_factor, "iters": args.iters,
            "seed": args.seed, "for_animation": args.for_animation, "resume": args.resume}
    images = []
    if not args.resume:
        if not args.image:
            raise BadOption("give an IMAGE to train on, or --resume MODEL to finish a model")
        images = [load_image(args.image)]
        body["name"] = args.name or Path(args.image).stem
        body["source_name"] = Path(args.image).name
    reply, _ = execute(args, "train", body, images)
    seconds = reply.get("train_seconds", [])
    print(f"trained {reply['model']['num_scales']} scales in {sum(seconds):.1f} s "
          f"({', '.join(f'{s:.1f}' for s in seconds)})", file=sys.stderr)
    print(reply["model_id"])
    return 0


def write_images(out: Path, images, prefix: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = out / f"{prefix}{i:03d}.png"
        save_image(path, image)
        paths.append(path)
    return paths


def cmd_sample(args) -> int:
    body = {"model_id": args.model, "n": args.n, "width": args.width, "height": args.height,
            "scale_h": args.scale_h, "scale_v": args.scale_v, "start_scale": args.start_scale,
            "seed": args.seed, "lift": args.lift, "layout": args.layout}
    _, images = execute(args, "generate", body)
    for path in write_images(Path(args.out), images):
        print(path)
    return 0


def cmd_instant(args) -> int:
    body = {"n": args.n, "width": args.width, "height": args.height, "seed": args.seed}
    _, images = execute(args, "instant", body, [load_image(args.image)])
    for path in write_images(Path(args.out), images):
        print(path)
    return 0


def cmd_models(args) -> int:
    reply, _ = execute(args, "list_models", {})
    models = reply["models"]
    if args.json:
        import json
        print(json.dumps(models, indent=1))
        return 0
    if not models and not reply.get("damaged"):
        print("no models yet: `singan train IMAGE` or `singan demo` makes one")
    for m in models:
        state = "" if m["complete"] else f"  (unfinished: {m['trained_scales']}/{m['num_scales']})"
        print(f"{m['id']:28} {m['width']}x{m['height']:<5} {m['num_scales']:>2} scales  "
              f"{m['preset']:8} layout {m.get('layout', 'model'):8} {m['created']}{state}")
    for d in reply.get("damaged", []):  # listed so that `singan delete ID` can remove them
        print(f"{d['id']:28} damaged: {d['problem']}")
    return 0


def cmd_delete(args) -> int:
    reply, _ = execute(args, "delete_model", {"model_id": args.model})
    print(f"deleted {reply['model_id']}")
    return 0


def cmd_demo(args) -> int:
    from .demo import contact_sheet, demo_image

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = demo_image()
    save_image(out / "source.png", source)
    print(f"training the quick preset on a generated {source.shape[1]} x {source.shape[0]} "
          f"picture ({out / 'source.png'})", file=sys.stderr)
    # 96 px (not quick's 192) keeps the demo at a couple of minutes on a laptop CPU
    reply, _ = execute(args, "train", {"name": "demo", "preset": "quick", "seed": args.seed,
                                       "iters": args.iters, "max_size": 96,
                                       "source_name": "demo (generated)"},
                       [source])
    model_id = reply["model_id"]
    h, w = reply["model"]["finest_height"], reply["model"]["finest_width"]
    rows = [("source", [source])]
    for label, width, height in (("training size", w, h), ("twice as wide", 2 * w, h),
                                 ("1.5x larger", round(1.5 * w), round(1.5 * h))):
        # at the model's own scale (no lift), the sizes and pictures the README shows
        _, images = execute(args, "generate", {"model_id": model_id, "n": 3, "width": width,
                                               "height": height, "seed": args.seed,
                                               "lift": False})
        write_images(out, images, prefix=f"{width}x{height}_")
        rows.append((f"{label}: {width} x {height}", images))
    sheet = out / "contact_sheet.png"
    contact_sheet(rows).save(sheet)
    print(f"samples and {sheet} written to {out}", file=sys.stderr)
    print(model_id)
    return 0


def cmd_serve(args) -> int:
    from .server.__main__ import main as server_main
    return server_main(["serve", *args.server_args])


def cmd_install_krita(args) -> int:
    from singan_installer import main as installer_main
    return installer_main(args.installer_args)


# -- the paper's tasks ---------------------------------------------------------------------
def numbered(out: Path, i: int) -> Path:
    """FILE for the first result, FILE_1, FILE_2, ... for the next ones."""
    return out if i == 0 else out.with_name(f"{out.stem}_{i}{out.suffix}")


def save_results(out: Path, images) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        save_image(numbered(out, i), image)
        print(numbered(out, i))


def injection_body(args, **extra) -> dict:
    return {"model_id": args.model, "start_scale": args.start_scale, "seed": args.seed,
            "n": getattr(args, "n", 1), "lift": args.lift, **extra}


def cmd_harmonize(args) -> int:
    if (args.mask is None) == (args.paste is None):
        raise BadOption("give the pasted region as --mask MASK.png or as --paste LAYER.png "
                        "(its alpha), one of the two")
    mask = (load_mask(args.mask) if args.mask is not None
            else load_mask(args.paste, alpha=True))
    _, images = execute(args, "harmonize", injection_body(args),
                        [load_image(args.reference), mask])
    save_results(Path(args.out), images)
    return 0


def cmd_edit(args) -> int:
    _, images = execute(args, "edit", injection_body(args),
                        [load_image(args.reference), load_mask(args.mask)])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for i in range(len(images) // 2):
        blended, unmasked = numbered(out, i), numbered(out.with_stem(out.stem + "_unmasked"), i)
        save_image(blended, images[2 * i])
        save_image(unmasked, images[2 * i + 1])
        print(blended)
        print(unmasked)
    return 0


def cmd_paint(args) -> int:
    body = injection_body(args, quantize=args.quantize or args.refine, refine=args.refine)
    reply, images = execute(args, "paint", body, [load_image(args.reference)])
    save_results(Path(args.out), images)
    foreign = reply.get("foreign_colours") or 0
    if foreign > FOREIGN_COLOURS_NOTE:
        print(f"note: {foreign:.0%} of the painting is in colours the model's training image "
              "does not have, and there the result will not look like it: paint with colours "
              "picked from that image, or add --quantize", file=sys.stderr)
    return 0


def cmd_upscale(args) -> int:
    body = {"factor": args.factor, "model_id": args.model, "seed": args.seed,
            "method": args.method, "preset": args.preset, "max_size": args.max_size,
            "min_size": args.min_size, "iters": args.iters,
            "name": "sr-" + Path(args.image).stem, "source_name": Path(args.image).name}
    reply, images = execute(args, "upscale", body, [load_image(args.image)])
    if args.model is None and reply.get("model_id"):
        print(f"trained super-resolution model {reply['model_id']}: pass --model "
              f"{reply['model_id']} to upscale this image again without training",
              file=sys.stderr)
    save_results(Path(args.out), images)
    return 0


ANIMATION_FORMATS = (".gif", ".png", ".webp")  # GIF, animated PNG, animated WebP


def save_animation(path: Path, frames, fps: float) -> None:
    """A looping animation; a GIF gets one palette for all frames, so colours never flicker."""
    from PIL import Image

    tiles = [Image.fromarray((np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8)) for f in frames]
    if path.suffix.lower() == ".gif":
        picks = tiles[:: max(1, len(tiles) // 8)][:8]
        strip = Image.new("RGB", (picks[0].width, picks[0].height * len(picks)))
        for i, tile in enumerate(picks):
            strip.paste(tile, (0, i * tile.height))
        palette = strip.quantize(256, method=Image.Quantize.MEDIANCUT)
        tiles = [t.quantize(palette=palette, dither=Image.Dither.NONE) for t in tiles]
    tiles[0].save(path, save_all=True, append_images=tiles[1:], duration=round(1000 / fps),
                  loop=0)


def cmd_animate(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in ANIMATION_FORMATS:
        raise BadOption(f"the animation file must end in {', '.join(ANIMATION_FORMATS)} "
                        f"(got {out.name})")
    body = {"model_id": args.model, "frames": args.frames, "fps": args.fps,
            "start_scale": args.start_scale, "beta": args.beta, "seed": args.seed,
            "loop": args.loop, "lift": args.lift}
    reply, frames = execute(args, "animate", body)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_animation(out, frames, reply.get("fps", args.fps))
    if args.frames_dir:
        write_images(Path(args.frames_dir), frames, prefix="frame_")
    print(out)
    return 0


def default_scale(task: str) -> str:
    return f"default {DEFAULT_START_SCALE[task]}"


def add_task_commands(add) -> None:
    def injection(p, start_help: str) -> None:
        p.add_argument("model", help="model id or name (trained on the background image)")
        add_request_options(
            p, Harmonize, "start_scale seed lift",
            start_scale=f"injection scale, 1 .. scales - 1; lower changes more ({start_help})",
            seed="result i uses seed + i (default: random)",
            lift="leave the result at the model's scale, resized (no lift to the image's "
                 "resolution from the source's patches)")
        p.add_argument("--out", required=True, help="result file (PNG)")

    p = add("harmonize", cmd_harmonize,
            "blend a pasted object into the image a model was trained on")
    injection(p, default_scale("harmonize"))
    p.add_argument("--reference", required=True, help="the naive composite")
    p.add_argument("--mask", help="white where the object was pasted")
    p.add_argument("--paste", help="the pasted layer alone, transparent around the object")
    add_request_options(p, Harmonize, "n", n="how many results (FILE, FILE_1, ...)")

    p = add("edit", cmd_edit, "make a rough edit of the training image seamless; also writes "
                              "FILE_unmasked.png")
    injection(p, default_scale("edit"))
    p.add_argument("--reference", required=True, help="the edited image")
    p.add_argument("--mask", required=True, help="white where the image was edited")
    add_request_options(p, Harmonize, "n", n="how many results")

    p = add("paint", cmd_paint, "turn a clip-art painting into an image in the model's style")
    injection(p, default_scale("paint"))
    p.add_argument("--reference", required=True, help="the painting")
    add_request_options(p, Paint, "quantize refine n",
                        refine="retrain the injection scale on quantised inputs (implies "
                               "--quantize; slower, cleaner)", n="how many results")

    p = add("upscale", cmd_upscale, "super-resolution by any factor > 1: from the image's own "
                                    "patches (default), or the paper's SR model (--method singan)")
    p.add_argument("image", help="the image to upscale")
    add_request_options(
        p, Upscale, "factor method preset max_size min_size iters seed",
        method="patch: internal-patch SR, no training, deterministic; singan: trains the "
               "paper's SR model on the image first (minutes) (default: patch, singan with "
               "--model)",
        preset="the options to start from (default: default)",
        max_size="train on the image shrunk to this longest side, px (the result is still "
                 "factor x the full image)",
        min_size=f"coarsest scale's shorter side (SR: {superres.SR_DEFAULTS['min_size']})",
        seed="seed of the training and of the noise (default: 0 and random)")
    p.add_argument("--out", required=True, help="result file (PNG)")
    p.add_argument("--model", help="a model this command trained before (skips training)")

    p = add("animate", cmd_animate, "a looping animation from a model (best one trained with "
                                    "`singan train --for-animation`)")
    p.add_argument("model", help="model id or name")
    p.add_argument("--out", required=True, help="animation file: .gif, .png (APNG) or .webp")
    add_request_options(p, Animate, "frames fps start_scale beta seed loop lift",
                        seed="seed of the walk (default: random)",
                        loop="leave out the cross-fade that closes the loop")
    p.add_argument("--frames-dir", help="also write the frames as frame_000.png, ...")

    p = add("instant", cmd_instant, "variations of an image with no model and no training: a "
                                    "patch synthesis from the image's own patches",
            device=False)  # the patch engine runs on the CPU
    p.add_argument("image", help="the image (PNG, JPEG, ...)")
    p.add_argument("--out", required=True, help="folder for 000.png, 001.png, ...")
    add_request_options(p, Instant, "n width height seed",
                        width="width in px (default: the image's)",
                        height="height in px (default: the image's)",
                        seed="variation i uses seed + i (default: random)")


# -- parser --------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit 2), like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def common_options(connect: bool = True) -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--models-dir", default=argparse.SUPPRESS,
                        help="where models live (default: $SINGAN_HOME/models or the user data "
                             "folder)")
    if connect:
        common.add_argument("--connect", nargs="?", const="", default=argparse.SUPPRESS,
                            metavar="CONNECTION_FILE",
                            help="run through a running backend (default connection file if "
                                 "no path is given)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = Parser(prog="singan", parents=[common], description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn, help: str, device: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        if device:
            p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the best present)")
        p.set_defaults(fn=fn)
        return p

    p = add("train", cmd_train, "train a model on one image; prints its id last")
    p.add_argument("image", nargs="?", help="the training image (PNG, JPEG, ...)")
    add_request_options(p, Train, "name preset max_size min_size scale_factor iters seed "
                                  "for_animation", name="model name (default: the file name)",
                        for_animation="train with noise padding and min size 20, for "
                                      "`singan animate`")
    p.add_argument("--resume", metavar="MODEL", help="finish an interrupted training run")

    p = add("sample", cmd_sample, "random samples of any size from a model")
    p.add_argument("model", help="model id or name")
    p.add_argument("--out", required=True, help="folder for 000.png, 001.png, ...")
    add_request_options(
        p, Generate, "n width height scale_h scale_v lift start_scale seed layout",
        width="sample width in the training image's px (default: its width)",
        height="sample height in the training image's px (default: its height)",
        scale_h="width as a multiple of the training width",
        scale_v="height as a multiple of the training height",
        lift="sample at the model's scale: sizes in the finest scale's px, no lift from the "
             "training image's patches (models from before always do)",
        seed="sample i uses seed + i (default: random)",
        layout="model: the layout from the model's coarse scales (the paper's); patches: from "
               "a patch synthesis of the training image (default: the one the model measured "
               "better after training; `singan models` shows it)")

    p = add("models", cmd_models, "list the trained models", device=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("delete", cmd_delete, "delete a model", device=False)
    p.add_argument("model", help="model id or name")

    p = add("demo", cmd_demo, "train the quick preset on a generated picture and write samples")
    p.add_argument("--out", default="singan-demo", help="output folder (default singan-demo)")
    add_request_options(p, Train, "iters", iters="iterations per scale (quick preset: 150)")
    p.add_argument("--seed", type=int, default=0)

    add_task_commands(add)

    p = sub.add_parser("serve", help="start the backend (same as `singan-backend serve`)",
                       add_help=False)
    p.add_argument("server_args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("install-krita", help="install the Krita plugin (see --help)",
                       add_help=False)
    p.add_argument("installer_args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_install_krita)
    return parser


# Commands that hand everything after their name to another program's parser. argparse's
# REMAINDER refuses a first argument that starts with "-" (`install-krita --help` failed), so
# their arguments are split off before parsing.
PASSTHROUGH = {"serve": "server_args", "install-krita": "installer_args"}


def _split_passthrough(argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """(argv up to and with the command, the field for the rest, the rest)."""
    for i, token in enumerate(argv):
        if token in PASSTHROUGH:
            return argv[:i + 1], PASSTHROUGH[token], argv[i + 1:]
        if not token.startswith("-") and (i == 0 or argv[i - 1] not in ("--models-dir",
                                                                       "--connect")):
            break  # another command: its own arguments may be named like ours
    return argv, None, []


def main(argv: list[str] | None = None) -> int:
    cpu_policy.enable()  # threads that follow the load: Krita beside us holds a core
    parser = build_parser()
    head, rest_field, rest = _split_passthrough(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(head)
    if rest_field:
        setattr(args, rest_field, rest)
    args.models_dir = getattr(args, "models_dir", None)
    args.connect = getattr(args, "connect", None)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except Cancelled as e:
        print(f"singan: {e.message}", file=sys.stderr)
        return 130
    except SinGANError as e:
        print(f"singan: error: {e.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsingan: interrupted; an interrupted training keeps its finished scales: "
              "`singan models` shows it, `singan train --resume MODEL` finishes it",
              file=sys.stderr)
        return 130
    except OSError as e:
        print(f"singan: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
