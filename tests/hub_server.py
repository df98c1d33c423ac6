"""A loopback Hugging Face Hub for tests: speaks what huggingface_hub 2.4 sends.

Download protocol (``hf_hub_download``): ``HEAD``/``GET {endpoint}/{repo_id}/resolve/{revision}/{filename}``
answered with ``X-Repo-Commit``, a quoted ``ETag`` and ``Content-Length``. Weights (``*.safetensors``,
``*.bin``...) behave like LFS files on the real Hub: a 302 to a "CDN" on another origin
(``localhost`` instead of ``127.0.0.1``) carrying ``X-Linked-Etag`` / ``X-Linked-Size``, so the client
stops at the redirect and downloads from the CDN. No ``X-Xet-Hash`` header is ever sent, so the client
falls back to plain HTTP even with hf_xet installed. Errors are 404s with ``X-Error-Code``
(``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``) and ``X-Error-Message``.

Upload protocol (``HfApi.create_repo`` + ``upload_folder``): ``POST /api/repos/create``,
``POST /api/validate-yaml``, ``POST /api/models/{repo}/preupload/{rev}`` (every file "regular", so no
LFS/xet transfer) and ``POST /api/models/{repo}/commit/{rev}`` (ndjson, base64 contents). Writes need
``Authorization: Bearer <token>`` with a token in ``write_tokens``.

Identity (``GET /api/whoami-v2``): ``users`` maps a token to the account it belongs to (name and
organisations); the write token ``TEST_TOKEN`` is user ``me`` in organisation ``acme``.

A hostile or broken Hub, per file (``behave[filename]``): ``Slow(chunk, delay_s)`` trickles the body,
``Stall(after)`` sends that many bytes and then nothing, ``Truncate(after)`` closes the connection
early although Content-Length promised more, ``Silent(hold_s)`` accepts the GET and sends nothing at all (not
even a status line) for that long, then hangs up, and ``Hold(after)`` sends that many bytes, sets ``sending``
and sends the rest once the test sets ``release`` (a download in flight for exactly as long as a test needs).

Repos are ``{repo_id: {revision_or_commit: {filename: bytes}}}``; each named revision (branch or tag)
points at a commit whose 40-hex sha is derived from its content. Every request is recorded in
``requests`` so tests can assert cache hits.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SHA_RE = re.compile(r"[0-9a-f]{40}")
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")  # served like LFS files: redirect to a CDN
TEST_TOKEN = "hf_loopbackWriteToken0123456789"  # the write token `hub_server` accepts (not a real one)
TEST_USER = {"name": "me", "orgs": [{"name": "acme", "roleInOrg": "write"}]}  # whoami of TEST_TOKEN


@dataclass(frozen=True)
class Slow:
    """Send the body ``chunk`` bytes at a time, ``delay_s`` apart."""

    chunk: int = 1
    delay_s: float = 2.0


@dataclass(frozen=True)
class Stall:
    """Send ``after`` bytes of the body, then nothing for ``hold_s`` seconds (a dead connection)."""

    after: int = 100
    hold_s: float = 120.0


@dataclass(frozen=True)
class Silent:
    """Accept the GET, send nothing at all (not even a status line) for ``hold_s`` seconds, then hang up."""

    hold_s: float = 120.0


@dataclass(frozen=True)
class Hold:
    """Send ``after`` bytes of the body, set ``sending``, and the rest once ``release`` is set (or after a minute)."""

    after: int = 100
    sending: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Truncate:
    """Send ``after`` bytes of the body, then close the connection (Content-Length promised more)."""

    after: int = 100


def model_files(
    config: dict, tensors: dict | None = None, extra: dict[str, bytes | str] | None = None
) -> dict[str, bytes]:
    """Files of a tiny model repo: ``config.json`` + ``model.safetensors`` (+ ``extra`` files by name)."""
    import torch
    from safetensors.torch import save

    tensors = tensors if tensors is not None else {"weight": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    files = {"config.json": json.dumps(config).encode(), "model.safetensors": save(tensors)}
    for name, content in (extra or {}).items():
        files[name] = content.encode() if isinstance(content, str) else content
    return files


@dataclass
class Request:
    method: str
    path: str  # unquoted path, no query
    authorization: str | None = None

    @property
    def filename(self) -> str | None:
        """The file a ``/resolve/`` or CDN request is about, else None."""
        if "/resolve/" in self.path:
            return self.path.split("/resolve/", 1)[1].split("/", 1)[-1]
        if self.path.startswith("/cdn/"):
            return self.path.split("/", 3)[-1]
        return None


@dataclass
class _Repo:
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> commit sha
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> files
    private: bool = False


class HubServer:
    """In-memory Hub on 127.0.0.1 (free port). ``start()`` returns the endpoint; ``stop()`` shuts it down."""

    def __init__(self, repos: dict[str, dict[str, dict[str, bytes]]] | None = None, write_tokens: tuple[str, ...] = ()):
        self._repos: dict[str, _Repo] = {}
        self._blobs: dict[str, bytes] = {}  # sha256 -> content, for the CDN
        self.write_tokens = set(write_tokens)
        self.users: dict[str, dict] = {token: dict(TEST_USER) for token in self.write_tokens}  # token -> whoami
        self.behave: dict[str, Slow | Stall | Silent | Truncate | Hold] = {}  # filename -> how its body is (mis)served
        self.requests: list[Request] = []
        self.fail_with: tuple[int, str] | None = None  # (status, message) to answer every request with
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for repo_id, revisions in (repos or {}).items():
            self.add_repo(repo_id, revisions)

    # ------------------------------------------------------------------ content

    def add_repo(self, repo_id: str, revisions: dict[str, dict[str, bytes]], private: bool = False) -> dict[str, str]:
        """Add (or extend) a repo. Keys that are 40-hex shas are bare commits, others are refs.

        Returns ``{revision: commit_sha}``.
        """
        with self._lock:
            repo = self._repos.setdefault(repo_id, _Repo(private=private))
            shas = {}
            for rev, files in revisions.items():
                sha = rev if SHA_RE.fullmatch(rev) else _commit_sha(repo_id, files)
                repo.commits[sha] = dict(files)
                if sha != rev:
                    repo.refs[rev] = sha
                shas[rev] = sha
            return shas

    def commit_sha(self, repo_id: str, revision: str = "main") -> str:
        repo = self._repos[repo_id]
        return revision if revision in repo.commits else repo.refs[revision]

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files at a revision, e.g. to check what a push committed."""
        return dict(self._repos[repo_id].commits[self.commit_sha(repo_id, revision)])

    def has_repo(self, repo_id: str) -> bool:
        return repo_id in self._repos

    # ------------------------------------------------------------------ requests

    def count(self, method: str | None = None, filename: str | None = None) -> int:
        """How many requests matched (method and/or the file a resolve/CDN request is about)."""
        return sum(
            1
            for r in list(self.requests)
            if (method is None or r.method == method) and (filename is None or r.filename == filename)
        )

    def reset_counts(self) -> None:
        self.requests.clear()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        # Another origin than `url` so huggingface_hub treats it like a CDN (does not follow the redirect on HEAD).
        return f"http://localhost:{self._httpd.server_address[1]}"  # type: ignore[union-attr]

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-server", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)  # type: ignore[union-attr]
            self._httpd = None

    def __enter__(self) -> "HubServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def point_huggingface_hub_at(endpoint: str, cache_dir: Path, monkeypatch) -> None:
    """Make huggingface_hub talk to ``endpoint`` with a fresh cache and no token, for one test.

    huggingface_hub copies HF_ENDPOINT, HF_HUB_CACHE, HF_HUB_OFFLINE... into ``constants`` at import
    time, so both the environment and those constants are patched (``monkeypatch`` undoes it all).
    Xet stays enabled: the loopback Hub never advertises xet, so transfers are plain HTTP.
    """
    from huggingface_hub import constants

    home = cache_dir.parent / "hf-home"
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    env = {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(cache_dir), "HF_HOME": str(home),
           "HF_HUB_DISABLE_TELEMETRY": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    patches = {
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_CACHE": str(cache_dir),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_TOKEN_PATH": str(home / "token"),  # no stored `hf auth login` token leaks into tests
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
    }
    for name, value in patches.items():
        monkeypatch.setattr(constants, name, value)
    try:  # skip the one-off GET /api/agent-harnesses that builds the user agent (keeps request counts exact)
        from huggingface_hub.utils import _detect_agent

        monkeypatch.setattr(_detect_agent, "_registry", _detect_agent._EMPTY_REGISTRY)
    except (ImportError, AttributeError):
        pass


def _commit_sha(repo_id: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha1(repo_id.encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    server_version = "LoopbackHub/1.0"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # ------------------------------------------------------------------ plumbing

    def _record(self) -> str:
        path = unquote(urlsplit(self.path).path)
        self.hub.requests.append(Request(self.command, path, self.headers.get("Authorization")))
        return path

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              behave: "Slow | Stall | Silent | Truncate | Hold | None" = None) -> None:
        if isinstance(behave, Silent) and self.command == "GET":
            time.sleep(behave.hold_s)  # the connection is open; not a byte comes back meanwhile
            self.close_connection = True
            return
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            if isinstance(behave, Slow):
                for start in range(0, len(body), behave.chunk):
                    self.wfile.write(body[start:start + behave.chunk])
                    self.wfile.flush()
                    time.sleep(behave.delay_s)
            elif isinstance(behave, Stall):
                self.wfile.write(body[:behave.after])
                self.wfile.flush()
                time.sleep(behave.hold_s)
            elif isinstance(behave, Hold):
                self.wfile.write(body[:behave.after])
                self.wfile.flush()
                behave.sending.set()
                behave.release.wait(60)
                self.wfile.write(body[behave.after:])
            elif isinstance(behave, Truncate):
                self.wfile.write(body[:behave.after])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is what these tests want
            self.close_connection = True

    def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> None:
        extra = {"X-Error-Message": message, **(headers or {})}
        if code:
            extra["X-Error-Code"] = code
        self._json(status, {"error": message}, extra)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def _check_write(self) -> bool:
        token = self._bearer()
        if token is None:
            self._error(401, None, "You must be authenticated to access this resource")
            return False
        if token not in self.hub.write_tokens:
            self._error(401, None, "Invalid credentials in Authorization header")
            return False
        return True

    # ------------------------------------------------------------------ verbs

    def do_HEAD(self) -> None:
        self._get_or_head()

    def do_GET(self) -> None:
        self._get_or_head()

    def do_POST(self) -> None:
        path = self._record()
        if self.hub.fail_with:
            return self._error(self.hub.fail_with[0], None, self.hub.fail_with[1])
        if path == "/api/repos/create":
            return self._create_repo()
        if path == "/api/validate-yaml":
            self._body()
            return self._json(200, {"errors": [], "warnings": []})
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/(.+)", path)
        if m:
            return self._preupload(m[1], m[3]) if m[2] == "preupload" else self._commit(m[1], m[3])
        self._error(404, None, f"no route for POST {path}")

    # ------------------------------------------------------------------ download

    def _get_or_head(self) -> None:
        path = self._record()
        if self.hub.fail_with:
            return self._error(self.hub.fail_with[0], None, self.hub.fail_with[1])
        if path.startswith("/cdn/"):
            content = self.hub._blobs.get(path[len("/cdn/") :].split("/", 1)[0])
            if content is None:
                return self._error(404, None, "no such blob")
            sha256 = path[len("/cdn/") :].split("/", 1)[0]
            filename = path.rsplit("/", 1)[-1]
            return self._send(200, content, {"Content-Type": "application/octet-stream", "ETag": f'"{sha256}"'},
                              self.hub.behave.get(filename))
        if path == "/api/whoami-v2":
            user = self.hub.users.get(self._bearer() or "")
            if user is None:
                return self._error(401, None, "Invalid credentials in Authorization header")
            return self._json(200, {"type": "user", **user})
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not m:
            return self._error(404, None, f"no route for {self.command} {path}")
        repo_id, revision, filename = m[1], m[2], m[3]
        repo = self.hub._repos.get(repo_id)
        if repo is None or (repo.private and self._bearer() not in self.hub.write_tokens):
            return self._error(404, "RepoNotFound", "Repository not found")
        sha = revision if revision in repo.commits else repo.refs.get(revision)
        if sha is None:
            return self._error(404, "RevisionNotFound", "Invalid rev id: " + revision)
        content = repo.commits[sha].get(filename)
        if content is None:
            return self._error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": sha})
        headers = {"X-Repo-Commit": sha, "Content-Type": "application/octet-stream"}
        if filename.endswith(LFS_SUFFIXES):
            sha256 = hashlib.sha256(content).hexdigest()
            self.hub._blobs[sha256] = content
            headers.update(
                {
                    "Location": f"{self.hub.cdn_url}/cdn/{sha256}/{filename}",
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(content)),
                    "ETag": f'"{_git_blob_sha(content)}"',
                }
            )
            return self._send(302, b"", headers)
        headers["ETag"] = f'"{_git_blob_sha(content)}"'
        self._send(200, content, headers, self.hub.behave.get(filename))

    # ------------------------------------------------------------------ upload

    def _create_repo(self) -> None:
        payload = json.loads(self._body() or b"{}")
        if not self._check_write():
            return
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        url = f"{self.hub.url}/{repo_id}"
        if repo_id in self.hub._repos:
            message = "You already created this model repo"
            return self._json(409, {"error": message, "url": url}, {"X-Error-Message": message})
        with self.hub._lock:
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            repo = self.hub._repos[repo_id] = _Repo(private=private)
            initial = {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}
            sha = _commit_sha(repo_id, initial)
            repo.commits[sha], repo.refs["main"] = initial, sha
        self._json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _preupload(self, repo_id: str, revision: str) -> None:
        payload = json.loads(self._body() or b"{}")
        if not self._check_write():
            return
        if repo_id not in self.hub._repos:
            return self._error(404, "RepoNotFound", "Repository not found")
        files = [
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
            for f in payload.get("files", [])
        ]
        self._json(200, {"files": files, "commitOid": self.hub._repos[repo_id].refs.get(revision)})

    def _commit(self, repo_id: str, revision: str) -> None:
        lines = [json.loads(line) for line in io.BytesIO(self._body()).read().splitlines() if line.strip()]
        if not self._check_write():
            return
        repo = self.hub._repos.get(repo_id)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        with self.hub._lock:
            parent = repo.refs.get(revision)
            files = dict(repo.commits.get(parent, {})) if parent else {}
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key != "header":
                    return self._error(400, None, f"loopback hub does not support {key!r} operations")
            sha = _commit_sha(repo_id, files)
            repo.commits[sha], repo.refs[revision] = files, sha
        self._json(200, {"commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}", "commitOid": sha, "pullRequestUrl": None})
