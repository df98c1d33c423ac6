"""Explore tab: directions, interpolation, and the actions the UI calls (offline, CPU, seeded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn
from waiting import HANG_S, queued_calls, wait_until, worker_held

from ganstudio.actions import explore, generators
from ganstudio.actions.model_cache import MODELS, key_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput, BadModel, ModelNotFound, StudioError
from ganstudio.gan import interpolate as interp
from ganstudio.gan.directions import (
    directions,
    ganspace_directions,
    sefa_directions,
    z_axis_directions,
)
from ganstudio.settings import SETTINGS

torch.set_num_threads(1)


class TinyGenerator(nn.Module):
    """A stand-in that keeps the generator contract: z_proj first, first_features = its output."""

    def __init__(self, z_dim: int = 12, n_classes: int = 0, out_kind: str = "image", size: int = 8):
        super().__init__()
        self.z_dim, self.n_classes, self.out_kind, self.size = z_dim, n_classes, out_kind, size
        self.z_proj = nn.Linear(z_dim + n_classes, 48)
        self.head = nn.Linear(48, 2 if out_kind == "2d" else size * size)

    def first_features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.n_classes).float()], dim=1)
        return self.z_proj(z)  # (B, F)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = torch.tanh(self.head(torch.relu(self.first_features(z, y))))
        return out if self.out_kind == "2d" else out.view(-1, 1, self.size, self.size)  # (B, 2) | (B, 1, H, W)


def _tiny(**kwargs) -> TinyGenerator:
    torch.manual_seed(0)
    return TinyGenerator(**kwargs).eval()


@pytest.fixture
def stand_ins(monkeypatch):
    """Register stand-in generators under the specs "tiny", "tiny-cond" and "tiny-2d"."""
    gens = {"tiny": _tiny(), "tiny-cond": _tiny(n_classes=3), "tiny-2d": _tiny(out_kind="2d", z_dim=4)}
    real_resolve = generators.resolve

    def resolve(spec, owner, progress=None):
        return (spec, Path("/nonexistent") / spec) if spec in gens else real_resolve(spec, owner, progress)

    monkeypatch.setattr(generators, "resolve", resolve)
    MODELS.clear()
    for name, gen in gens.items():
        key = key_of("gan", Path("/nonexistent") / name)
        get_engine().run(lambda k=key, n=name, g=gen: MODELS.get_or_load(k, lambda: generators._wrap(k, g, n, "tiny")))
    yield gens
    MODELS.clear()


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


# ---- directions ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["sefa", "ganspace", "z"])
def test_directions_are_orthonormal_float32(method):
    dirs = directions(_tiny(), method, 6)
    assert dirs.shape == (6, 12) and dirs.dtype == np.float32
    np.testing.assert_allclose(dirs @ dirs.T, np.eye(6), atol=1e-5)


def test_sefa_is_the_top_eigenvectors_of_the_normalised_weight():
    gen = _tiny()
    a = gen.z_proj.weight.detach().double().numpy()[:, : gen.z_dim]
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    eigvals, eigvecs = np.linalg.eigh(a.T @ a)
    top = eigvecs[:, ::-1][:, :3].T  # strongest first
    dirs = sefa_directions(gen, 3)
    np.testing.assert_allclose(np.abs(np.sum(dirs * top, axis=1)), 1.0, atol=1e-5)
    assert np.array_equal(dirs, sefa_directions(gen, 3))  # same signs every time


def test_ganspace_finds_the_layers_principal_axes():
    # The first layer is linear, so its activations' principal axes map back to W's right-singular vectors.
    gen = _tiny()
    u, _, vt = np.linalg.svd(gen.z_proj.weight.detach().double().numpy(), full_matrices=False)
    strengths = np.geomspace(4.0, 0.1, len(vt))  # well-separated, so each principal axis is well defined
    with torch.no_grad():
        gen.z_proj.weight.copy_(torch.from_numpy(u * strengths @ vt))
    dirs = ganspace_directions(gen, 3, n_samples=4096, seed=0)
    assert np.abs(np.sum(dirs * vt[:3], axis=1)).min() > 0.99
    assert np.array_equal(dirs, ganspace_directions(gen, 3, n_samples=4096, seed=0))


def test_directions_reject_bad_requests():
    with pytest.raises(BadInput, match="between 1 and z_dim=12"):
        sefa_directions(_tiny(), 13)
    with pytest.raises(BadInput, match="unknown direction method"):
        directions(_tiny(), "ica", 2)
    np.testing.assert_array_equal(z_axis_directions(4, 2), np.eye(2, 4))


# ---- interpolation ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["slerp", "lerp"])
def test_latent_path_hits_both_endpoints(mode):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    path = interp.latent_path(a, b, 7, mode)
    assert path.shape == (7, 64)
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)


def test_slerp_keeps_gaussian_norms_where_lerp_shrinks_them():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(256), rng.standard_normal(256)
    mid_slerp, mid_lerp = interp.slerp(a, b, 0.5), interp.lerp(a, b, 0.5)
    assert np.linalg.norm(mid_slerp) > 0.9 * min(np.linalg.norm(a), np.linalg.norm(b))
    assert np.linalg.norm(mid_lerp) < 0.8 * min(np.linalg.norm(a), np.linalg.norm(b))


def test_gif_has_every_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), (i * 40, 0, 0)) for i in range(4)]
    path = interp.encode_gif(frames, tmp_path / "a.gif", bounce=False)
    with Image.open(path) as gif:
        assert gif.n_frames == 4


# ---- actions on stand-in generators ----------------------------------------------------


def test_same_seed_same_grid_other_seed_other_grid(stand_ins):
    a = explore.sample_grid("tiny", seed=3, n=9)
    b = explore.sample_grid("tiny", seed=3, n=9)
    c = explore.sample_grid("tiny", seed=4, n=9)
    assert a["latents"].shape == (9, 12)
    assert _same(a["image"], b["image"]) and np.array_equal(a["latents"], b["latents"])
    assert not _same(a["image"], c["image"])


def test_one_sample_grid_shows_the_first_sample(stand_ins):
    one = explore.sample_grid("tiny", seed=5, n=1)["latents"]
    four = explore.sample_grid("tiny", seed=5, n=4)["latents"]
    assert np.array_equal(one, four[:1])


def test_truncation_zero_gives_the_mean_sample_everywhere(stand_ins):
    latents = explore.sample_grid("tiny", seed=1, n=4, truncation_psi=0.0)["latents"]
    assert not latents.any()


@pytest.mark.parametrize("method", ["sefa", "ganspace", "z"])
def test_sliders_at_zero_reproduce_the_sample_and_move_it_otherwise(stand_ins, method):
    plain = explore.sample_grid("tiny", seed=2, n=4, truncation_psi=0.8)["image"]
    at_zero = explore.explore("tiny", 2, 4, 0.8, None, method, [0.0] * 6)
    moved = explore.explore("tiny", 2, 4, 0.8, None, method, [0.0, 4.0, 0, 0, 0, 0])
    assert _same(plain, at_zero)
    assert not _same(plain, moved)


def test_saved_latents_are_the_moved_ones(stand_ins):
    paths = explore.export("tiny", 2, 4, 1.0, None, "z", [3.0])
    latents = np.load(paths["npy_path"])
    expected = explore.sample_grid("tiny", seed=2, n=4)["latents"]
    expected[:, 0] += 3.0
    np.testing.assert_allclose(latents, expected, atol=1e-6)
    on_screen = explore.explore("tiny", 2, 4, 1.0, None, "z", [3.0])
    with Image.open(paths["png_path"]) as png:
        assert png.width >= 2 * on_screen.width  # enlarged for the file
        assert _same(png.resize(on_screen.size, Image.NEAREST), on_screen)


def test_interpolation_starts_and_ends_on_the_two_seeds(stand_ins):
    out = explore.interpolate("tiny", seed_a=7, seed_b=8, steps=5, mode="slerp")
    assert len(out["frames"]) == 5
    assert _same(out["frames"][0], explore.sample_grid("tiny", seed=7, n=1)["image"])
    assert _same(out["frames"][-1], explore.sample_grid("tiny", seed=8, n=1)["image"])
    with Image.open(out["gif_path"]) as gif:
        assert gif.n_frames >= 5
    assert out["strip"].width > 4 * out["strip"].height  # one row of 5 frames
    if interp.ffmpeg_executable() is None:
        assert out["mp4_path"] is None
    else:
        assert Path(out["mp4_path"]).stat().st_size > 0


def test_conditional_generator_follows_the_class(stand_ins):
    any_class = explore.sample_grid("tiny-cond", seed=0, n=3)["image"]
    class_two = explore.sample_grid("tiny-cond", seed=0, n=3, class_id=2)["image"]
    assert not _same(any_class, class_two)
    with pytest.raises(BadInput, match="class must be between 0 and 2"):
        explore.sample_grid("tiny-cond", seed=0, n=3, class_id=3)
    with pytest.raises(BadInput, match="unconditional"):
        explore.sample_grid("tiny", seed=0, n=3, class_id=1)


def test_2d_generator_draws_a_scatter(stand_ins):
    image = explore.sample_grid("tiny-2d", seed=0, n=8)["image"]
    assert image.size == (explore.SCATTER_PX, explore.SCATTER_PX)
    assert not _same(image, explore.explore("tiny-2d", 0, 8, 1.0, None, "sefa", [5.0]))


def test_slider_labels_name_the_direction(stand_ins):
    labels = explore.direction_labels("tiny", "sefa", 3)
    assert len(labels) == 3 and labels[0].startswith("SeFa 1")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=65), "number of samples must be between 1 and 64"),
        (dict(n=0), "number of samples must be between 1 and 64"),
        (dict(seed=-1), "seed must be between"),
        (dict(seed=1.5), "seed must be a whole number"),
        (dict(truncation_psi=float("nan")), "truncation ψ must be a finite number"),
        (dict(truncation_psi=2.0), "truncation ψ must be between 0 and 1.5"),
        (dict(slider_values=[11.0]), "slider 1 must be between -10 and 10"),
        (dict(slider_values=[0.0, float("nan")]), "slider 2 must be a finite number"),
        (dict(slider_values=[0.0] * 17), "at most 16 slider values"),
        (dict(method="ica"), "unknown direction method"),
        (dict(spec=""), "choose a generator"),
    ],
)
def test_bad_input_is_one_clear_line(stand_ins, kwargs, message):
    args = dict(spec="tiny", seed=0, n=4, truncation_psi=1.0, class_id=None, method="sefa", slider_values=[1.0])
    args.update(kwargs)
    with pytest.raises(BadInput, match=message) as err:
        explore.explore(**args)
    assert "\n" not in str(err.value)


def test_interpolation_rejects_bad_steps_and_mode(stand_ins):
    with pytest.raises(BadInput, match="steps must be between 2 and 64"):
        explore.interpolate("tiny", 0, 1, steps=1)
    with pytest.raises(BadInput, match="unknown interpolation mode"):
        explore.interpolate("tiny", 0, 1, steps=4, mode="cubic")


# ---- real architectures, saved and loaded the way the app does it -----------------------


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Freshly initialised GAN Studio generators written with save_gan: {name: folder}."""
    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    root = tmp_path_factory.mktemp("gans")
    specs = {
        "dcgan": (GanSpec(arch="dcgan", z_dim=16, channels=1, image_size=16, width=8), "image", None),
        "cdcgan": (GanSpec(arch="dcgan", z_dim=16, n_classes=4, channels=1, image_size=16, width=8), "image", None),
        "mlp": (GanSpec(arch="mlp", z_dim=2, hidden=16, depth=2), "2d", {"extent": [-3, 3, -2, 2]}),
    }
    folders = {}
    for name, (spec, kind, toy) in specs.items():
        torch.manual_seed(0)
        parts = GanParts(spec=spec, generator=build_generator(spec).eval(), data="test", data_kind=kind, toy=toy)
        folders[name] = str(save_gan(root / name, parts))
    MODELS.clear()
    yield folders
    MODELS.clear()


def test_saved_dcgan_loads_samples_and_steers(saved_models):
    spec = saved_models["dcgan"]
    first = explore.sample_grid(spec, seed=0, n=16)
    assert first["latents"].shape == (16, 16)
    assert _same(first["image"], explore.sample_grid(spec, seed=0, n=16)["image"])
    assert not _same(first["image"], explore.sample_grid(spec, seed=1, n=16)["image"])
    for method in ("sefa", "ganspace", "z"):
        assert _same(first["image"], explore.explore(spec, 0, 16, 1.0, None, method, [0.0] * 6))
        assert not _same(first["image"], explore.explore(spec, 0, 16, 1.0, None, method, [0.0, 0.0, 8.0]))
    out = explore.interpolate(spec, 0, 1, steps=4)
    assert _same(out["frames"][0], explore.sample_grid(spec, seed=0, n=1)["image"])


def test_saved_conditional_dcgan_draws_the_chosen_class(saved_models):
    spec = saved_models["cdcgan"]
    assert explore.model_info(spec)["n_classes"] == 4
    plain = explore.sample_grid(spec, seed=0, n=4)["image"]  # classes 0, 1, 2, 3
    only_three = explore.sample_grid(spec, seed=0, n=4, class_id=3)["image"]
    assert not _same(plain, only_three)
    with pytest.raises(BadInput, match="class must be between 0 and 3"):
        explore.explore(spec, 0, 4, 1.0, 4, "sefa", [1.0])


def test_saved_2d_generator_uses_the_training_sets_axes(saved_models):
    spec = saved_models["mlp"]
    assert explore.model_info(spec)["data_kind"] == "2d"
    assert generators.load(spec, "cli").extent == (-3.0, 3.0, -2.0, 2.0)
    image = explore.sample_grid(spec, seed=0, n=8)["image"]
    assert image.size == (explore.SCATTER_PX, explore.SCATTER_PX)
    with pytest.raises(BadInput, match="at most 2 sliders"):
        explore.explore(spec, 0, 8, 1.0, None, "sefa", [1.0, 1.0, 1.0])
    moved = explore.explore(spec, 0, 8, 1.0, None, "sefa", [1.0, 1.0, 0, 0, 0, 0])  # spare sliders at 0 are fine
    assert _same(moved, explore.explore(spec, 0, 8, 1.0, None, "sefa", [1.0, 1.0]))
    out = explore.interpolate(spec, 0, 1, steps=3, mode="lerp")
    assert len(out["frames"]) == 3 and Path(out["gif_path"]).exists()


def test_your_trained_model_appears_for_its_session_only(saved_models):
    from types import SimpleNamespace

    from ganstudio.actions.visitors import end_session, session_of
    from ganstudio.sessions import Run

    name = "run 1 · digits · dcgan"
    session_of("me").add_run(Run(name=name, job_id="none", task=SimpleNamespace(saved=True),
                                 folder=Path(saved_models["dcgan"]), params={}))
    assert generators.list_generators("me")[-1] == name
    assert name not in generators.list_generators("someone-else")
    mine = explore.sample_grid(name, seed=2, n=4, owner="me")["image"]
    assert _same(mine, explore.sample_grid(saved_models["dcgan"], seed=2, n=4)["image"])
    with pytest.raises(StudioError, match="unknown model"):  # another visitor cannot open it by its name
        explore.sample_grid(name, seed=2, n=4, owner="someone-else")
    session_of("me").runs.clear()  # the folder belongs to the fixture, not to the session
    end_session("me")


def test_session_downloads_are_removed_when_the_session_ends(stand_ins):
    from ganstudio.actions.visitors import end_session

    paths = explore.export("tiny", 0, 4, 1.0, None, "sefa", [1.0], owner="leaving")
    assert Path(paths["npy_path"]).exists()
    end_session("leaving")
    assert not Path(paths["npy_path"]).exists() and not Path(paths["png_path"]).exists()


def _folder_files(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


def test_hub_generator_by_revision_and_gpt_repo_refused(saved_models, hub_server, tmp_path):
    gpt = tmp_path / "gpt"
    gpt.mkdir()
    (gpt / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 1}))
    save_file({"wte.weight": torch.zeros(4, 2)}, str(gpt / "model.safetensors"))
    hub_server.add_repo("acme/digits", {"main": _folder_files(saved_models["mlp"]),
                                        "v1": _folder_files(saved_models["dcgan"])})  # fmt: skip
    hub_server.add_repo("acme/gpt", {"main": _folder_files(str(gpt))})
    assert explore.model_info("acme/digits")["data_kind"] == "2d"
    assert explore.model_info("acme/digits@v1")["data_kind"] == "image"
    local = explore.sample_grid(saved_models["dcgan"], seed=3, n=4)["image"]
    assert _same(local, explore.sample_grid("acme/digits@v1", seed=3, n=4)["image"])
    with pytest.raises(BadModel, match="acme/gpt: not a GAN Studio generator"):
        explore.explore("acme/gpt", 0, 4, 1.0, None, "sefa", [1.0])


# ---- bundled models --------------------------------------------------------------------

BUNDLED = SETTINGS.weights_dir / "digits-dcgan"


def test_bundled_digits_generator_samples_and_steers():
    MODELS.clear()
    assert "digits-dcgan" in generators.list_generators("test-owner")
    first = explore.sample_grid("digits-dcgan", seed=0, n=16)
    again = explore.sample_grid("digits-dcgan", seed=0, n=16)
    assert _same(first["image"], again["image"])
    assert first["image"].size[0] >= 4 * 28
    for method in ("sefa", "ganspace"):
        assert _same(first["image"], explore.explore("digits-dcgan", 0, 16, 1.0, None, method, [0.0] * 6))
        assert not _same(first["image"], explore.explore("digits-dcgan", 0, 16, 1.0, None, method, [6.0]))


def test_a_gpt_folder_is_not_a_generator(tmp_path):
    folder = tmp_path / "tiny-gpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 1}))
    save_file({"wte.weight": torch.zeros(4, 2)}, str(folder / "model.safetensors"))
    pytest.importorskip("ganstudio.hub")
    with pytest.raises(BadModel, match="not a GAN Studio generator"):
        explore.sample_grid(str(folder), seed=0, n=4)


def test_unknown_model_is_reported():
    pytest.importorskip("ganstudio.hub")
    with pytest.raises(ModelNotFound, match="unknown model 'no-such-generator-anywhere'"):
        explore.sample_grid("no-such-generator-anywhere", seed=0, n=4)
    with pytest.raises(StudioError):  # offline here: a Hub id that is not cached cannot be fetched
        explore.sample_grid("someone/no-such-generator", seed=0, n=4)


# ---- the tab's API ---------------------------------------------------------------------


def test_tab_exposes_sample_and_explore_and_turns_errors_into_gradio_errors():
    gr = pytest.importorskip("gradio")
    from ganstudio.ui.explore_tab import K_SLIDERS, build_explore_tab, on_sample

    with gr.Blocks() as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("Explore"):
                build_explore_tab({"tabs": tabs})
    endpoints = demo.get_api_info(all_endpoints=True)["named_endpoints"]
    params = {name: [p["parameter_name"] for p in endpoints[name]["parameters"]] for name in ("/sample", "/explore")}
    assert params["/sample"] == ["spec", "seed", "n", "psi", "class_id"]
    assert params["/explore"] == params["/sample"] + ["method"] + [f"slider_{i + 1}" for i in range(K_SLIDERS)]
    with pytest.raises(gr.Error, match="choose a generator"):
        on_sample("", 0, 16, 1.0, -1, None)


def test_requests_that_arrive_together_share_one_forward_pass():
    """Six visitors sampling while the worker is busy: one batched forward, each gets its own grid, the same
    (to within one grey level in a few pixels: float sums differ in the last bit with the batch size) as alone."""
    import threading

    MODELS.clear()
    alone = {seed: np.asarray(explore.sample_grid("digits-dcgan", seed=seed, n=4)["image"], dtype=np.int16)
             for seed in range(6)}
    engine = get_engine()
    before = dict(engine.batch_stats)
    results: dict[int, np.ndarray] = {}
    visitors = [threading.Thread(target=lambda s=seed: results.__setitem__(
        s, np.asarray(explore.sample_grid("digits-dcgan", seed=s, n=4, owner=f"v{s}")["image"], dtype=np.int16)))
        for seed in range(6)]
    with worker_held(engine):  # the worker is busy: the requests queue up together
        for visitor in visitors:
            visitor.start()
        wait_until(lambda: queued_calls(engine) == 6, "six requests to queue")
    for visitor in visitors:
        visitor.join(HANG_S)
    batches = engine.batch_stats["batches"] - before["batches"]
    calls = engine.batch_stats["calls"] - before["calls"]
    assert calls == 6 and batches < 6, f"{calls} requests ran in {batches} forward passes"
    for seed in range(6):
        difference = np.abs(results[seed] - alone[seed])
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01, seed


def test_visitors_arriving_together_load_a_generator_and_its_directions_once(monkeypatch):
    """Twenty visitors' first grids at once: one load and one SeFa computation, not one each."""
    import threading

    from ganstudio.gan import directions as directions_module
    from ganstudio.gan import io as gan_io

    loads, computes = [], []
    real_load, real_directions = gan_io.load_gan, directions_module.directions
    monkeypatch.setattr(gan_io, "load_gan", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    monkeypatch.setattr(directions_module, "directions", lambda *a, **k: computes.append(1) or real_directions(*a, **k))
    MODELS.clear()
    go = threading.Barrier(8)

    def visitor(i: int) -> None:
        go.wait()
        explore.explore("digits-dcgan", i, 4, method="sefa", slider_values=[1.0], owner=f"visitor-{i}")

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    MODELS.clear()
    assert len(loads) == 1 and len(computes) == 1, (len(loads), len(computes))


def test_one_seed_three_generators_asks_each_for_the_same_digits():
    """The strip: the same latents through the bundled DCGAN, SAGAN and TransGAN, each with its card's figures;
    all three read the class off z, so a column shows one digit drawn three ways."""
    from ganstudio.actions import compare
    from ganstudio.gan.classifier import load_classifier, predict_proba
    from ganstudio.gan.io import load_gan
    from ganstudio.gan.latents import latents

    result = compare.compare_generators(seed=5, n=16)
    assert [row["model"] for row in result["rows"]] == ["digits-dcgan", "digits-sagan", "digits-transgan"]
    wanted = latents(16, 64, 5)[:, :10].argmax(1)  # class_from_z: the digit each column asks for
    classifier = load_classifier()
    for row in result["rows"]:
        strip = row["image"]
        assert strip.width > 10 * strip.height  # one row of 16 digits
        assert _same(strip, explore.sample_strip(row["model"], 5, 16))  # the seed's first 16, as Explore draws them
        config = json.loads((SETTINGS.weights_dir / row["model"] / "config.json").read_text())
        assert row["steps"] == config["steps"] and row["figures"]["confident"] == config["metrics"]["confident"]
        drawn = predict_proba(classifier, load_gan(SETTINGS.weights_dir / row["model"]).sample(16, seed=5)).argmax(1)
        assert (drawn == wanted).sum() >= 12, (row["model"], drawn, wanted)
    with pytest.raises(BadInput, match="samples per generator"):
        compare.compare_generators(seed=0, n=0)
    with pytest.raises(BadInput, match="seed"):
        compare.compare_generators(seed=-1, n=4)
