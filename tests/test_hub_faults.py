"""A hostile or broken Hub (the loopback server, see hub_server.py) and who pushes with which token.

Downloads that trickle, stall or break off, configs that are huge, deep or describe gigantic models:
each ends in one line, in time, without allocating the model, and never blocks the engine's worker
for other visitors. Pushing: a visitor's push carries the visitor's token and only reaches namespaces
that token may write to; the server's own token is never sent for a visitor.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time

import pytest
import torch
from app_server import REPO_ROOT
from hub_server import TEST_TOKEN, Hold, Silent, Slow, Stall, Truncate, model_files
from waiting import HANG_S

from ganstudio import hub, hub_push, settings
from ganstudio.errors import BadInput, BadModel, OfflineError, StudioError

WEIGHTS = REPO_ROOT / "weights"
DEADLINE_S = 3.0  # GANSTUDIO_DOWNLOAD_TIMEOUT_S for these tests


def _bundled(name: str) -> dict[str, bytes]:
    folder = WEIGHTS / name
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def short_deadline(monkeypatch):
    monkeypatch.setattr(settings, "SETTINGS", dataclasses.replace(settings.SETTINGS, download_timeout_s=DEADLINE_S))


@pytest.fixture
def hostile(hub_server):
    """acme/slow (weights trickle), acme/stalled, acme/truncated, and configs that are too much.

    Downloads given up on finish in their own threads; the next test waits for them (they share the
    HTTP client's connection pool)."""
    gan = _bundled("digits-dcgan")
    for name in ("slow", "stalled", "truncated"):
        hub_server.add_repo(f"acme/{name}", {"main": gan})
    config = json.loads(gan["config.json"])
    huge_gpt = {"model_type": "gpt2", "n_embd": 4096, "n_layer": 100, "n_head": 32, "vocab_size": 50257}
    absurd_gpt = {"model_type": "gpt2", "n_embd": 10**6, "n_layer": 10**4, "n_head": 1}
    wide_gan = {**config, "arch": "mlp", "hidden": 20000, "depth": 100}
    hub_server.add_repo("acme/huge-gpt", {"main": model_files(huge_gpt)})
    hub_server.add_repo("acme/absurd-gpt", {"main": model_files(absurd_gpt)})
    hub_server.add_repo("acme/wide-gan", {"main": model_files(wide_gan)})
    hub_server.add_repo("acme/deep", {"main": {"config.json": b'{"a":' * 3000 + b"1" + b"}" * 3000,
                                               "model.safetensors": gan["model.safetensors"]}})
    hub_server.add_repo("acme/big-config", {"main": {"config.json": b'{"pad": "' + b"x" * 3_000_000 + b'"}',
                                                     "model.safetensors": gan["model.safetensors"]}})
    yield hub_server
    hub_server.behave.clear()
    for thread in threading.enumerate():
        if thread.name == "ganstudio-download":
            thread.join(HANG_S)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- downloads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour, repo, expected", [
    (Slow(chunk=1, delay_s=2.0), "acme/slow", r"download of model\.safetensors from acme/slow failed: it took longer"),
    (Stall(after=1000, hold_s=6), "acme/stalled", r"download of model\.safetensors from acme/stalled failed"),
    (Truncate(after=1000), "acme/truncated", r"download of model\.safetensors from acme/truncated failed"),
])
def test_broken_downloads_fail_in_time_with_one_line(hostile, short_deadline, behaviour, repo, expected):
    from ganstudio.gan.io import resolve_gan

    hostile.behave["model.safetensors"] = behaviour
    start = time.monotonic()
    with pytest.raises(StudioError, match=expected) as err:
        resolve_gan(repo)
    elapsed = time.monotonic() - start
    assert not isinstance(err.value, OfflineError), "a broken download is not 'offline'"
    assert "\n" not in str(err.value), str(err.value)
    assert elapsed < HANG_S, f"a broken download held its visitor {elapsed:.0f} s"  # the deadline bounds it


@pytest.mark.parametrize("silent_file", ["config.json", "model.safetensors"])
def test_a_hub_that_says_nothing_is_answered_within_its_silence(hostile, monkeypatch, silent_file):
    """The Hub accepts the request and then sends nothing at all: the visitor hears one line once the allowed
    silence (2 s here) has passed, well before the whole download's deadline (the default 300 s), and a later
    try, the Hub answering again, starts clean. huggingface_hub alone retried its read timeouts for a minute."""
    from ganstudio.actions import explore

    monkeypatch.setattr(settings, "SETTINGS", dataclasses.replace(settings.SETTINGS, hub_read_timeout_s=2.0))
    repo = f"acme/quiet-{silent_file.split('.')[0]}"  # one per case: a model that loaded once stays loaded
    hostile.add_repo(repo, {"main": _bundled("digits-dcgan")})
    hostile.behave[silent_file] = Silent(hold_s=120)
    start = time.monotonic()
    with pytest.raises(StudioError, match=rf"download of {silent_file} from {repo} failed: the Hub sent nothing for 2 s"):
        explore.sample_grid(repo, seed=0, n=4)
    waited = time.monotonic() - start  # 2 s of silence; the whole download's deadline is 300 s, the old code ~66 s
    assert waited < HANG_S, f"answered after {waited:.0f} s of silence"
    hostile.behave.clear()
    assert explore.sample_grid(repo, seed=0, n=4)["image"]  # the next try downloads afresh


def test_a_hub_download_never_holds_other_visitors(hostile):
    """The GAN-attention path downloads a generator off the worker: while the download is held mid-file, another
    visitor's sample comes back."""
    from ganstudio.actions import attention, explore

    held = hostile.behave["model.safetensors"] = Hold(after=1000)
    download = threading.Thread(target=lambda: _capture([], lambda: attention.gan_attention("acme/slow", 0)))
    download.start()
    try:
        assert held.sending.wait(HANG_S), "the download never started"
        grid = explore.sample_grid("digits-dcgan", seed=1, n=4)
        assert grid["image"] is not None and download.is_alive(), "sampling waited for the Hub download"
    finally:
        held.release.set()
        download.join(HANG_S)


def _capture(out: list, work) -> None:
    try:
        work()
    except StudioError as err:
        out.append(str(err))


@pytest.mark.parametrize("repo, loader, expected", [
    ("acme/huge-gpt", "gpt", r"MB, more than the .*GANSTUDIO_MAX_MODEL_MB"),
    ("acme/absurd-gpt", "gpt", r"n_embd = 1000000 \(must be between 1 and"),
    ("acme/wide-gan", "gan", r"hidden must be between 4 and 4096"),
    ("acme/deep", "gan", r"nested more than 20 levels"),
    ("acme/big-config", "gan", r"config\.json is 3,000,01\d bytes"),
])
def test_oversized_configs_are_refused_before_allocation(hostile, repo, loader, expected):
    from ganstudio.gan.io import load_gan_spec
    from ganstudio.gpt.load import load_gpt

    before = _rss_mb()
    with pytest.raises(BadModel, match=expected) as err:
        (load_gpt if loader == "gpt" else load_gan_spec)(repo)
    assert repo in str(err.value) and "snapshots" not in str(err.value)  # named as the visitor named it
    assert _rss_mb() - before < 300, "the model was allocated before its size was checked"


def test_a_dead_hub_is_offline_and_names_the_bundled_models(hub_server):
    hub_server.add_repo("acme/gone", {"main": _bundled("digits-dcgan")})
    hub_server.stop()
    with pytest.raises(OfflineError, match="digits-dcgan"):
        hub.resolve("acme/gone")


# ---- the CLI, one line per fault ---------------------------------------------------------------------


def _cli(hub_server, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_ENDPOINT": hub_server.url, "HF_HUB_OFFLINE": "0", "OMP_NUM_THREADS": "1",
           "HF_HUB_CACHE": str(REPO_ROOT / "test-artifacts" / f"hf-cache-{os.getpid()}"),
           "GANSTUDIO_DOWNLOAD_TIMEOUT_S": str(DEADLINE_S), "NO_PROXY": "127.0.0.1,localhost",
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "ganstudio", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_cli_hub_faults_are_one_line_each(hostile, tmp_path):
    out = str(tmp_path / "grid.png")
    hostile.behave["model.safetensors"] = Stall(after=1000, hold_s=6)
    cases = [
        (["sample", "--model", "acme/stalled", "--out", out], r"download of model\.safetensors .* failed"),
        (["sample", "--model", "acme/wide-gan", "--out", out], r"hidden must be between"),
        (["sample", "--model", "acme/deep", "--out", out], r"nested more than"),
        (["sample", "--model", "acme/nothing-here", "--out", out], r"not found"),
        (["generate", "--model", "acme/huge-gpt", "--prompt", "Hi"], r"GANSTUDIO_MAX_MODEL_MB"),
        (["generate", "--model", "acme/absurd-gpt", "--prompt", "Hi"], r"n_embd"),
        (["attention", "--model", "acme/big-config", "--prompt", "Hi", "--out", str(tmp_path / "a.npz")],
         r"bytes"),
    ]
    for args, expected in cases:
        result = _cli(hostile, *args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (args, result.stderr[-500:])
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, lines[-5:])
        assert "Traceback" not in result.stderr and "terminate called" not in result.stderr
        assert re.search(expected, lines[0]), (args, lines[0])
    hostile.fail_with = (500, "internal error")
    result = _cli(hostile, "sample", "--model", "acme/slow", "--out", out)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr[-500:]


# ---- pushing with whose token --------------------------------------------------------------------------

SERVER_TOKEN = "hf_theSpaceOwnersOwnSecret000"  # the host's token: it must never be sent for a visitor


@pytest.fixture
def saved_run(tmp_path):
    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    torch.manual_seed(0)
    spec = GanSpec(arch="mlp", z_dim=2, hidden=8, depth=1)
    return save_gan(tmp_path / "run", GanParts(spec=spec, generator=build_generator(spec).eval(), data="ring8",
                                               data_kind="2d"))


def test_a_visitor_pushes_with_their_own_token_only_to_their_namespaces(hub_server, saved_run, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SERVER_TOKEN)  # the Space's own secret is set...
    with pytest.raises(BadInput, match="cannot write to 'someone-else'"):
        hub_push.push_to_hub(saved_run, "someone-else/their-model", token=TEST_TOKEN, use_login=False)
    assert not hub_server.has_repo("someone-else/their-model")
    with pytest.raises(BadInput, match="sign in"):
        hub_push.push_to_hub(saved_run, "me/my-gan", token=None, use_login=False)
    url = hub_push.push_to_hub(saved_run, "me/my-gan", token=TEST_TOKEN, use_login=False)
    assert url.endswith("/me/my-gan") and "model.safetensors" in hub_server.files("me/my-gan")
    hub_push.push_to_hub(saved_run, "acme/team-gan", token=TEST_TOKEN, use_login=False)  # an organisation of theirs
    sent = {r.authorization for r in hub_server.requests}
    assert f"Bearer {SERVER_TOKEN}" not in sent, "the server's token was sent for a visitor"
    assert sent <= {f"Bearer {TEST_TOKEN}", None}


def test_on_a_space_the_push_action_refuses_without_a_login(hub_server, monkeypatch):
    from ganstudio.actions import train

    monkeypatch.setenv("HF_TOKEN", SERVER_TOKEN)
    monkeypatch.setattr(train, "SETTINGS", dataclasses.replace(train.SETTINGS, on_space=True))
    with pytest.raises(BadInput, match="sign in with Hugging Face"):
        train.push_checkpoint("visitor-without-login", "me/my-gan")
    assert hub_server.count() == 0
