"""Weight I/O: strict loading, atomic saving, no pickles."""

import json

import pytest
import torch

from ganstudio.errors import BadModel
from ganstudio.weights_io import load_into, read_config, read_state_dict, save_model


def tiny():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def test_round_trip_is_exact(tmp_path):
    model = tiny()
    folder = save_model(tmp_path / "m", {"model_type": "test", "width": 4}, model.state_dict(), card="# card\n")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert read_config(folder) == {"model_type": "test", "width": 4}
    other = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    load_into(other, read_state_dict(folder))
    x = torch.randn(5, 3)
    assert torch.equal(model(x), other(x))


def test_save_replaces_atomically_and_leaves_no_temp(tmp_path):
    save_model(tmp_path / "m", {"v": 1}, tiny().state_dict())
    save_model(tmp_path / "m", {"v": 2}, tiny().state_dict())
    assert read_config(tmp_path / "m") == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_failed_save_keeps_the_old_model(tmp_path):
    save_model(tmp_path / "m", {"v": 1}, tiny().state_dict())
    with pytest.raises(TypeError):
        save_model(tmp_path / "m", {"v": object()}, tiny().state_dict())  # config not JSON-serialisable
    assert read_config(tmp_path / "m") == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_shape_mismatch_and_missing_keys_are_one_line(tmp_path):
    folder = save_model(tmp_path / "m", {}, tiny().state_dict())
    wider = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with pytest.raises(BadModel, match=r"shape mismatch for 0.weight: checkpoint \(4, 3\), config expects \(8, 3\)"):
        load_into(wider, read_state_dict(folder))
    deeper = torch.nn.Sequential(*tiny(), torch.nn.Linear(2, 2))
    with pytest.raises(BadModel, match="missing 2 key"):
        load_into(deeper, read_state_dict(folder))


def test_pickle_only_folder_is_refused_unopened(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04 this would be a pickle")
    with pytest.raises(BadModel, match="never unpickles"):
        read_state_dict(tmp_path)


def test_malformed_config_and_corrupt_weights(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(BadModel, match="malformed config.json"):
        read_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps([1, 2]))
    with pytest.raises(BadModel, match="expected a JSON object"):
        read_config(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00garbage")
    with pytest.raises(BadModel, match="unreadable model.safetensors"):
        read_state_dict(tmp_path)


def test_saved_model_is_readable_by_others(tmp_path):
    folder = save_model(tmp_path / "m", {}, tiny().state_dict(), card="# card\n")
    assert folder.stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o644}
