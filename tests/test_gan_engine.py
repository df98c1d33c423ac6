"""The trainer as an engine job, driven through the Train actions (what the tab calls)."""

from __future__ import annotations

import time
import zipfile

import pytest
import torch

from ganstudio.actions import train as actions
from ganstudio.actions.visitors import end_session, session_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput
from ganstudio.gan.io import load_gan

torch.set_num_threads(1)
SMALL = {"batch_size": 32, "hidden": 16, "depth": 2, "seconds": 0}


def _wait(owner: str, states, timeout: float = 60.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = actions.poll_training(owner)
        if info["state"] in states:
            return info
        time.sleep(0.05)
    raise AssertionError(f"still {info['state']} after {timeout} s")


def test_run_to_completion_and_open_in_explore():
    owner = "test-complete"
    job_id = actions.start_training(owner, {"data": "ring8", "steps": 40, **SMALL})
    assert job_id
    info = _wait(owner, ("done", "failed"))
    assert info["state"] == "done", info["error"]
    snap = info["snapshot"]
    assert snap["step"] == 40 and snap["metrics"]["total_modes"] == 8
    assert "step 40/40" in info["text"]
    name = actions.latest_trained(owner)
    assert name == info["run"] and name in actions.trained_models(owner)
    folder = actions.trained_folder(owner, name)
    assert folder is not None and load_gan(folder).config["steps"] == 40
    assert actions.trained_folder("someone-else", name) is None  # runs are private to their session
    end_session(owner)
    assert not folder.exists(), "the session's files outlived it"


def test_pause_single_steps_stop_and_save():
    owner = "test-manual"
    actions.start_training(owner, {"data": "grid25", "steps": 0, **SMALL})
    _wait(owner, ("running",))
    actions.pause_training(owner)
    _wait(owner, ("paused",))
    with pytest.raises(BadInput, match="d', 'g' or 'both"):
        actions.single_step(owner, "x")
    step = actions.single_step(owner, "both")["snapshot"]["step"]  # a fresh count to compare against
    after_d = actions.single_step(owner, "d")["snapshot"]
    assert after_d["step"] == step  # a lone D update is not an iteration
    after_g = actions.single_step(owner, "g")["snapshot"]
    after_both = actions.single_step(owner, "both")["snapshot"]
    assert (after_g["step"], after_both["step"]) == (step + 1, step + 2)
    assert actions.poll_training(owner)["snapshot"]["step"] == step + 2  # the published snapshot follows
    zip_path = actions.save_checkpoint(owner)
    assert {"config.json", "model.safetensors", "README.md", "samples.png"} <= set(zipfile.ZipFile(zip_path).namelist())
    assert str(session_of(owner).folder) in zip_path  # written in the visitor's own folder
    result = actions.stop_training(owner)
    assert result["saved"] and load_gan(actions.trained_folder(owner, result["run"])).data_kind == "2d"
    info = actions.poll_training(owner)
    assert info["state"] == "done" and info["text"].startswith("stopped")
    with pytest.raises(BadInput, match="ended"):
        actions.single_step(owner, "d")
    end_session(owner)


def test_second_start_replaces_the_first_and_bad_params_fail_early():
    owner = "test-replace"
    first = actions.start_training(owner, {"data": "ring8", "steps": 0, **SMALL})
    with pytest.raises(BadInput, match="already training"):
        actions.start_training(owner, {"data": "moons", "steps": 5, **SMALL}, replace=False)
    second = actions.start_training(owner, {"data": "moons", "steps": 5, **SMALL})
    assert first != second
    old = get_engine().get(first)
    assert old is None or (old.finished and old.ended_by == "replaced by a new run")
    _wait(owner, ("done",))
    with pytest.raises(BadInput, match="learning rate"):
        actions.start_training(owner, {"data": "ring8", "lr_g": 5.0})
    with pytest.raises(BadInput, match="press Start"):
        actions.single_step("nobody", "d")
    actions.reset(owner)
    assert actions.poll_training(owner)["state"] == "idle"
    end_session(owner)


def test_divergence_fails_the_job_with_one_line():
    owner = "test-nan"
    actions.start_training(owner, {"data": "ring8", "steps": 0, **SMALL})
    _wait(owner, ("running",))
    actions.pause_training(owner)
    _wait(owner, ("paused",))
    task = session_of(owner).current.task
    get_engine().run(lambda: task.build().G.z_proj.weight.data.fill_(float("nan")))
    actions.resume_training(owner)
    info = _wait(owner, ("failed",))
    assert info["error"].startswith("training diverged at step")
    assert "stopped: training diverged" in info["text"]
    end_session(owner)
