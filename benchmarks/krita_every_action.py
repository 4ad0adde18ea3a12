"""Every docker action on a 1600 x 1000 photo in one real Krita session (issue 15).

    python benchmarks/krita_every_action.py [--photo forest_path] [--max-size 192] [--iters 0]
        [--frames 4] [--out /tmp/every_action] [--work /tmp/singan-every-action]

Opens a photo of ../shared/images/canvas/ in Krita under Xvfb with the plugin installed by
the installer, trains a small model from the docker (quick preset), then runs Generate
variations, Instant, Harmonize paste layer, Edit selection, Paint to image, Super-resolve
layer (x2) and Animate with the docker's defaults (tests/krita/scenarios/every_action.py
does the clicking). Prints a table (action, seconds, result size, ok, the docker's message
after it), saves each result as a PNG and the Krita log under --out, and fails when an
action failed, Krita did not exit 0 or the photo's file changed. Needs krita and Xvfb;
~10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "krita"))
import kritarun  # noqa: E402
from common import shared_image, table  # noqa: E402


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(actions: list[dict]) -> list[dict]:
    return [{"action": a["action"],
             "seconds": "-" if a.get("seconds") is None else f"{a['seconds']:.1f}",
             "result size": a.get("size", ""), "ok": "yes" if a["ok"] else "NO",
             "docker's message": a.get("message", "")}
            for a in actions]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default="forest_path", help="a photo of %(default)s's folder")
    parser.add_argument("--max-size", type=int, default=192,
                        help="training size, px (the docker's default)")
    parser.add_argument("--iters", type=int, default=0,
                        help="training steps per scale (the docker's default 0: the preset's)")
    parser.add_argument("--frames", type=int, default=4, help="Animate's frames")
    parser.add_argument("--out", type=Path, default=Path("/tmp/every_action"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/singan-every-action"))
    parser.add_argument("--timeout", type=int, default=1800, help="for the whole Krita run, s")
    args = parser.parse_args()
    photo = shared_image(f"canvas/{args.photo}.jpg")
    problem = kritarun.missing_tools()
    if problem:
        sys.exit(problem)
    before = digest(photo)
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.rmtree(args.out, ignore_errors=True)
    template = kritarun.build_template(args.work / "template", None, args.work / "wheel-cache")
    params = {"image": str(photo), "max_size": args.max_size, "iters": args.iters,
              "frames": args.frames, "train_timeout": 900, "job_timeout": 600,
              "upscale_timeout": 900}
    run = kritarun.run_scenario(template, args.work / "run", "every_action", params,
                                timeout_s=args.timeout, artifacts=args.out)
    (args.out / "krita.log").write_text(run.log)
    actions = run.results.get("actions", [])
    print(table(rows(actions), ["action", "seconds", "result size", "ok", "docker's message"]))
    for a in actions:
        if not a["ok"]:
            print(f"{a['action']}: {a.get('error', '')} (docker: {a.get('message', '')})")
    alive = run.rc == 0 and run.results.get("finished")
    photo_kept = digest(photo) == before
    print(f"Krita ran {run.seconds:.0f} s, exit code {run.rc}, scenario finished: "
          f"{bool(run.results.get('finished'))}; photo file unchanged: {photo_kept}; "
          f"results in {args.out}")
    if run.failures():
        print(run.explain())
    ok = alive and photo_kept and len(actions) == 8 and all(a["ok"] for a in actions)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
