"""Image data: bundled digits offline, uploads (folders/zips) and safe archive extraction."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstudio.errors import BadInput, StudioError
from ganstudio.gan.images import load_images
from ganstudio.gan.uploads import ArchiveLimits, extract_archive


def _png(seed: int, size: int = 40, gray: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size, size + 8) if gray else (size, size + 8, 3)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ---------------------------------------------------------------- bundled digits


def test_digits_load_offline_balanced():
    data = load_images("digits")
    assert len(data) >= 5000
    assert data.x.shape[1:] == (28, 28, 1) and data.x.dtype == np.uint8
    assert data.n_classes == 10 and data.labels.dtype == np.int64
    counts = np.bincount(data.labels, minlength=10)
    assert counts.min() >= 0.8 * counts.mean()
    assert "MNIST" in data.source and "CC BY-SA" in data.source
    # real digits: dark background, bright strokes
    assert data.x[:, 0, 0, 0].max() == 0 and data.x.max() == 255


def test_digits_subset_and_resize_are_deterministic():
    a = load_images("digits", image_size=32, max_images=200)
    b = load_images("digits", image_size=32, max_images=200)
    assert a.x.shape == (200, 32, 32, 1)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.labels, b.labels)
    assert len(set(a.labels.tolist())) == 10  # a random subset, not the first (sorted) class


def test_as_float_range():
    x = load_images("digits", max_images=16).as_float()
    assert x.shape == (16, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0


def test_unknown_name_is_bad_input():
    with pytest.raises(BadInput, match="no data set named"):
        load_images("no-such-set-xyz")


def test_torchvision_set_without_network_is_a_clear_error(tmp_path, monkeypatch):
    import ganstudio.gan.images as images

    monkeypatch.setattr(images, "SETTINGS", type(images.SETTINGS)(data_dir=tmp_path))

    class Offline:
        def __init__(self, root, train=True, download=False):
            if download:
                raise OSError("<urlopen error [Errno -2] Name or service not known>")
            raise RuntimeError("Dataset not found. You can use download=True to download it")

    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd, "MNIST", Offline)
    with pytest.raises(StudioError, match=r"could not download MNIST \(no network\?.*'digits' set works offline"):
        load_images("mnist")


# ---------------------------------------------------------------- uploads


def test_upload_zip_with_corrupt_file_skips_and_counts(tmp_path):
    entries = {f"pics/img{i:02d}.png": _png(i) for i in range(20)}
    entries["pics/broken.png"] = b"\x89PNG\r\n\x1a\nnot really a png"
    entries["pics/truncated.jpg"] = b"\xff\xd8\xff\xe0" + b"\x00" * 10
    entries["pics/notes.txt"] = b"ignored: not an image suffix"
    data = load_images(str(_zip(tmp_path / "pics.zip", entries)))
    assert data.skipped == 2
    assert data.x.shape == (20, 32, 32, 3)  # default size for uploads, center-cropped square
    assert data.labels is None and data.n_classes == 0
    assert data.name == "pics"


def test_upload_folder_labels_from_subfolders_and_grayscale(tmp_path):
    for cls in ("cats", "dogs"):
        (tmp_path / "set" / cls).mkdir(parents=True)
        for i in range(10):
            (tmp_path / "set" / cls / f"{i}.png").write_bytes(_png(i + (100 if cls == "dogs" else 0), gray=True))
    data = load_images(str(tmp_path / "set"), image_size=16)
    assert data.x.shape == (20, 16, 16, 1)  # all grayscale -> one channel
    assert data.class_names == ["cats", "dogs"] and data.n_classes == 2
    assert np.bincount(data.labels).tolist() == [10, 10]


def test_upload_too_few_images_is_bad_input(tmp_path):
    entries = {f"img{i}.png": _png(i) for i in range(5)}
    with pytest.raises(BadInput, match="only 5 readable image"):
        load_images(str(_zip(tmp_path / "few.zip", entries)))


def test_upload_bad_image_size_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="image size"):
        load_images("digits", image_size=4)


# ---------------------------------------------------------------- archive safety


@pytest.mark.parametrize(
    "evil",
    ["../escape.png", "ok/../../escape.png", "/tmp/ganstudio_abs_escape.png", "C:/escape.png", "..\\escape.png"],
)
def test_zip_traversal_rejected_and_nothing_written(tmp_path, evil):
    archive = _zip(tmp_path / "evil.zip", {"good.png": _png(0), evil: _png(1)})
    dest = tmp_path / "out" / "dest"
    before = _files_under(tmp_path)
    with pytest.raises(BadInput, match="archive rejected"):
        extract_archive(archive, dest)
    assert _files_under(tmp_path) - before <= {"out", "out/dest"}
    assert not any(dest.iterdir())
    assert not Path("/tmp/ganstudio_abs_escape.png").exists()


def test_zip_symlink_entry_rejected(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(BadInput, match="symbolic link"):
        extract_archive(archive, tmp_path / "dest")


def test_zip_bomb_capped(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.bmp": b"\x00" * (20 * 1024 * 1024)})
    assert archive.stat().st_size < 100_000
    with pytest.raises(BadInput, match="zip bomb"):
        extract_archive(archive, tmp_path / "dest")
    assert not any((tmp_path / "dest").iterdir())


def test_zip_caps_on_entries_and_unpacked_size(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"{i}.png": _png(i, size=8) for i in range(30)})
    with pytest.raises(BadInput, match="30 entries"):
        extract_archive(archive, tmp_path / "a", ArchiveLimits(max_entries=10))
    with pytest.raises(BadInput, match="unpacks to"):
        extract_archive(archive, tmp_path / "b", ArchiveLimits(max_unpacked_mb=0))


def test_not_a_zip_is_bad_input(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"hello")
    with pytest.raises(BadInput, match="not a zip"):
        extract_archive(fake, tmp_path / "dest")


def test_safe_zip_extracts_inside_dest(tmp_path):
    archive = _zip(tmp_path / "ok.zip", {"a/b/c.png": _png(0), "d.png": _png(1)})
    files = extract_archive(archive, tmp_path / "dest")
    assert sorted(p.relative_to((tmp_path / "dest").resolve()).as_posix() for p in files) == ["a/b/c.png", "d.png"]
