"""Pushing a saved model to the Hub: with whose token, to which namespaces, and what never goes up.

A visitor of a public app pushes with their own token (from "Sign in with Hugging Face") and only to
the user or organisations that token may write to; the login of whoever runs the process is used only
where the caller allows it (the CLI, a local app). Pickles and dotfiles are never uploaded, and no
token ever appears in a message.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from ganstudio.checks import shown
from ganstudio.errors import BadInput, OfflineError, StudioError
from ganstudio.hub import REQUIRED_FILES, check_folder, model_kind, parse_repo_spec
from ganstudio.hub_download import LOGIN_HINT, hub_offline, one_line

PUSH_IGNORE = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", ".*"]  # never publish pickles or dotfiles


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload from GAN Studio",
    use_login: bool = True,
) -> str:
    """Upload a saved model folder to the Hub repo ``owner/name`` (created if needed); returns its URL.

    ``token`` is the pusher's own. Without one, the login of whoever runs the process (HF_TOKEN or
    ``hf auth login``) is used only when ``use_login`` (the CLI; a local app) — a public app passes
    ``use_login=False`` so a visitor never acts with the host's credentials. The token must be able
    to write to the repo's namespace (its user or one of its organisations), checked before anything
    is created. Pickles and dotfiles are never uploaded. The token never appears in an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("nothing to push: the model folder is missing")
    model_kind(folder)
    check_folder(folder, REQUIRED_FILES, "the model")
    if not isinstance(repo_id, str) or "@" in repo_id:
        raise BadInput(f"push to a repo id like your-name/my-gan (no @revision), not {shown(repo_id)}")
    repo_id, _ = parse_repo_spec(repo_id.strip(), error=BadInput)
    secret = token or (get_token() if use_login else None)
    if not secret:
        raise BadInput(f"pushing needs a Hugging Face token: {LOGIN_HINT}" if use_login else
                       "sign in with Hugging Face to push to your own account")
    if hub_offline():
        raise OfflineError("cannot push while offline (HF_HUB_OFFLINE is set)")
    namespace = repo_id.split("/")[0]
    try:
        allowed = writable_namespaces(secret)
    except Exception as err:
        raise _push_error(err, repo_id, secret) from None
    if namespace not in allowed:
        raise BadInput(f"your token cannot write to {namespace!r}: push to {' or '.join(sorted(allowed)[:3])}/…")
    api = HfApi(token=secret)  # always explicit: never the process's own login by accident
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(
            repo_id=repo_id, folder_path=folder, commit_message=commit_message, ignore_patterns=list(PUSH_IGNORE)
        )
    except Exception as err:
        raise _push_error(err, repo_id, secret) from None
    return str(url)


def writable_namespaces(token: str) -> set[str]:
    """The user a token belongs to and the organisations it may write to (``whoami``)."""
    info = HfApi(token=token).whoami(token=token, cache=True)  # a fresh HfApi: it reads HF_ENDPOINT now
    names = {str(info.get("name"))} if info.get("name") else set()
    for org in info.get("orgs") or []:
        role = str(org.get("roleInOrg") or org.get("role") or "write").lower()
        if org.get("name") and role not in ("read", "reader"):
            names.add(str(org["name"]))
    return names


def _push_error(err: Exception, repo_id: str, secret: str) -> StudioError:
    if isinstance(err, (httpx2.TransportError, OfflineModeIsEnabled)):
        return OfflineError(f"cannot reach the Hub to push {repo_id} (offline?)")
    status = err.response.status_code if isinstance(err, HfHubHTTPError) and err.response is not None else 0
    if status == 401:
        return BadInput(f"the Hub rejected the token: {LOGIN_HINT} (with write access)")
    if status == 403:
        return BadInput(f"no write access to {repo_id}: use a token with write permission, or your own namespace")
    return StudioError(f"push to {repo_id} failed: {one_line(err, secret)}")
