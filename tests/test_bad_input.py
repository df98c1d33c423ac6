"""Every user-facing input, fed nonsense: the app (through gradio_client) and the CLI (subprocesses).

Each bad input must give one clear line (the gr.Error text arrives as the AppError message; the CLI exits
non-zero with one `error: ...` line on stderr), the app must still answer a normal request afterwards,
nothing may be written into the checkout, and nothing hostile may run: a zip entry that climbs out of
the upload folder never lands, a Hub repo that only carries a pickle is never unpickled.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

from app_server import REPO_ROOT, in_process_app, listing_changes, repo_listing

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

WEIGHTS = REPO_ROOT / "weights"
NAN, INF = math.nan, math.inf
EVIL = f"ganstudio-evil-{uuid.uuid4().hex[:12]}"  # names of files a hostile input tries to create

# ---- base requests that work; each case changes one input ------------------------------------------

SAMPLE = ("digits-dcgan", 0, 4, 1.0, -1)
EXPLORE = (*SAMPLE, "sefa", 0, 0, 0, 0, 0, 0)
INTERPOLATE = ("digits-dcgan", 0, 1, 4, "slerp", 1.0, -1)
GENERATE = ("shakespeare-gpt", "Hi", 3, 0.8, 40, 1.0, 1.0, 0, "full speed")
ATTENTION = ("shakespeare-gpt", "The king", 0, False)
TRAIN = ("ring8", None, "mlp", "ns", 0, 2, 64, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999)
# endpoint -> (base inputs, input names in order, for readable case ids)
ENDPOINTS = {
    "sample": (SAMPLE, ["spec", "seed", "n", "psi", "class"]),
    "explore": (EXPLORE, ["spec", "seed", "n", "psi", "class", "method"] + [f"slider_{i}" for i in range(1, 7)]),
    "interpolate": (INTERPOLATE, ["spec", "seed_a", "seed_b", "steps", "mode", "psi", "class"]),
    "compare": ((0, 8), ["seed", "n"]),
    "generate": (GENERATE, ["model", "prompt", "max_new_tokens", "temperature", "top_k", "top_p",
                            "repetition_penalty", "seed", "pace"]),
    "attention": (ATTENTION, ["model", "prompt", "continue", "positions_off"]),
    "gan_attention": ((None, 0, -1, 10, 10, -1, -1, False), ["spec", "seed", "class", "x", "y", "layer", "head", "off"]),  # spec: a SAGAN folder
    "train_start": (TRAIN, ["data", "upload", "arch", "loss", "steps", "seconds", "batch", "z_dim", "lr_g", "lr_d",
                            "d_steps", "ema", "sn", "diffaug", "conditional", "seed", "pack", "r1", "grad_clip",
                            "family", "beta1", "beta2"]),
}

# (endpoint, {input: bad value}, regex the one-line message must match)
CASES = [
    # Explore: sample grid
    ("sample", {"spec": ""}, r"choose a generator"),
    ("sample", {"spec": "no-such-model"}, r"no-such-model"),
    ("sample", {"spec": "../../etc"}, r"no config\.json|no model folder"),
    ("sample", {"spec": "/nonexistent/dir"}, r"no model folder"),
    ("sample", {"spec": "모델/😀"}, r"owner/name|repo id"),
    ("sample", {"spec": "x" * 5000}, r"characters long"),
    ("generate", {"model": "y" * 5000}, r"characters long"),
    ("sample", {"spec": "shakespeare-gpt"}, r"not a GAN Studio generator"),
    ("sample", {"seed": -1}, r"minimum|seed"),
    ("sample", {"seed": 2**40}, r"maximum|seed"),
    ("sample", {"seed": NAN}, r"seed|number"),
    ("sample", {"seed": "abc"}, r"seed|number"),
    ("sample", {"n": 0}, r"number of samples|minimum"),
    ("sample", {"n": 10**9}, r"number of samples|maximum"),
    ("sample", {"psi": NAN}, r"ψ|psi|finite"),
    ("sample", {"psi": INF}, r"ψ|psi|finite|maximum"),
    ("sample", {"psi": 100}, r"ψ|psi|maximum"),
    ("sample", {"class": 3}, r"unconditional"),
    ("sample", {"class": "abc"}, r"class"),
    # Explore: sliders
    ("explore", {"method": "bogus"}, r"bogus|choices|method"),
    ("explore", {"slider_1": NAN}, r"slider 1|finite"),
    ("explore", {"slider_2": 1e9}, r"slider 2|maximum"),
    ("explore", {"slider_3": "up"}, r"direction 3: must be a number"),
    # Explore: interpolation
    ("interpolate", {"steps": 1}, r"steps|minimum"),
    ("interpolate", {"steps": 10**6}, r"steps|maximum"),
    ("interpolate", {"mode": "cubic"}, r"cubic|choices|mode"),
    ("interpolate", {"seed_b": -3}, r"minimum|seed"),
    # Explore: one seed, three generators
    ("compare", {"seed": -1}, r"minimum|seed"),
    ("compare", {"seed": NAN}, r"seed|number"),
    ("compare", {"n": 0}, r"minimum|samples per generator"),
    ("compare", {"n": 10**6}, r"maximum|samples per generator"),
    # Text
    ("generate", {"model": ""}, r"no model given"),
    ("generate", {"model": "nobody/nothing"}, r"cache|offline|not found|reach"),
    ("generate", {"model": "digits-dcgan"}, r"digits-dcgan"),
    ("generate", {"prompt": ""}, r"prompt is empty"),
    ("generate", {"max_new_tokens": 0}, r"max_new_tokens|minimum"),
    ("generate", {"max_new_tokens": 10**9}, r"max_new_tokens|maximum"),
    ("generate", {"max_new_tokens": NAN}, r"max_new_tokens|number|integer"),
    ("generate", {"temperature": -1}, r"temperature|minimum"),
    ("generate", {"temperature": NAN}, r"temperature|number"),
    ("generate", {"top_k": -5}, r"top_k|minimum"),
    ("generate", {"top_p": 0}, r"top_p|minimum"),
    ("generate", {"top_p": 7}, r"top_p|maximum"),
    ("generate", {"repetition_penalty": 0}, r"repetition_penalty|minimum"),
    ("generate", {"seed": -1}, r"seed|minimum"),
    ("generate", {"seed": "soon"}, r"seed|number|integer"),
    ("generate", {"pace": "slowly"}, r"pace.*slowly"),
    # Attention
    ("attention", {"model": ""}, r"no model given"),
    ("attention", {"prompt": ""}, r"prompt is empty"),
    ("attention", {"continue": -1}, r"Tokens to generate first|minimum"),
    ("attention", {"continue": 10**6}, r"Tokens to generate first|maximum"),
    ("attention", {"continue": NAN}, r"Tokens to generate first|number"),
    ("attention", {"continue": "lots"}, r"Tokens to generate first"),
    ("attention", {"positions_off": "maybe"}, r"remove position embeddings must be true or false"),
    # Train
    ("train_start", {"data": "nope"}, r"nope|choices|data"),
    ("train_start", {"data": "upload"}, r"upload a zip"),
    ("train_start", {"arch": "dcgan"}, r"2D point set"),
    ("train_start", {"loss": "bogus"}, r"bogus|choices|loss"),
    ("train_start", {"family": "diffusion"}, r"diffusion|choices|model family"),
    ("train_start", {"steps": -5}, r"steps|minimum"),
    ("train_start", {"steps": 10**12}, r"steps"),
    ("train_start", {"seconds": NAN}, r"seconds"),
    ("train_start", {"seconds": INF}, r"seconds"),
    ("train_start", {"batch": 0}, r"batch|minimum"),
    ("train_start", {"batch": 10**9}, r"batch size"),
    ("train_start", {"z_dim": 10**7}, r"latent size"),
    ("train_start", {"lr_g": NAN}, r"G learning rate"),
    ("train_start", {"lr_d": -1}, r"D learning rate"),
    ("train_start", {"lr_g": 1e6}, r"G learning rate"),
    ("train_start", {"d_steps": 0}, r"D steps|minimum"),
    ("train_start", {"ema": 1.5}, r"EMA|maximum"),
    ("train_start", {"diffaug": ["warp"]}, r"warp|choices"),
    ("train_start", {"seed": "abc"}, r"seed|number|integer"),
    ("train_start", {"beta1": 1.0}, r"beta 1 of G"),
    ("train_start", {"beta2": -0.5}, r"beta 2 of G"),
]


def _case_id(case) -> str:
    endpoint, change, _ = case
    (name, value), = change.items()
    shown = repr(value) if len(repr(value)) < 20 else f"{type(value).__name__}[{len(repr(value))}]"
    return f"{endpoint}-{name}={shown}"


# ---- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The in-process app, and a record of every error it sent: [(kind, message)].

    kind is "studio" for a gr.Error (our one-line StudioError messages, and Gradio's own bound checks),
    "type" for Gradio refusing a value of the wrong JSON type before any of our code runs, and the
    exception's class name for anything else: a handler that crashed (a bug).
    """
    import gradio.queueing
    import torch
    from gradio.exceptions import ComponentProcessingError
    from gradio_client.exceptions import AppError as ServerAppError

    torch.set_num_threads(1)
    errors: list[tuple[str, str]] = []
    original = gradio.queueing.error_payload

    def spy(error, show_error):
        if isinstance(error, ServerAppError):
            kind = "studio"
        elif isinstance(error, ComponentProcessingError):
            kind = "type"
        else:
            kind = type(error).__name__
        errors.append((kind, str(error)))
        return original(error, show_error)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")  # no real Hub here; the tests that need one bring the loopback Hub
        mp.setattr(gradio.queueing, "error_payload", spy)
        with in_process_app(tmp_path_factory.mktemp("app-data")) as url:
            yield RunningApp(url, errors)


class RunningApp:
    """The app's URL and its error record (a short repr: failure reports stay readable)."""

    def __init__(self, url: str, errors: list[tuple[str, str]]):
        self.url, self.errors = url, errors

    def __repr__(self) -> str:
        return f"RunningApp({self.url})"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}… ({len(text)} chars)"


@pytest.fixture(scope="module")
def client(app):
    return gradio_client.Client(app.url, verbose=False)


# Files teammates may be editing in this shared checkout while the tests run; the app never writes these.
SOURCE_SUFFIXES = (".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".sh", ".yml", ".yaml")


@pytest.fixture(autouse=True)
def checkout_untouched():
    """Nothing a test does may write into the checkout."""
    before = repo_listing()
    yield
    changes = [p for p in listing_changes(before, repo_listing(), ignore_prefixes=_weights_in_training())
               if not p.endswith(SOURCE_SUFFIXES)]
    assert not changes, f"files in the checkout changed: {changes[:5]}"


def _weights_in_training() -> tuple[str, ...]:
    """Bundled weights teammates may be re-training and re-saving right now (the app only reads them;
    a hostile upload aiming there is caught by its file names, see ``evil_files``)."""
    return ("weights/",)


def evil_files() -> list[Path]:
    """Files named after EVIL anywhere a hostile input could have put them."""
    roots = {Path("/tmp"), Path("/"), REPO_ROOT, Path.home(), Path.cwd(), Path(os.environ.get("TMPDIR", "/tmp"))}
    found = []
    for root in roots:
        try:
            found += [p for p in root.iterdir() if p.name.startswith(EVIL)]
        except OSError:
            continue
    return found


def _has_non_finite(args) -> bool:
    return any(isinstance(v, float) and not math.isfinite(v) for v in args)


def call_raw(url: str, endpoint: str, args: list) -> str:
    """POST the inputs as JSON with NaN / Infinity literals (gradio_client refuses to send those, a
    hand-written request need not); return the error message the app streams back."""
    body = json.dumps({"data": args}, allow_nan=True).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/{endpoint}", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{endpoint}/{event_id}", timeout=120) as response:
        stream = response.read().decode()
    assert "event: error" in stream, f"no error for {args}: {stream[-300:]}"
    payload = stream.split("event: error", 1)[1].split("data:", 1)[1].strip().splitlines()[0]
    return json.loads(payload)["error"]


def bad_call(app, client, endpoint: str, change: dict) -> str:
    """Send one request with `change` applied; return the error message after checking it is clear."""
    url, errors = app.url, app.errors
    base, names = ENDPOINTS[endpoint]
    args = list(base)
    for name, value in change.items():
        args[names.index(name)] = value
    seen = len(errors)
    if _has_non_finite(args):
        message = call_raw(url, endpoint, args)
    else:
        with pytest.raises(AppError) as info:
            client.predict(*args, api_name=f"/{endpoint}")
        message = str(info.value)
    assert len(errors) > seen, "the app answered an error without raising one?"
    kind, _ = errors[-1]
    assert kind in ("studio", "type"), f"a handler crashed on {_short(change)}: {kind}: {_short(message)}"
    message = message.strip()
    assert message and "Traceback" not in message, message
    if kind == "type":  # Gradio's own multi-line refusal of a wrongly typed value (API callers only)
        assert _has_non_finite(change.values()) or any(isinstance(v, str) for v in change.values()), message
        return " ".join(message.split())
    assert "\n" not in message and len(message) < 400, f"not one clear line: {message!r}"
    return message


def still_serves(client) -> None:
    image = client.predict("digits-dcgan", 0, 1, 1.0, -1, api_name="/sample")
    assert Path(image).is_file()


# ---- every input, one wrong value at a time ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_value_gives_one_clear_line(app, client, case):
    endpoint, change, expected = case
    message = bad_call(app, client, endpoint, change)
    assert re.search(expected, message, re.IGNORECASE), f"unclear message for {_short(change)}: {_short(message)}"
    still_serves(client)


@pytest.fixture(scope="module")
def sagan_folder(tmp_path_factory) -> str:
    """A freshly initialised attention GAN saved the way the app saves (the bundled one may still be training)."""
    import torch

    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    torch.manual_seed(0)
    spec = GanSpec(arch="sagan", z_dim=16, channels=1, image_size=16, width=8)
    parts = GanParts(spec=spec, generator=build_generator(spec).eval(), data="test", data_kind="image")
    return str(save_gan(tmp_path_factory.mktemp("gans") / "sagan", parts))


GAN_ATTENTION_CASES = [
    ({"spec": ""}, r"no GAN model"),
    ({"spec": "digits-dcgan"}, r"no attention layers"),
    ({"spec": "shakespeare-gpt"}, r"not a GAN Studio generator"),
    ({"x": 999}, r"outside"),
    ({"y": -4}, r"minimum|outside"),
    ({"x": NAN}, r"x|number"),
    ({"seed": -1}, r"seed|minimum"),
    ({"seed": 2**70}, r"seed"),
    ({"layer": 3}, r"layer 4 does not exist: this generator has 1 attention layer"),
    ({"head": 1}, r"head 2 does not exist: self-attention 1 has 1 head"),
    ({"head": "two"}, r"head"),
    ({"layer": -2}, r"layer"),
    ({"off": "maybe"}, r"attention off|boolean|true or false"),
]


@pytest.mark.parametrize("change, expected", GAN_ATTENTION_CASES, ids=[_case_id(("gan", c, e)) for c, e in GAN_ATTENTION_CASES])
def test_gan_attention_bad_value(app, client, sagan_folder, change, expected):
    message = bad_call(app, client, "gan_attention", {"spec": sagan_folder, **change})
    assert re.search(expected, message, re.IGNORECASE), f"unclear message for {change}: {message!r}"
    still_serves(client)


# ---- inputs that are odd but fine -------------------------------------------------------------------


def test_unicode_and_huge_prompts_work(client):
    odd = "Ünïcödé 😀 中文 — ROMEO\x00?\n"
    result = client.predict("shakespeare-gpt", odd, 3, 0.8, 40, 1.0, 1.0, 0, "full speed", api_name="/generate")
    assert result["prompt_tail"] == odd and result["text"]
    huge = "To be, or not to be. " * 2000  # ~10k tokens, far past the context
    job = client.submit("shakespeare-gpt", huge, 2, 0.8, 40, 1.0, 1.0, 0, "full speed", api_name="/generate")
    result = job.result(timeout=120)
    assert result["text"] and "cut" in job.outputs()[0]["note"]  # the note says the prompt was cut
    assert len(job.outputs()[0]["prompt_tail"]) < 3000  # the page is not sent the whole prompt back
    payload, note = client.predict("shakespeare-gpt", huge, 0, False, api_name="/attention")
    assert payload["view"]["n"] <= 512 and "cut" in note
    still_serves(client)


# ---- broken model folders ---------------------------------------------------------------------------


def _copy_model(name: str, dest: Path) -> Path:
    folder = dest / name
    shutil.copytree(WEIGHTS / name, folder)
    return folder


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("broken")
    out = {}
    for model in ("digits-dcgan", "shakespeare-gpt"):
        truncated = _copy_model(model, root / "truncated")
        weights = truncated / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        out[f"{model}-truncated"] = truncated
        garbage = _copy_model(model, root / "garbage-config")
        (garbage / "config.json").write_text("{not json at all", encoding="utf-8")
        out[f"{model}-garbage-config"] = garbage
    wrong = _copy_model("digits-dcgan", root / "wrong-shapes")
    config = json.loads((wrong / "config.json").read_text())
    config["z_dim"] += 7  # weights no longer fit
    (wrong / "config.json").write_text(json.dumps(config))
    out["digits-dcgan-wrong-shapes"] = wrong
    unknown = _copy_model("digits-dcgan", root / "unknown-type")
    (unknown / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    out["digits-dcgan-unknown-type"] = unknown
    gpt_wrong = _copy_model("shakespeare-gpt", root / "wrong-shapes")
    config = json.loads((gpt_wrong / "config.json").read_text())
    config["n_embd"] = config["n_embd"] * 2
    (gpt_wrong / "config.json").write_text(json.dumps(config))
    out["shakespeare-gpt-wrong-shapes"] = gpt_wrong
    return out


@pytest.mark.parametrize(
    "model, expected",
    [
        ("digits-dcgan-truncated", r"unreadable model\.safetensors"),
        ("digits-dcgan-garbage-config", r"malformed config\.json"),
        ("digits-dcgan-wrong-shapes", r"shape mismatch|do not fit"),
        ("digits-dcgan-unknown-type", r"llama"),
    ],
)
def test_broken_generator_folder(app, client, broken_models, model, expected):
    for endpoint in ("sample", "interpolate"):
        message = bad_call(app, client, endpoint, {"spec": str(broken_models[model])})
        assert re.search(expected, message), message
    still_serves(client)


@pytest.mark.parametrize(
    "model, expected",
    [
        ("shakespeare-gpt-truncated", r"unreadable model\.safetensors"),
        ("shakespeare-gpt-garbage-config", r"malformed config\.json"),
        ("shakespeare-gpt-wrong-shapes", r"do not fit|shape|n_embd"),
    ],
)
def test_broken_gpt_folder(app, client, broken_models, model, expected):
    message = bad_call(app, client, "generate", {"model": str(broken_models[model])})
    assert re.search(expected, message), message
    message = bad_call(app, client, "attention", {"model": str(broken_models[model])})
    assert re.search(expected, message), message
    still_serves(client)


# ---- uploads ----------------------------------------------------------------------------------------


def _png_bytes(shade: int = 128) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (16, 16), shade).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name as given ('..', '/')
    return path


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("uploads")
    images = {f"digits/{i}.png": _png_bytes(i * 20) for i in range(4)}
    good = _zip(root / "good.zip", images)
    truncated = root / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    not_zip = root / "not-a-zip.zip"
    not_zip.write_bytes(b"this is not a zip archive \x00\x01" * 100)
    return {
        "climbs out": _zip(root / "slip.zip", {**images, f"../../{EVIL}-a.png": _png_bytes(),
                                               f"digits/../../../../{EVIL}-b.png": _png_bytes()}),
        "absolute": _zip(root / "absolute.zip", {**images, f"/tmp/{EVIL}-c.png": _png_bytes()}),
        "truncated": truncated,
        "not a zip": not_zip,
        "no images": _zip(root / "text.zip", {f"notes/{i}.png": b"not really a png" for i in range(4)}),
        "empty": _zip(root / "empty.zip", {}),
    }


@pytest.mark.parametrize(
    "upload, expected",
    [
        ("climbs out", r"archive rejected.*outside"),
        ("absolute", r"archive rejected.*absolute"),
        ("truncated", r"not a zip|unreadable|corrupt|truncated"),
        ("not a zip", r"not a zip"),
        ("no images", r"image"),
        ("empty", r"image|empty"),
    ],
)
def test_bad_upload_is_rejected_and_writes_nothing(app, client, uploads, upload, expected):
    change = {"data": "upload", "upload": handle_file(str(uploads[upload])), "arch": "dcgan"}
    message = bad_call(app, client, "train_start", change)
    assert re.search(expected, message, re.IGNORECASE), message
    assert not evil_files(), f"an archive entry escaped: {evil_files()}"
    assert client.predict(api_name="/train_poll")[0].startswith("idle"), "a rejected upload started a run"
    still_serves(client)


# ---- a Hub repo that only has pickle weights ----------------------------------------------------------


class _Boobytrap:
    """Unpickling this creates the marker file (what a hostile pytorch_model.bin could do, harmlessly)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_repo(config: dict, marker: Path) -> dict[str, bytes]:
    return {"config.json": json.dumps(config).encode(), "pytorch_model.bin": pickle.dumps(_Boobytrap(marker)),
            "README.md": b"# looks harmless\n"}


@pytest.fixture
def pickle_hub(hub_server, tmp_path):
    """The loopback Hub with evil/gan and evil/gpt: config.json + pytorch_model.bin (a booby-trapped pickle)."""
    marker = tmp_path / f"{EVIL}-unpickled"
    gan_config = json.loads((WEIGHTS / "digits-dcgan" / "config.json").read_text())
    gpt_config = json.loads((WEIGHTS / "shakespeare-gpt" / "config.json").read_text())
    hub_server.add_repo("evil/gan", {"main": _pickle_repo(gan_config, marker)})
    hub_server.add_repo("evil/gpt", {"main": {**_pickle_repo(gpt_config, marker),
                                              "tokenizer.json": (WEIGHTS / "shakespeare-gpt" / "tokenizer.json").read_bytes()}})
    return hub_server, marker


def test_pickle_only_hub_repo_is_refused_and_never_unpickled(app, client, pickle_hub):
    hub, marker = pickle_hub
    for endpoint, change in [("sample", {"spec": "evil/gan"}), ("explore", {"spec": "evil/gan"}),
                             ("generate", {"model": "evil/gpt"}), ("attention", {"model": "evil/gpt"})]:
        message = bad_call(app, client, endpoint, change)
        assert "pickle" in message and "pytorch_model.bin" in message, message
    assert not marker.exists(), "the pickle was unpickled"
    downloads = [r for r in hub.requests if r.method == "GET" and r.filename == "pytorch_model.bin"]
    assert not downloads, "the pickle was downloaded"
    still_serves(client)


# ---- the CLI ----------------------------------------------------------------------------------------


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "ganstudio", *args], cwd=REPO_ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_cli_error(proc: subprocess.Popen, expected: str) -> None:
    stdout, stderr = proc.communicate(timeout=180)
    lines = stderr.strip().splitlines()
    assert proc.returncode != 0, f"exit 0 for bad input; stdout {stdout[-300:]!r}"
    assert "Traceback" not in stderr, stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error:"), f"stderr is not one error line: {lines[-5:]}"
    assert re.search(expected, lines[0], re.IGNORECASE), lines[0]


@pytest.mark.slow
def test_cli_bad_inputs(broken_models, uploads, pickle_hub, tmp_path):
    """A few commands, run side by side (each pays seconds for importing torch on a loaded machine)."""
    hub, marker = pickle_hub
    out = tmp_path / "out"
    cases = [
        (["sample", "--model", str(broken_models["digits-dcgan-garbage-config"]), "--n", "4", "--out",
          str(out / "grid.png")], r"malformed config\.json"),
        (["train", "--data", str(uploads["climbs out"]), "--arch", "dcgan", "--steps", "1", "--out", str(out / "gan")],
         r"archive rejected"),
    ]
    running = [(start_cli(*args), expected) for args, expected in cases]
    hub_run = start_cli("attention", "--model", "evil/gpt", "--prompt", "Hi", "--out", str(tmp_path / "a.npz"),
                        env={"HF_HUB_OFFLINE": "0"})
    for proc, expected in running:
        assert_cli_error(proc, expected)
    assert_cli_error(hub_run, r"pickle")
    assert not marker.exists(), "the pickle was unpickled"
    assert not [r for r in hub.requests if r.method == "GET" and r.filename == "pytorch_model.bin"]
    assert not out.exists() and not (tmp_path / "a.npz").exists(), "a failed command wrote its output"
    assert not evil_files()
