"""kill -9 of the backend while a training started from the docker runs; the docker notices,
the painter restarts the backend from the docker, the backend resumes the journaled training
and the docker's job reaches its end: the model is ready and listed once."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import set_training, setup_window, start_backend  # noqa: E402


def run(t):
    p = t.params
    setup_window(t)
    doc = t.new_document(64, 48, "restart")
    data = bytes((x * 7 + y * 3) % 256 for y in range(48) for x in range(64) for _ in range(4))
    t.add_layer(doc, "texture", data)
    yield from start_backend(t)
    set_training(t, p["max_size"], p["iters"])
    t.click("singan_train")
    ctl = t.controller()
    t.require("training started", ctl.jobs, ctl.message)
    yield from t.wait("the training to pass its first scale",
                      lambda: any("scale 2/" in j.detail or "scale 3/" in j.detail
                                  for j in ctl.jobs.values()), p["train_timeout"])
    pid = ctl.process.popen.pid
    os.kill(pid, signal.SIGKILL)
    ctl.process.popen.wait()
    t.note(f"killed the backend (pid {pid})")
    yield from t.wait("the docker to see the backend gone",
                      lambda: t.widget("singan_start").isEnabled(), 60)
    t.check("the job is kept, waiting for the backend", len(ctl.jobs) == 1
            and next(iter(ctl.jobs.values())).lost, [j.detail for j in ctl.jobs.values()])
    yield from start_backend(t)
    yield from t.wait("the resumed training to finish in the docker", lambda: not ctl.jobs,
                      p["train_timeout"])
    t.check("the docker says the model is ready", "is ready" in ctl.message, ctl.message)
    yield from t.wait("the model list to refresh", lambda: t.widget("singan_models").count() >= 1, 20)
    yield 2.5  # a further model-list refresh must not add a second row
    t.check("the model is listed once", t.widget("singan_models").count() == 1,
            [t.widget("singan_models").itemText(i) for i in range(t.widget("singan_models").count())])
