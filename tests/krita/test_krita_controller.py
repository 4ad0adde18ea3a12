"""The plugin's controller with a scripted backend and a fake document adapter: what each
action sends, what each answer does to the documents and the docker."""

import pytest
from krita_fakes import SETTINGS, Backend, Clock, FakeAdapter, image

from singan_krita.backend_process import BackendProcess
from singan_krita.connection import Connection, State
from singan_krita.controller import Controller
from singan_krita.errors import UserFacingError

MODEL = {"id": "m-1", "name": "sunset", "width": 64, "height": 48, "num_scales": 5,
         "created": "2026-01-01T10:00:00+00:00", "preset": "quick"}


@pytest.fixture
def world(tmp_path):
    backend, clock, adapter = Backend(), Clock(), FakeAdapter()
    conn = Connection(SETTINGS, "conn.json", backend.factory, clock=clock, alive=backend.alive,
                      read_info=backend.read)
    process = BackendProcess(SETTINGS.backend_command, {}, "conn.json", tmp_path / "backend.log")
    ctl = Controller(SETTINGS, adapter, conn, process, clock=clock)
    return ctl, backend, adapter, clock


def connect(ctl, backend, models=()):
    backend.start()
    ctl.tick()
    client = backend.client
    client.push("reply", client.last("hello")[0], {"version": "1.0", "server": "singan-backend 0.1.0",
                                                   "device": "cpu"})
    ctl.connection.on_readable()
    assert ctl.connection.state is State.CONNECTED
    client.push("reply", client.last("list_models")[0], {"models": list(models)})
    ctl.connection.on_readable()
    return client


def answer(ctl, client, msg_type, parent, body=None, images=()):
    client.push(msg_type, parent, body, images)
    ctl.connection.on_readable()


def test_not_running_view_offers_start_and_disables_actions(world):
    ctl, backend, adapter, clock = world
    ctl.tick()
    view = ctl.view()
    assert view.state is State.NOT_RUNNING and view.can_start
    assert all(reason and "Start the backend" in reason for reason in view.reasons.values())


def test_action_without_backend_says_so_in_the_docker(world):
    ctl, *_ = world
    ctl.train()
    assert ctl.level == "error" and "not running" in ctl.message
    assert not ctl.jobs


def test_train_sends_the_layer_and_selects_the_new_model(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.train_options = ctl.train_options.__class__(preset="quick", max_size=40, iters=10)
    ctl.train()
    rid, msg_type, body, images = client.last("train")
    assert body == {"name": "sunset", "preset": "quick", "max_size": 40, "iters": 10}
    assert images[0].channel_order == "BGRA" and len(ctl.jobs) == 1
    answer(ctl, client, "accepted", rid, {"job_id": "j1", "position": 0, "lane": "train"})
    answer(ctl, client, "progress", rid, {"job_id": "j1", "task": "train", "stage": "scale 2/5",
                                          "scale": 1, "num_scales": 5, "iteration": 3, "total": 10,
                                          "fraction": 0.26, "eta_s": 75.0, "elapsed_s": 20.0})
    job = ctl.view().jobs[0]
    assert job.fraction == pytest.approx(0.26)
    assert job.detail == "scale 2/5 · iteration 3/10 · estimating time"  # one scale timed
    answer(ctl, client, "result", rid, {"job_id": "j1", "model_id": "m-1", "name": "sunset"})
    assert not ctl.jobs and ctl.selected == "m-1"
    assert "is ready" in ctl.message and ctl.level == "info"
    answer(ctl, client, "reply", client.last("list_models")[0], {"models": [MODEL]})
    assert ctl.selected_model() == MODEL


def test_generate_adds_a_group_named_after_model_and_seed(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    ctl.variation_options = ctl.variation_options.__class__(count=2, width=128, seed=7)
    ctl.generate()
    rid, _, body, images = client.last("generate")
    assert body == {"model_id": "m-1", "n": 2, "width": 128, "height": 48, "start_scale": 0,
                    "sample_type": "u8", "channel_order": "BGRA", "seed": 7}
    assert images == []
    answer(ctl, client, "accepted", rid, {"job_id": "j2", "position": 0, "lane": "infer"})
    answer(ctl, client, "result", rid, {"job_id": "j2", "model_id": "m-1", "seed": 7},
           [image(128, 48), image(128, 48)])
    place, names, group, hidden, results = adapter.added[0]
    assert group == "sunset · seed 7" and names == ["variation 1", "variation 2"]
    assert (place.x, place.y) == (0, 0) and len(results) == 2
    assert ctl.level == "info" and "2 variations" in ctl.message


def test_harmonize_without_a_model_trains_on_the_background_first(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.harmonize()
    rid, _, body, images = client.last("train")
    assert body["name"] == "sunset - background" and images[0].data[:1] == b"\x02"
    assert "training one on the background first" in ctl.message
    answer(ctl, client, "result", rid, {"job_id": "j1", "model_id": "bg", "name": body["name"]})
    hid, _, hbody, himages = client.last("harmonize")
    assert hbody == {"model_id": "bg"} and [i.channel_order for i in himages] == ["BGRA", "GRAY"]
    answer(ctl, client, "result", hid, {"job_id": "j2", "model_id": "bg", "seed": 1}, [image()])
    assert adapter.added[0][1] == ["paste harmonized"] and adapter.added[0][2] is None


def test_harmonize_reuses_the_documents_model(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [dict(MODEL, id="bg", name="sunset - background")])
    ctl.harmonize()
    assert client.last("harmonize")[2]["model_id"] == "bg"
    assert not [s for s in client.sent if s[1] == "train"]


def test_edit_sends_layer_and_selection_mask_and_hides_the_unmasked_result(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    ctl.edit()
    rid, _, body, images = client.last("edit")
    assert [i.channel_order for i in images] == ["BGRA", "GRAY"]
    answer(ctl, client, "result", rid, {"job_id": "j", "model_id": "m-1", "seed": 3}, [image(), image()])
    place, names, group, hidden, _ = adapter.added[0]
    assert names == ["Background edited", "Background edited (unmasked)"] and hidden == (1,)
    assert (place.x, place.y) == (2, 3)


def test_paint_warns_when_much_of_the_sketch_is_in_colours_the_model_lacks(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    for share, level in ((0.335, "warning"), (0.01, "info"), (None, "info")):
        ctl.paint()
        rid, _, body, _ = client.last("paint")
        assert body["quantize"] is False
        reply = {"job_id": "j", "model_id": "m-1", "seed": 3, "count": 1, "start_scale": 1}
        if share is not None:
            reply["foreign_colours"] = share
        answer(ctl, client, "result", rid, reply, [image()])
        assert adapter.added[-1][1] == ["Background as image"]
        assert ctl.level == level and ctl.message.startswith("Added “Background as image”")
        said = ("34% of the sketch is in colours “sunset” was not trained on" in ctl.message
                and "tick “Model's colours”" in ctl.message)
        assert said == (level == "warning")


def test_upscale_opens_a_new_document(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.upscale()
    rid, _, body, _ = client.last("upscale")
    assert body == {"factor": 2.0, "preset": "quick"}  # the training preset chosen in the docker
    answer(ctl, client, "result", rid, {"job_id": "j", "seed": 1}, [image(8, 6)])
    name, result, fmt = adapter.documents[0]
    assert name == "sunset x2" and (result.width, result.height) == (8, 6)


def test_animate_asks_for_u8_bgra_frames_and_defaults_to_layers_in_a_group(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    ctl.animate_options = ctl.animate_options.__class__(frames=3)
    ctl.animate()
    rid, _, body, _ = client.last("animate")
    assert (body["frames"], body["sample_type"], body["channel_order"]) == (3, "u8", "BGRA")
    assert body["lift"] is False  # frames at the model's scale unless the painter asks
    answer(ctl, client, "result", rid, {"job_id": "j", "model_id": "m-1", "fps": 10.0, "seed": 1},
           [image()] * 3)
    # the path that cannot crash Krita; the animated layer only when asked for
    assert adapter.animations == [("sunset animation", 3, 10.0, False)]
    assert "as layers in a group" in ctl.message
    ctl.animate_options = ctl.animate_options.__class__(frames=3, animated_layer=True)
    ctl.animate()
    answer(ctl, client, "result", client.last("animate")[0],
           {"job_id": "k", "model_id": "m-1", "fps": 10.0, "seed": 2}, [image()] * 3)
    assert adapter.animations[-1][3] is True


def test_animate_lifts_the_frames_to_the_layers_size_when_asked(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    ctl.animate_options = ctl.animate_options.__class__(frames=2, lift=True)
    ctl.animate()
    rid, _, body, _ = client.last("animate")
    assert body["lift"] is True
    answer(ctl, client, "result", rid, {"job_id": "j", "model_id": "m-1", "fps": 10.0, "seed": 1},
           [image()] * 2)
    assert adapter.animations == [("sunset animation", 2, 10.0, False)]


def test_backend_errors_become_docker_messages(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    ctl.generate()
    rid = client.last("generate")[0]
    answer(ctl, client, "error", rid, {"code": "too_large", "message": "Make the picture smaller.",
                                       "job_id": None})
    assert not ctl.jobs and ctl.level == "error"
    assert ctl.message == "Generating 2 × “sunset” failed: Make the picture smaller."


def test_adapter_errors_are_reported_not_raised(world):
    ctl, backend, adapter, clock = world
    connect(ctl, backend)
    adapter.fail_with = UserFacingError("This layer uses CMYK colour.")
    ctl.train()
    assert ctl.message == "This layer uses CMYK colour." and ctl.level == "error"
    adapter.fail_with = RuntimeError("boom")
    ctl.paint_options = None
    ctl.upscale()
    assert "went wrong inside the SinGAN plugin" in ctl.message


def test_cancel_before_accepted_is_sent_once_the_job_id_is_known(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.train()
    rid = client.last("train")[0]
    ctl.cancel(rid)
    assert not [s for s in client.sent if s[1] == "cancel"]
    answer(ctl, client, "accepted", rid, {"job_id": "j9", "position": 1, "lane": "train"})
    assert client.last("cancel")[2] == {"job_id": "j9"}
    answer(ctl, client, "cancelled", rid, {"job_id": "j9"})
    assert not ctl.jobs and "cancelled" in ctl.message


def test_views_reflect_document_state_changes(world):
    ctl, backend, adapter, clock = world
    connect(ctl, backend, [MODEL])
    ctl.tick()
    assert ctl.view().reasons["edit"] == "Select the area you changed first (any selection tool)."
    adapter.doc = adapter.doc.__class__(**{**adapter.doc.__dict__, "has_selection": True})
    seen = []
    ctl.subscribe(lambda: seen.append(1))
    ctl.tick()
    assert seen and ctl.view().reasons["edit"] is None


def test_delete_model_refreshes_the_list(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    ctl.delete_model("m-1")
    answer(ctl, client, "reply", client.last("delete_model")[0], {})
    answer(ctl, client, "reply", client.last("list_models")[0], {"models": []})
    assert ctl.models == [] and ctl.selected is None


# ---- a training job, the backend gone and back -----------------------------------------

def train_until_the_backend_stops(world, accepted=True):
    """A training job sent (and accepted as j1, unless not `accepted`), then the backend
    stops and the docker notices. Returns (the old client, the request id)."""
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.train()
    rid = client.last("train")[0]
    if accepted:
        answer(ctl, client, "accepted", rid, {"job_id": "j1", "position": 0, "lane": "train"})
    backend.stop()
    clock.advance(SETTINGS.reconnect_interval_s + 0.1)
    ctl.tick()
    return client, rid


def restart(world):
    """The backend started again (it resumes journaled training jobs) and the docker
    reconnected to it. Returns the new client."""
    ctl, backend, adapter, clock = world
    backend.start(key="k2", pid=43)
    clock.advance(SETTINGS.reconnect_interval_s + 0.1)
    ctl.tick()
    client = backend.client
    client.push("reply", client.last("hello")[0], {"version": "1.0"})
    ctl.connection.on_readable()
    client.push("reply", client.last("list_models")[0], {"models": []})
    ctl.connection.on_readable()
    return client


def next_poll(world):
    ctl, backend, adapter, clock = world
    clock.advance(SETTINGS.poll_interval_s + 0.1)
    ctl.tick()


def test_jobs_survive_a_backend_restart_through_fetch_result(world):
    ctl = world[0]
    client, rid = train_until_the_backend_stops(world)
    assert ctl.connection.state is State.NOT_RUNNING and client.closed
    assert ctl.jobs[rid].lost
    new = restart(world)
    next_poll(world)
    pid, _, body, _ = new.last("fetch_result")
    assert body == {"job_id": "j1"}
    answer(ctl, new, "reply", pid, {"job_id": "j1", "state": "running", "fraction": 0.5})
    assert ctl.jobs[rid].fraction == 0.5
    next_poll(world)
    pid = new.last("fetch_result")[0]
    answer(ctl, new, "result", pid, {"job_id": "j1", "model_id": "m-1", "name": "sunset"})
    assert not ctl.jobs and ctl.selected == "m-1"


def test_a_job_never_accepted_is_reported_lost_when_the_backend_stops(world):
    ctl = world[0]
    train_until_the_backend_stops(world, accepted=False)
    assert not ctl.jobs and "was lost" in ctl.message


# ---- replies that arrive during the send (a fast backend, a drained socket) -------------

def test_a_quick_reply_during_the_send_reaches_its_handler(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    client.answer_at_once("list_models", "reply", {"models": [MODEL]})
    ctl.refresh_models()
    assert ctl.models == [MODEL] and ctl.selected == "m-1"
    assert not ctl._quick


def test_a_job_result_during_the_send_places_the_result_and_keeps_its_message(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    client.answer_at_once("generate", "result", {"job_id": "j", "model_id": "m-1", "seed": 5},
                          [image(64, 48)])
    ctl.generate()
    assert adapter.added and adapter.added[0][2] == "sunset · seed 5"
    assert not ctl.jobs and "seed 5" in ctl.message


def test_a_resumed_job_whose_poll_is_answered_during_the_send_finishes(world):
    ctl = world[0]
    _, rid = train_until_the_backend_stops(world)
    new = restart(world)
    new.answer_at_once("fetch_result", "reply", {"job_id": "j1", "state": "running",
                                                 "fraction": 0.35})
    next_poll(world)
    assert ctl.jobs[rid].fraction == pytest.approx(0.35) and ctl.jobs[rid].poll_id is None
    new.answer_at_once("fetch_result", "result", {"job_id": "j1", "model_id": "m-1",
                                                  "name": "sunset"})
    next_poll(world)  # polled again (not stuck "reconnected"), and the result lands
    assert not ctl.jobs and ctl.selected == "m-1" and not ctl._polls


# ---- the model list --------------------------------------------------------------------

SR = dict(MODEL, id="up-1", name="sunset x2 upscale", kind="sr", for_sr=True,
          created="2026-01-03T10:00:00+00:00")


def test_super_resolution_models_are_listed_apart_and_never_picked(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL, SR])  # the SR model is the newest
    view = ctl.view()
    assert [m["id"] for m in view.models] == ["m-1"] and [m["id"] for m in view.sr_models] == ["up-1"]
    assert ctl.selected == "m-1"
    ctl.select_model("up-1")
    assert ctl.selected == "m-1"
    ctl.paint()
    assert client.last("paint")[2]["model_id"] == "m-1"


def test_only_super_resolution_models_means_no_model_for_generating(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [SR])
    assert ctl.selected is None and ctl.selected_model() is None
    ctl.generate()
    assert "Train a model first" in ctl.message
    assert not [s for s in client.sent if s[1] == "generate"]


def test_an_unfinished_model_is_not_picked_over_a_finished_one(world):
    ctl, backend, adapter, clock = world
    newer = dict(MODEL, id="m-2", created="2026-02-01T00:00:00+00:00", complete=False)
    connect(ctl, backend, [MODEL, newer])
    assert ctl.selected == "m-1"


# ---- quitting Krita --------------------------------------------------------------------

def test_an_adopted_backend_is_stopped_when_krita_quits(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)  # found running: this Krita did not start it
    assert not ctl.process.running
    client.answer_at_once("shutdown", "reply", {})
    ctl.shutdown(wait_s=1.0)
    assert client.last("shutdown") and client.closed


def test_a_backend_the_painter_keeps_is_left_running(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.set_keep_backend(True)
    assert ctl.view().keep_backend and adapter.settings["keep_backend"] == "true"
    again = Controller(SETTINGS, adapter, ctl.connection, ctl.process, clock=clock)
    assert again.keep_backend  # the painter's choice outlives the Krita session
    ctl.shutdown(wait_s=1.0)
    assert not [s for s in client.sent if s[1] == "shutdown"] and client.closed


def test_a_training_preview_reaches_the_docker(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)
    ctl.train()
    rid = client.last("train")[0]
    answer(ctl, client, "accepted", rid, {"job_id": "j1", "position": 0, "lane": "train"})
    answer(ctl, client, "progress", rid, {"job_id": "j1", "task": "train", "scale": 2,
                                          "num_scales": 5, "iteration": 1, "total": 10,
                                          "fraction": 0.42, "eta_s": 30.0, "elapsed_s": 9.0,
                                          "preview_scale": 2}, [image(8, 6, order="RGBA")])
    (job,) = ctl.view().jobs
    assert (job.preview.width, job.preview.height) == (8, 6)
    assert job.preview_caption == "A sample after 2 of 5 scales"


def test_instant_variations_need_no_model_and_land_where_the_layer_is(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend)  # no model at all
    assert ctl.view().reasons["instant"] is None and ctl.view().reasons["generate"] is not None
    adapter.layer_size = (40, 30)
    ctl.variation_options = ctl.variation_options.__class__(count=3, seed=4)
    ctl.instant()
    rid, _, body, images = client.last("instant")
    assert body == {"n": 3, "width": 40, "height": 30, "seed": 4}  # the layer's own size
    assert len(images) == 1 and images[0].channel_order == "BGRA"
    answer(ctl, client, "result", rid, {"job_id": "j", "seed": 4, "count": 3, "width": 4,
                                        "height": 3}, [image()] * 3)
    place, names, group, _, results = adapter.added[0]
    assert (place.x, place.y) == (2, 3) and names == ["instant 1", "instant 2", "instant 3"]
    assert group == "Background instant · seed 4" and "3 instant variations" in ctl.message


def test_where_krita_cannot_import_an_animation_the_opt_in_is_refused(world):
    ctl, backend, adapter, clock = world
    client = connect(ctl, backend, [MODEL])
    adapter.animated_layer_refused = "Krita 5.1.5's animation import crashed Krita in our tests."
    assert "crashed" in ctl.view().animated_layer_problem
    ctl.animate_options = ctl.animate_options.__class__(frames=2, animated_layer=True)
    ctl.animate()
    answer(ctl, client, "result", client.last("animate")[0],
           {"job_id": "j", "model_id": "m-1", "fps": 10.0, "seed": 1}, [image()] * 2)
    assert adapter.animations[-1][3] is False  # frames in a group, whatever the checkbox said
