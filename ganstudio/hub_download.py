"""Talking to the Hugging Face Hub: one repo's files downloaded from one commit, within a deadline, every failure
in one line (``hub.resolve`` decides what a spec names and calls ``download`` for a Hub repo).

Downloads go through ``huggingface_hub.hf_hub_download``, so the usual cache (``HF_HUB_CACHE``), ``HF_ENDPOINT``,
``HF_HUB_OFFLINE`` and the login token (``HF_TOKEN`` or ``hf auth login``) all apply; we never pass, print or log
a token ourselves. Sizes are checked from a HEAD before a byte moves (configs, weights, pickles are never
fetched), the revision is pinned after the first file, a Hub that falls silent ends the download after
``GANSTUDIO_HUB_READ_TIMEOUT_S``.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path, PurePosixPath
from typing import Callable, NoReturn

import httpx2  # huggingface_hub's HTTP client: its TransportError means "no connection"
from huggingface_hub import (
    _CACHED_NO_EXIST,
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
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ganstudio import settings
from ganstudio.checks import shown
from ganstudio.admission import check_file_size
from ganstudio.errors import BadInput, BadModel, ModelNotFound, OfflineError, StudioError
from ganstudio.hub_transfer import DownloadCancelled, Progress, bar_class, install_deadline_transport, within
from ganstudio.limits import LIMITS
from ganstudio.weights_io import CONFIG_NAME, PICKLE_NAMES, WEIGHTS_NAME

install_deadline_transport()  # every Hub download below runs under a deadline the HTTP layer enforces
# The library warns "Error while downloading ... Trying to resume" on each retry; the one line we raise when a
# download finally fails says it better, so its retry chatter stays out of stderr and the app's log.
logging.getLogger("huggingface_hub.file_download").setLevel(logging.ERROR)

LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN"
_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{6,}")


def pickle_message(where: str, pickle_name: str) -> str:
    return (
        f"{where} only has pickle weights ({pickle_name}); GAN Studio never unpickles files — "
        f"convert them to {WEIGHTS_NAME}"
    )


def hub_offline() -> bool:
    return settings.hub_offline() or constants.is_offline_mode()


def download(repo_id: str, revision: str, files: tuple[str, ...], optional: tuple[str, ...], report: Progress,
              deadline: float, validate: Callable[[Path], None] | None = None,
              max_bytes: dict[str, int] | None = None, offline_note: str = "") -> Path:
    """The local snapshot folder of ``files`` (and of those ``optional`` files the repo has) from one commit.
    ``offline_note`` ends the message shown when the Hub cannot be reached (what works without it)."""
    where = repo_id if revision == "main" else f"{repo_id}@{revision}"
    offline = hub_offline()
    pinned_and_cached = bool(_COMMIT_SHA.fullmatch(revision)) and all(
        isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str) for name in files
    )
    if not offline and not pinned_and_cached and _hub_unreachable(repo_id, revision, files[0], where, deadline):
        report("the Hub is unreachable: using the local cache")
        offline = True
    folder: Path | None = None
    for name in files + tuple(n for n in optional if n not in files):
        required = name in files
        # After the first file, pin the commit so every file comes from the same snapshot.
        rev = folder.name if folder is not None else revision
        if (name in (CONFIG_NAME, WEIGHTS_NAME) or name in (max_bytes or {})) and not offline:
            _check_remote_size(repo_id, name, rev, where, deadline, (max_bytes or {}).get(name))
        path = _fetch(repo_id, name, rev, where, offline, required, report, deadline, offline_note)
        if path is not None and folder is None:
            folder = Path(path).parents[len(PurePosixPath(name).parts) - 1]
            if validate is not None:
                validate(folder)  # config.json is in: refuse an impossible model before any weights move
    assert folder is not None
    return folder


def _check_remote_size(repo_id: str, name: str, revision: str, where: str, deadline: float,
                       limit: int | None = None) -> None:
    """Refuse a config or weights too large to be what they claim from their announced size (one HEAD,
    nothing downloaded): configs above ``LIMITS.max_config_bytes``, weights above the memory budget, any
    file above its ``limit``."""
    if isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str):
        return
    timeout = _head_timeout(deadline)
    try:
        meta = get_hf_file_metadata(hf_hub_url(repo_id, name, revision=revision), retry_on_errors=False,
                                    timeout=timeout)
    except httpx2.ReadTimeout:  # connected, then nothing: asking again would only wait as long again
        raise StudioError(f"download of {name} from {where} failed: the Hub sent nothing for {timeout:.0f} s "
                          "(GANSTUDIO_HUB_READ_TIMEOUT_S); try again later") from None
    except Exception:  # not found, offline...: the download itself will say it in its own words
        return
    if meta.size and name == CONFIG_NAME and meta.size > LIMITS.max_config_bytes:
        raise BadModel(f"{where}: {CONFIG_NAME} is {meta.size:,} bytes; a model config is far smaller (at most "
                       f"{LIMITS.max_config_bytes:,})")
    if meta.size and name == WEIGHTS_NAME:
        check_file_size(meta.size, where)
    if meta.size and limit is not None and meta.size > limit:
        raise BadModel(f"{where}: {name} is {meta.size:,} bytes, more than a model of its kind holds (at most "
                       f"{limit:,})")


def _head_timeout(deadline: float) -> float:
    """Seconds one metadata request (HEAD) may wait: the Hub's allowed silence, within the time left."""
    return max(1.0, min(settings.SETTINGS.hub_read_timeout_s, deadline - time.monotonic()))


def _connect_failure(err: BaseException | None) -> bool:
    """The Hub could not be reached at all (no route, refused, DNS), as opposed to a download that broke."""
    while err is not None:
        if isinstance(err, (httpx2.ConnectError, httpx2.ConnectTimeout, OfflineModeIsEnabled)):
            return True
        err = err.__cause__ or err.__context__
    return False


_reachable: dict[tuple[str, str], bool] = {}  # (repo id, file) -> whether the Hub answered (asked once per process)


def hub_reachable(repo_id: str, filename: str = CONFIG_NAME, timeout_s: float = 2.0) -> bool:
    """Whether the Hub answers for ``repo_id``'s ``filename`` right now (one HEAD, at most ``timeout_s``;
    remembered)."""
    if hub_offline():
        return False
    key = (repo_id, filename)
    if key not in _reachable:
        try:
            get_hf_file_metadata(hf_hub_url(repo_id, filename), retry_on_errors=False, timeout=timeout_s)
            _reachable[key] = True
        except Exception:  # offline, refused, not found: either way, not a default to offer
            _reachable[key] = False
    return _reachable[key]


def _hub_unreachable(repo_id: str, revision: str, filename: str, where: str, deadline: float) -> bool:
    """One HEAD without retries: a dead network fails in a second, not after the library's backoff.

    Repo/revision errors are raised here; a missing file is left to the download to explain.
    """
    try:
        get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision), retry_on_errors=False,
                             timeout=_head_timeout(deadline))
    except RemoteEntryNotFoundError:
        return False
    except (httpx2.TransportError, OfflineModeIsEnabled) as err:
        if _connect_failure(err):
            return True
        raise StudioError(f"download of {filename} from {where} failed: the Hub did not answer "
                          f"({_transport_reason(err)})") from None
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        if status >= 500 or status in (408, 429):
            return True
        raise _hub_error(err, repo_id, revision, filename, where) from None
    except Exception as err:  # anything else (bad redirects, odd replies) is still one line
        raise _hub_error(err, repo_id, revision, filename, where) from None
    return False


def _fetch(
    repo_id: str, name: str, revision: str, where: str, offline: bool, required: bool, report: Progress,
    deadline: float, offline_note: str = "",
) -> str | None:
    """Local path of one file (downloading it if needed); None for a missing optional file."""
    if offline or _COMMIT_SHA.fullmatch(revision):
        cached = try_to_load_from_cache(repo_id, name, revision=revision)
        if isinstance(cached, str):
            return cached
        if cached is _CACHED_NO_EXIST or (offline and not required):
            return _missing(repo_id, name, revision, where, offline) if required else None
    bar = bar_class(name, report)
    try:
        path = within(deadline, f"download of {name} from {where}", lambda: hf_hub_download(
            repo_id, name, revision=revision, local_files_only=offline, tqdm_class=bar,
            etag_timeout=_head_timeout(deadline)))
    except RemoteEntryNotFoundError:
        return _missing(repo_id, name, revision, where, offline) if required else None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, httpx2.TransportError) as err:
        if not required:
            return None
        if isinstance(err.__cause__, FileMetadataError):  # HF_ENDPOINT answers, but is not a Hub
            raise StudioError(f"could not download {name} from {where}: {one_line(err.__cause__)}") from None
        if offline or _connect_failure(err):
            raise OfflineError(_offline_message(where, offline_note)) from None
        raise StudioError(f"download of {name} from {where} failed: {_transport_reason(err)}") from None
    except StudioError:
        raise
    except OSError as err:  # huggingface_hub's size check: the file arrived shorter than announced
        if "Consistency check failed" in str(err):
            raise StudioError(f"download of {name} from {where} failed: the file arrived incomplete") from None
        raise _hub_error(err, repo_id, revision, name, where) from None
    except Exception as err:  # every other failure becomes one line
        raise _hub_error(err, repo_id, revision, name, where) from None
    return path


def _transport_reason(err: BaseException) -> str:
    if isinstance(err, httpx2.TimeoutException):
        return "the connection stalled"
    if isinstance(err, httpx2.RemoteProtocolError):
        return "the connection closed before the file was complete"
    return one_line(err)


def _missing(repo_id: str, name: str, revision: str, where: str, offline: bool) -> NoReturn:
    if name in (CONFIG_NAME, WEIGHTS_NAME) and not offline:
        for pickle_name in PICKLE_NAMES:  # HEAD only: a pickle is never downloaded
            try:
                get_hf_file_metadata(hf_hub_url(repo_id, pickle_name, revision=revision), retry_on_errors=False)
            except Exception:
                continue
            raise BadModel(pickle_message(f"Hub repo {where}", pickle_name))
    raise ModelNotFound(f"Hub repo {where} has no file {name!r}")


def _offline_message(where: str, note: str) -> str:
    return (f"{where} is not in the local cache and the Hub cannot be reached (offline, or HF_HUB_OFFLINE is set)"
            + (f"; {note}" if note else ""))


def _hub_error(err: Exception, repo_id: str, revision: str, name: str, where: str) -> StudioError:
    if isinstance(err, StudioError):
        return err
    if isinstance(err, GatedRepoError):
        return ModelNotFound(f"Hub repo {repo_id!r} is gated: accept its terms on the Hub, then {LOGIN_HINT}")
    if isinstance(err, RepositoryNotFoundError):
        return ModelNotFound(f"Hub repo {repo_id!r} not found (a private repo needs a token: {LOGIN_HINT})")
    if isinstance(err, RevisionNotFoundError):
        return ModelNotFound(f"revision {shown(revision)} not found in Hub repo {repo_id!r} (use a branch, tag or "
                             "commit)")
    if isinstance(err, RemoteEntryNotFoundError):
        return ModelNotFound(f"Hub repo {where} has no file {name!r}")
    if isinstance(err, (httpx2.TransportError, DownloadCancelled)):
        return StudioError(f"download of {name} from {where} failed: {_transport_reason(err)}")
    if isinstance(err, HfHubHTTPError) and err.response is not None and err.response.status_code == 401:
        return BadInput(f"the Hub rejected your token for {where}: {LOGIN_HINT}")
    return StudioError(f"could not download {name} from {where}: {one_line(err)}")


def one_line(err: Exception, secret: str | None = None) -> str:
    """First meaningful words of an exception, one line, with any token scrubbed."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip()) or err.__class__.__name__
    for token in filter(None, (secret, get_token())):
        text = text.replace(token, "***")
    return _TOKEN_LIKE.sub("hf_***", text)[:300]
