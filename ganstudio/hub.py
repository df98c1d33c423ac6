"""Where models come from: bundled names, local folders and Hugging Face Hub repos.

``resolve(spec)`` turns a model spec into a local folder holding ``config.json`` and
``model.safetensors`` (plus tokenizer files and a card when the repo has them):

* a bundled name, e.g. ``"digits-dcgan"`` — a folder in ``SETTINGS.weights_dir``;
* a local folder path;
* a Hub repo ``owner/name`` with an optional ``@revision`` (branch, tag or commit sha).

Hub downloads go through ``huggingface_hub.hf_hub_download``, so the usual cache
(``HF_HUB_CACHE``), ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and the login token (``HF_TOKEN`` or
``hf auth login``) all apply; we never pass, print or log a token ourselves unless given one.
Pickle weights are never downloaded or opened. Every failure is a one-line StudioError.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Callable, NoReturn

import httpx2  # huggingface_hub's HTTP client: its TransportError means "no connection"
from huggingface_hub import (
    _CACHED_NO_EXIST,
    HfApi,
    constants,
    get_hf_file_metadata,
    get_token,
    hf_hub_download,
    hf_hub_url,
    try_to_load_from_cache,
)
from huggingface_hub.errors import (
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id
from tqdm.std import tqdm

from ganstudio import settings
from ganstudio.errors import BadInput, BadModel, ModelNotFound, OfflineError, StudioError
from ganstudio.weights_io import CONFIG_NAME, PICKLE_NAMES, WEIGHTS_NAME, read_config

Progress = Callable[[str], None]

REQUIRED_FILES = (CONFIG_NAME, WEIGHTS_NAME)
OPTIONAL_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "README.md")
KINDS = {"gpt2": "gpt", "ganstudio-gan": "gan", "ganstudio-classifier": "classifier"}
# config fields worth showing next to a bundled model's name (only those present are copied)
INFO_FIELDS = ("arch", "data", "dataset", "image_size", "channels", "z_dim", "n_layer", "n_head", "n_embd",
               "n_positions", "vocab_size", "description")
LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN"

_BUNDLED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")
_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{6,}")
_PUSH_IGNORE = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", ".*"]  # never publish pickles or dotfiles


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
) -> Path:
    """Resolve a model spec (bundled name, folder, or ``owner/name[@revision]``) to a local folder.

    ``files`` must all be there; ``optional`` files are fetched when the repo has them. For a Hub
    repo every file comes from one commit, and the returned folder is that commit's snapshot in
    the Hugging Face cache. ``progress`` receives human lines ("downloading model.safetensors
    (12.3 MB)…", "model.safetensors: 40%").

    Raises ModelNotFound, OfflineError, BadModel or BadInput, each with a one-line message.
    """
    report = progress or (lambda line: None)
    spec = (spec or "").strip()
    files, optional = tuple(files), tuple(optional)
    if not files:
        raise BadInput("resolve() needs at least one required file")
    if not spec:
        raise BadInput(f"no model given: {_spec_help()}")
    bundled = _bundled_folder(spec)
    if bundled is not None:
        return _check_folder(bundled, files)
    if len(spec) > MAX_SPEC_CHARS:
        raise ModelNotFound(f"unknown model {spec[:60]!r}…: {len(spec)} characters is too long for a model spec")
    local = Path(spec).expanduser()
    try:
        is_folder = local.is_dir()
    except OSError:  # e.g. a name too long for the file system
        is_folder = False
    if is_folder:
        return _check_folder(local.resolve(), files)
    if spec.startswith(("/", ".", "~")) or "\\" in spec:
        raise ModelNotFound(f"no model folder at {spec}")
    repo_id, revision = _parse_repo_spec(spec)
    return _download(repo_id, revision, files, optional, report)


def _spec_help() -> str:
    names = ", ".join(bundled_models()) or "none installed"
    return f"use a bundled model ({names}), a model folder, or a Hub repo id owner/name[@revision]"


def _bundled_folder(spec: str) -> Path | None:
    if not _BUNDLED_NAME.fullmatch(spec):
        return None
    folder = Path(settings.SETTINGS.weights_dir) / spec
    return folder if folder.is_dir() else None


def _check_folder(folder: Path, files: tuple[str, ...]) -> Path:
    missing = [name for name in files if not (folder / name).is_file()]
    if WEIGHTS_NAME in missing:
        pickles = [name for name in PICKLE_NAMES if (folder / name).exists()]
        if pickles:
            raise BadModel(_pickle_message(folder.name, pickles[0]))
    if missing:
        raise BadModel(f"{folder.name}: no {missing[0]} in the model folder")
    return folder


def _pickle_message(where: str, pickle_name: str) -> str:
    return (
        f"{where} only has pickle weights ({pickle_name}); GAN Studio never unpickles files — "
        f"convert them to {WEIGHTS_NAME}"
    )


def _parse_repo_spec(spec: str, error: type[StudioError] = ModelNotFound) -> tuple[str, str]:
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
        problem = f"bad revision {revision!r} (use a branch, tag or commit sha)"
    if problem:
        if error is ModelNotFound:
            raise ModelNotFound(f"unknown model {spec[:120]!r}: {problem}; {_spec_help()}")
        raise error(f"bad repo id {spec[:120]!r}: {problem}")
    return repo_id, revision


def _hub_offline() -> bool:
    return settings.hub_offline() or constants.is_offline_mode()


def _download(repo_id: str, revision: str, files: tuple[str, ...], optional: tuple[str, ...], report: Progress) -> Path:
    where = repo_id if revision == "main" else f"{repo_id}@{revision}"
    offline = _hub_offline()
    pinned_and_cached = bool(_COMMIT_SHA.fullmatch(revision)) and all(
        isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str) for name in files
    )
    if not offline and not pinned_and_cached and _hub_unreachable(repo_id, revision, files[0], where):
        report("the Hub is unreachable: using the local cache")
        offline = True
    folder: Path | None = None
    for name in files + tuple(n for n in optional if n not in files):
        required = name in files
        # After the first file, pin the commit so every file comes from the same snapshot.
        rev = folder.name if folder is not None else revision
        path = _fetch(repo_id, name, rev, where, offline, required, report)
        if path is not None and folder is None:
            folder = Path(path).parents[len(PurePosixPath(name).parts) - 1]
    assert folder is not None
    return folder


def _hub_unreachable(repo_id: str, revision: str, filename: str, where: str) -> bool:
    """One HEAD without retries: a dead network fails in a second, not after the library's backoff.

    Repo/revision errors are raised here; a missing file is left to the download to explain.
    """
    try:
        get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision), retry_on_errors=False)
    except RemoteEntryNotFoundError:
        return False
    except (httpx2.TransportError, OfflineModeIsEnabled):
        return True
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        if status >= 500 or status in (408, 429):
            return True
        raise _hub_error(err, repo_id, revision, filename, where) from None
    except Exception as err:  # anything else (bad redirects, odd replies) is still one line
        raise _hub_error(err, repo_id, revision, filename, where) from None
    return False


def _fetch(
    repo_id: str, name: str, revision: str, where: str, offline: bool, required: bool, report: Progress
) -> str | None:
    """Local path of one file (downloading it if needed); None for a missing optional file."""
    if offline or _COMMIT_SHA.fullmatch(revision):
        cached = try_to_load_from_cache(repo_id, name, revision=revision)
        if isinstance(cached, str):
            report(f"{name}: cached")
            return cached
        if cached is _CACHED_NO_EXIST or (offline and not required):
            return _missing(repo_id, name, revision, where, offline) if required else None
    bar = _bar_class(name, report)
    try:
        path = hf_hub_download(repo_id, name, revision=revision, local_files_only=offline, tqdm_class=bar)
    except RemoteEntryNotFoundError:
        return _missing(repo_id, name, revision, where, offline) if required else None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, httpx2.TransportError) as err:
        if not required:
            return None
        if isinstance(err.__cause__, FileMetadataError):  # HF_ENDPOINT answers, but is not a Hub
            raise StudioError(f"could not download {name} from {where}: {_one_line(err.__cause__)}") from None
        raise OfflineError(_offline_message(where)) from None
    except Exception as err:  # every other failure becomes one line
        raise _hub_error(err, repo_id, revision, name, where) from None
    if not bar.started:
        report(f"{name}: cached")
    return path


def _missing(repo_id: str, name: str, revision: str, where: str, offline: bool) -> NoReturn:
    if name == WEIGHTS_NAME and not offline:
        for pickle_name in PICKLE_NAMES:  # HEAD only: a pickle is never downloaded
            try:
                get_hf_file_metadata(hf_hub_url(repo_id, pickle_name, revision=revision), retry_on_errors=False)
            except Exception:
                continue
            raise BadModel(_pickle_message(f"Hub repo {where}", pickle_name))
    raise ModelNotFound(f"Hub repo {where} has no file {name!r}")


def _offline_message(where: str) -> str:
    names = ", ".join(bundled_models()) or "none installed"
    return (
        f"{where} is not in the local cache and the Hub cannot be reached (offline, or HF_HUB_OFFLINE is set); "
        f"bundled models that work offline: {names}"
    )


def _hub_error(err: Exception, repo_id: str, revision: str, name: str, where: str) -> StudioError:
    if isinstance(err, StudioError):
        return err
    if isinstance(err, GatedRepoError):
        return ModelNotFound(f"Hub repo {repo_id!r} is gated: accept its terms on the Hub, then {LOGIN_HINT}")
    if isinstance(err, RepositoryNotFoundError):
        return ModelNotFound(f"Hub repo {repo_id!r} not found (a private repo needs a token: {LOGIN_HINT})")
    if isinstance(err, RevisionNotFoundError):
        return ModelNotFound(f"revision {revision!r} not found in Hub repo {repo_id!r} (use a branch, tag or commit)")
    if isinstance(err, RemoteEntryNotFoundError):
        return ModelNotFound(f"Hub repo {where} has no file {name!r}")
    if isinstance(err, HfHubHTTPError) and err.response is not None and err.response.status_code == 401:
        return BadInput(f"the Hub rejected your token for {where}: {LOGIN_HINT}")
    return StudioError(f"could not download {name} from {where}: {_one_line(err)}")


# ---------------------------------------------------------------------------------------- progress


_PERCENT_FROM_BYTES = 1_000_000  # smaller files arrive at once: their start line says enough


class _ReportingBar(tqdm):
    """A tqdm that draws nothing and reports "name: 40%" lines (every 10%) through a callback.

    Subclassed per file by ``_bar_class`` with ``report`` and ``label`` set. ``update_transfer``
    makes huggingface_hub use a single bar for xet downloads too.
    """

    report: Progress = staticmethod(lambda line: None)
    label = ""
    started = False

    def __init__(self, *args, **kwargs) -> None:
        kwargs.pop("name", None)
        kwargs.update(disable=False, file=_NullFile(), mininterval=3600)
        super().__init__(*args, **kwargs)
        type(self).started = True
        size = f" ({_human_size(self.total)})" if self.total else ""
        self._last_step = 0
        self.report(f"downloading {self.label}{size}…")

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        if self.total and self.total >= _PERCENT_FROM_BYTES:
            step = min(10, int(10 * self.n / self.total))
            if step > self._last_step:
                self._last_step = step
                self.report(f"{self.label}: {10 * step}%")
        return shown

    def update_transfer(self, n: float) -> None:
        pass

    def set_transfer_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass


class _NullFile:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def _bar_class(label: str, report: Progress) -> type[_ReportingBar]:
    return type("_FileBar", (_ReportingBar,), {"report": staticmethod(report), "label": label, "started": False})


def _human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


# ---------------------------------------------------------------------------------------- push


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload from GAN Studio",
) -> str:
    """Upload a saved model folder to the Hub repo ``owner/name`` (created if needed); returns its URL.

    Without ``token`` the login token (HF_TOKEN or ``hf auth login``) is used; with neither this is
    a BadInput. Pickles and dotfiles are never uploaded. The token never appears in an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"no model folder at {folder}")
    model_kind(folder)
    _check_folder(folder, REQUIRED_FILES)
    if "@" in (repo_id or ""):
        raise BadInput(f"push to a repo id without @revision, not {repo_id!r}")
    repo_id, _ = _parse_repo_spec((repo_id or "").strip(), error=BadInput)
    secret = token or get_token()
    if not secret:
        raise BadInput(f"pushing needs a Hugging Face token: {LOGIN_HINT}")
    if _hub_offline():
        raise OfflineError("cannot push while offline (HF_HUB_OFFLINE is set)")
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(
            repo_id=repo_id, folder_path=folder, commit_message=commit_message, ignore_patterns=list(_PUSH_IGNORE)
        )
    except Exception as err:
        raise _push_error(err, repo_id, secret) from None
    return str(url)


def _push_error(err: Exception, repo_id: str, secret: str) -> StudioError:
    if isinstance(err, (httpx2.TransportError, OfflineModeIsEnabled)):
        return OfflineError(f"cannot reach the Hub to push {repo_id} (offline?)")
    status = err.response.status_code if isinstance(err, HfHubHTTPError) and err.response is not None else 0
    if status == 401:
        return BadInput(f"the Hub rejected the token: {LOGIN_HINT} (with write access)")
    if status == 403:
        return BadInput(f"no write access to {repo_id}: use a token with write permission, or your own namespace")
    return StudioError(f"push to {repo_id} failed: {_one_line(err, secret)}")


def _one_line(err: Exception, secret: str | None = None) -> str:
    """First meaningful words of an exception, one line, with any token scrubbed."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip()) or err.__class__.__name__
    for token in filter(None, (secret, get_token())):
        text = text.replace(token, "***")
    return _TOKEN_LIKE.sub("hf_***", text)[:300]
