"""Safe extraction of an uploaded zip archive.

Every entry is checked before anything is written: no absolute paths, drive letters, ``..``,
symlinks or encrypted entries; caps on the number of entries, the unpacked size and the
compression ratio (zip bombs). Sizes in the headers can lie, so bytes are counted again while
writing. A rejected archive writes nothing; nothing is ever written outside ``dest_dir``.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ganstudio.checks import shown
from ganstudio.errors import BadInput
from ganstudio.settings import SETTINGS

MB = 1024 * 1024
MAX_DEPTH = 32  # folders inside folders; photo collections are shallow, a 2,000-deep entry is an attack
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    max_archive_mb: int = field(default_factory=lambda: SETTINGS.max_upload_mb)  # the upload itself
    max_unpacked_mb: int = field(default_factory=lambda: 2 * SETTINGS.max_upload_mb)  # BMPs unpack larger than zips
    max_entries: int = 20_000  # a photo folder, not a file system
    max_ratio: float = 100.0  # images barely compress; far more than this is a bomb
    ratio_min_bytes: int = 1 * MB  # tiny entries (blank images) may compress very well legitimately


def _check_name(raw: str) -> PurePosixPath:
    """The entry's relative path, or BadInput if it could land outside the destination."""
    name = raw.replace("\\", "/")
    if "\x00" in name:
        raise BadInput(f"archive rejected: entry name {shown(raw)} contains a NUL byte")
    if name.startswith("/") or _DRIVE.match(name):
        raise BadInput(f"archive rejected: entry {shown(raw)} has an absolute path")
    path = PurePosixPath(name)
    if len(path.parts) > MAX_DEPTH:
        raise BadInput(f"archive rejected: entry {shown(raw)} is nested more than {MAX_DEPTH} folders deep")
    if ".." in path.parts:
        raise BadInput(f"archive rejected: entry {shown(raw)} points outside the archive ('..')")
    return path


def _check_entries(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_entries:
        raise BadInput(f"archive rejected: {len(infos)} entries (at most {limits.max_entries})")
    total = 0
    total_packed = 0
    for info in infos:
        _check_name(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BadInput(f"archive rejected: entry {shown(info.filename)} is a symbolic link")
        if info.flag_bits & 0x1:
            raise BadInput(f"archive rejected: entry {shown(info.filename)} is encrypted")
        total += info.file_size
        total_packed += info.compress_size
        if info.file_size >= limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise BadInput(
                f"archive rejected: entry {shown(info.filename)} unpacks {info.file_size / max(info.compress_size, 1):.0f}× "
                f"its packed size (looks like a zip bomb)"
            )
    if total > limits.max_unpacked_mb * MB:
        raise BadInput(f"archive rejected: unpacks to {total / MB:.0f} MB (at most {limits.max_unpacked_mb} MB)")
    if total >= limits.ratio_min_bytes and total > limits.max_ratio * max(total_packed, 1):
        raise BadInput(f"archive rejected: unpacks {total / max(total_packed, 1):.0f}× its size (looks like a zip bomb)")


def _copy_capped(src, dst, declared: int, budget: int, name: str) -> int:
    """Copy one entry, stopping as soon as it exceeds its declared size or the remaining budget."""
    written = 0
    while chunk := src.read(64 * 1024):
        written += len(chunk)
        if written > declared or written > budget:
            raise BadInput(f"archive rejected: entry {shown(name)} unpacks to more than its header says")
        dst.write(chunk)
    return written


def extract_archive(zip_path: str | Path, dest_dir: str | Path, limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract ``zip_path`` into ``dest_dir`` (created if needed); return the files written.

    Raises BadInput (one line) for anything unsafe or unreadable; on failure the files this call
    wrote are removed again.
    """
    limits = limits or ArchiveLimits()
    zip_path, dest = Path(zip_path), Path(dest_dir)
    if not zip_path.is_file():
        raise BadInput(f"upload not found: {zip_path.name}")
    if zip_path.stat().st_size > limits.max_archive_mb * MB:
        raise BadInput(
            f"upload too large: {zip_path.stat().st_size / MB:.0f} MB (at most {limits.max_archive_mb} MB)"
        )
    if not zipfile.is_zipfile(zip_path):
        raise BadInput(f"{zip_path.name} is not a zip archive")
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written: list[Path] = []
    made_dirs: list[Path] = []
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
            _check_entries(infos, limits)
            budget = limits.max_unpacked_mb * MB
            for info in infos:
                rel = _check_name(info.filename)
                if not rel.parts:
                    continue
                target = (root / Path(*rel.parts)).resolve()
                if target != root and root not in target.parents:
                    raise BadInput(f"archive rejected: entry {shown(info.filename)} resolves outside the upload folder")
                if info.is_dir():
                    _mkdirs(target, made_dirs)
                    continue
                _mkdirs(target.parent, made_dirs)
                with archive.open(info) as src, open(target, "xb") as dst:
                    written.append(target)
                    budget -= _copy_capped(src, dst, info.file_size, budget, info.filename)
    except FileExistsError as err:
        _undo(written, made_dirs)
        raise BadInput(f"archive rejected: duplicate entry {Path(err.filename).name!r}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        _undo(written, made_dirs)
        raise BadInput(f"{zip_path.name}: unreadable zip archive ({str(err).splitlines()[0][:120]})") from None
    except OSError as err:
        _undo(written, made_dirs)
        raise BadInput(f"{zip_path.name}: could not extract ({err.__class__.__name__}: {err.strerror or err})") from None
    except BaseException:
        _undo(written, made_dirs)
        raise
    return written


def _mkdirs(path: Path, made: list[Path]) -> None:
    """mkdir -p that remembers each folder it created, so a failure can remove them."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir()
        made.append(folder)


def _undo(files: list[Path], dirs: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
    for path in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        shutil.rmtree(path, ignore_errors=True)
