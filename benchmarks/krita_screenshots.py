"""The README's screenshots of the docker, made in real Krita under Xvfb.

    python benchmarks/krita_screenshots.py [--photo forest_path] [--max-size 192] [--iters 0]
        [--work /tmp/singan-screenshots] [--no-copy]

Opens a 1600 x 1000 photo of ../shared/images/canvas/ in Krita with the plugin installed by
the installer, trains a small model from the docker, generates two variations at the canvas
size (tests/krita/scenarios/readme_screenshots.py does the clicking), then copies
krita-docker.png (the docker, History tab), krita-docker-canvas.png (the window, a variation
on the canvas) and krita-docker-training.png (the docker while it trains) into docs/.
Needs krita and Xvfb; takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "krita"))
import kritarun  # noqa: E402
from common import shared_image  # noqa: E402

SHOTS = ("krita-docker.png", "krita-docker-canvas.png", "krita-docker-training.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default="forest_path", help="a photo of %(default)s's folder")
    parser.add_argument("--max-size", type=int, default=192,
                        help="training size, px (the docker's default)")
    parser.add_argument("--iters", type=int, default=0,
                        help="training steps per scale (the docker's default 0: the preset's)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/singan-screenshots"))
    parser.add_argument("--no-copy", action="store_true", help="leave docs/ as it is")
    args = parser.parse_args()
    photo = shared_image(f"canvas/{args.photo}.jpg")
    problem = kritarun.missing_tools()
    if problem:
        sys.exit(problem)
    shutil.rmtree(args.work, ignore_errors=True)
    template = kritarun.build_template(args.work / "template", None, args.work / "wheel-cache")
    params = {"image": str(photo), "max_size": args.max_size, "iters": args.iters,
              "train_timeout": 900, "job_timeout": 600}
    run = kritarun.run_scenario(template, args.work / "run", "readme_screenshots", params,
                                timeout_s=1500)
    print(f"Krita ran {run.seconds:.0f} s; timings: {run.results.get('timings')}")
    if run.failures():
        print(run.explain())
        return 1
    for name in SHOTS:
        shot = run.artifacts / name
        print(f"{shot} ({shot.stat().st_size // 1024} KiB)")
        if not args.no_copy:
            shutil.copy(shot, REPO / "docs" / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
