"""One model cache for Explore, Attention and Text: one entry per model version, shared by the tabs, a visitor's
runs gone when their session ends."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ganstudio.actions.model_cache import MODELS


def _save_sagan(folder: Path, seed: int) -> Path:
    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    torch.manual_seed(seed)
    spec = GanSpec(arch="sagan", z_dim=16, channels=1, image_size=16, width=8)
    return save_gan(folder, GanParts(spec=spec, generator=build_generator(spec).eval(), data="test"))


def _entries_under(folder: Path) -> list:
    return [key for key in MODELS.keys() if key.folder.startswith(str(folder.resolve()))]


def test_explore_and_attention_share_a_run_see_it_saved_again_and_drop_it_with_the_session(tmp_path):
    from ganstudio.actions import explore
    from ganstudio.actions.attention import gan_attention
    from ganstudio.actions.visitors import end_session, session_of
    from ganstudio.sessions import Run

    owner, name = "cache-visitor", "run 1 · digits · sagan"
    folder = _save_sagan(tmp_path / "run", seed=0)
    session_of(owner).add_run(Run(name=name, job_id="none", task=SimpleNamespace(saved=True), folder=folder, params={}))

    explore.sample_grid(name, seed=1, n=4, owner=owner)
    first = np.asarray(gan_attention(name, seed=1, owner=owner)["image"])
    assert len(_entries_under(folder)) == 1  # both tabs use the one loaded generator

    _save_sagan(folder, seed=1)  # the visitor saves the run again, into the same folder
    second = np.asarray(gan_attention(name, seed=1, owner=owner)["image"])
    assert not np.array_equal(first, second), "Attention showed the run's old weights"
    assert len(_entries_under(folder)) == 1  # the old version is not kept beside it
    assert np.array_equal(second, np.asarray(gan_attention(name, seed=1, owner=owner)["image"]))

    end_session(owner)
    assert _entries_under(folder) == []


def test_text_and_attention_load_a_gpt_once():
    from ganstudio.actions.attention import text_attention
    from ganstudio.actions.text import loaded_gpt

    MODELS.clear()
    first = loaded_gpt("shakespeare-gpt")
    text_attention("shakespeare-gpt", "To be")
    assert loaded_gpt("shakespeare-gpt") is first
    assert [key.kind for key in MODELS.keys()] == ["gpt"]
