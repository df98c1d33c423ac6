"""Where models come from: bundled names, local folders and Hugging Face Hub repos.

``resolve(spec)`` turns a model spec into a local folder holding ``config.json`` and
``model.safetensors`` (plus tokenizer files and a card when the repo has them):

* a bundled name, e.g. ``"digits-dcgan"`` — a folder in ``SETTINGS.weights_dir``;
* a local folder path;
* a Hub repo ``owner/name`` with an optional ``@revision`` (branch, tag or commit sha).

Hub downloads are ``hub_download.py``'s: the usual cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and the
login token apply; a token is never printed. Pickle weights are never downloaded or opened. Every
failure is a one-line StudioError.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from ganstudio import settings
from ganstudio.checks import shown
from ganstudio.errors import BadInput, BadModel, ModelNotFound, StudioError
from ganstudio.hub_download import download, pickle_message
from ganstudio.hub_transfer import Progress
from ganstudio.weights_io import CONFIG_NAME, PICKLE_NAMES, WEIGHTS_NAME, read_config

REQUIRED_FILES = (CONFIG_NAME, WEIGHTS_NAME)
OPTIONAL_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "README.md")
KINDS = {"gpt2": "gpt", "ganstudio-gan": "gan", "ganstudio-classifier": "classifier"}
# config fields worth showing next to a bundled model's name (only those present are copied)
INFO_FIELDS = ("arch", "data", "dataset", "image_size", "channels", "z_dim", "n_layer", "n_head", "n_embd",
               "n_positions", "vocab_size", "description")

_BUNDLED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")


# ---------------------------------------------------------------------------------------- bundled models


def bundled_models() -> dict[str, dict]:
    """Bundled GAN and GPT models: ``{name: {"kind": "gan"|"gpt", "path": str, ...config fields}}``.

    Scans ``SETTINGS.weights_dir/*/config.json``; a missing or empty folder gives ``{}``
    (bundled weights may still be training). Classifiers and unreadable configs are skipped.
    """
    root = Path(settings.SETTINGS.weights_dir)
    models: dict[str, dict] = {}
    if not root.is_dir():
        return models
    for config_path in sorted(root.glob(f"*/{CONFIG_NAME}")):
        folder = config_path.parent
        if folder.name.startswith("."):  # half-written save_model temp folders
            continue
        try:
            config = read_config(folder)
            kind = _kind_of(config, folder)
        except BadModel:
            continue
        if kind not in ("gan", "gpt"):
            continue
        info: dict = {"kind": kind, "path": str(folder)}
        info.update({k: config[k] for k in INFO_FIELDS if isinstance(config.get(k), (str, int, float, bool))})
        models[folder.name] = info
    return models


def model_kind(folder: str | Path) -> str:
    """``"gan"``, ``"gpt"`` or ``"classifier"``, from ``config.json``'s ``model_type``.

    A GPT-2 config with ``n_embd`` but no ``model_type`` counts as ``"gpt"``; anything else is BadModel.
    """
    return _kind_of(read_config(folder), Path(folder))


def _kind_of(config: dict, folder: Path) -> str:
    model_type = config.get("model_type")
    if model_type in KINDS:
        return KINDS[model_type]
    if model_type is None and "n_embd" in config:
        return "gpt"
    raise BadModel(
        f"{folder.name}: unknown model_type {model_type!r} in {CONFIG_NAME} (expected one of {', '.join(KINDS)})"
    )


# ---------------------------------------------------------------------------------------- resolve


MAX_SPEC_CHARS = 1024  # longer than any path or repo id; refused before touching the file system


def resolve(
    spec: str,
    *,
    files: tuple[str, ...] = REQUIRED_FILES,
    optional: tuple[str, ...] = OPTIONAL_FILES,
    progress: Progress | None = None,
    allow_paths: bool = True,
    timeout_s: float | None = None,
    validate: Callable[[Path], None] | None = None,
    max_bytes: dict[str, int] | None = None,
) -> Path:
    """Resolve a model spec (bundled name, folder, or ``owner/name[@revision]``) to a local folder.

    ``files`` must all be there; ``optional`` files are fetched when the repo has them. For a Hub
    repo every file comes from one commit, and the returned folder is that commit's snapshot in
    the Hugging Face cache. ``progress`` receives human lines ("downloading model.safetensors
    (12.3 MB)…", "model.safetensors: 40%"). With ``allow_paths`` off (the web, on a public host)
    a spec never names a server folder. A Hub download has ``timeout_s`` in all (default
    ``SETTINGS.download_timeout_s``); call this off the engine's worker. ``validate(folder)`` runs as
    soon as the first file (``config.json``) is there, before the weights are fetched, so a config
    describing a model too large for this host never costs a download; weights larger than the
    memory budget are refused from their size alone, as is any file named in ``max_bytes`` above its limit.

    Raises ModelNotFound, OfflineError, BadModel or BadInput, each with a one-line message that
    never shows a server path.
    """
    report = progress or (lambda line: None)
    if spec is not None and not isinstance(spec, str):
        raise BadInput(f"a model must be named by text, got {shown(spec)}")
    spec = (spec or "").strip()
    files, optional = tuple(files), tuple(optional)
    if not files:
        raise BadInput("resolve() needs at least one required file")
    if not spec:
        raise BadInput(f"no model given: {_spec_help()}")
    bundled = _bundled_folder(spec)
    if bundled is not None:
        return _validated(check_folder(bundled, files, spec), validate)
    if len(spec) > MAX_SPEC_CHARS:
        raise ModelNotFound(f"unknown model {shown(spec)}: {len(spec)} characters is too long for a model spec")
    looks_like_path = spec.startswith(("/", ".", "~")) or "\\" in spec
    if not allow_paths:
        if looks_like_path:
            raise ModelNotFound(f"server folders cannot be opened here: {_spec_help(paths=False)}")
    else:
        local = Path(spec).expanduser()
        try:
            is_folder = local.is_dir()
        except OSError:  # e.g. a name too long for the file system
            is_folder = False
        if is_folder:
            return _validated(check_folder(local.resolve(), files, "that folder"), validate)
        if looks_like_path:
            raise ModelNotFound("no model folder at that path")
    repo_id, revision = parse_repo_spec(spec, paths=allow_paths)
    deadline = time.monotonic() + (settings.SETTINGS.download_timeout_s if timeout_s is None else timeout_s)
    offline_note = f"bundled models that work offline: {', '.join(bundled_models()) or 'none installed'}"
    return download(repo_id, revision, files, optional, report, deadline, validate, max_bytes or {}, offline_note)


def _validated(folder: Path, validate: Callable[[Path], None] | None) -> Path:
    if validate is not None:
        validate(folder)
    return folder


def _spec_help(paths: bool = True) -> str:
    names = ", ".join(bundled_models()) or "none installed"
    folder = "a model folder, " if paths else ""
    return f"use a bundled model ({names}), {folder}or a Hub repo id owner/name[@revision]"


def _bundled_folder(spec: str) -> Path | None:
    if not _BUNDLED_NAME.fullmatch(spec):
        return None
    folder = Path(settings.SETTINGS.weights_dir) / spec
    return folder if folder.is_dir() else None


def check_folder(folder: Path, files: tuple[str, ...], name: str) -> Path:
    missing = [file for file in files if not (folder / file).is_file()]
    if WEIGHTS_NAME in missing:
        pickles = [file for file in PICKLE_NAMES if (folder / file).exists()]
        if pickles:
            raise BadModel(pickle_message(name, pickles[0]))
    if missing:
        raise BadModel(f"{name}: no {missing[0]} in the model folder")
    return folder


def parse_repo_spec(spec: str, error: type[StudioError] = ModelNotFound, paths: bool = True) -> tuple[str, str]:
    """``owner/name[@revision]`` -> (repo_id, revision), validated before any network access."""
    repo_id, _, revision = spec.partition("@")
    revision = revision or "main"
    problem = None
    if repo_id.count("/") != 1:
        problem = "Hub repo ids look like owner/name"
    else:
        try:
            validate_repo_id(repo_id)
        except HFValidationError:
            problem = "a repo id uses letters, digits, '-', '_' or '.', no '--' or '..', at most 96 per part"
    if problem is None and (not _REVISION.fullmatch(revision) or ".." in revision or "//" in revision):
        problem = f"bad revision {shown(revision)} (use a branch, tag or commit sha)"
    if problem:
        if error is ModelNotFound:
            raise ModelNotFound(f"unknown model {shown(spec)}: {problem}; {_spec_help(paths)}")
        raise error(f"bad repo id {shown(spec)}: {problem}")
    return repo_id, revision
