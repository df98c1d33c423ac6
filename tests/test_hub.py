"""The model store: bundled names, local folders, Hub downloads and pushes (against a loopback Hub)."""

from __future__ import annotations

import dataclasses
import json
import time
from types import SimpleNamespace

import pytest
import torch
from hub_server import TEST_TOKEN, model_files
from safetensors.torch import load_file

from ganstudio import hub, hub_download, hub_push, settings
from ganstudio.errors import (
    BadInput,
    BadModel,
    ModelNotFound,
    OfflineError,
    StudioError,
)

GAN_CONFIG = {"model_type": "ganstudio-gan", "arch": "dcgan", "data": "digits", "z_dim": 8}
GPT_CONFIG = {"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 16, "vocab_size": 50}


@pytest.fixture
def retry_waits(monkeypatch) -> list[float]:
    """The waits huggingface_hub's retry loops ask for, recorded instead of waited: a quick answer asks for none
    (its retries would take ~20 s)."""
    from huggingface_hub import file_download
    from huggingface_hub.utils import _http

    waits: list[float] = []
    for module in (_http, file_download):
        monkeypatch.setattr(module, "time", SimpleNamespace(**{**vars(time), "sleep": waits.append}))
    return waits


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    """A fake bundled-weights folder with a GAN, a GPT and a classifier."""
    root = tmp_path / "weights"
    for name, config in {
        "digits-dcgan": GAN_CONFIG,
        "tiny-gpt": GPT_CONFIG,
        "digits-classifier": {"model_type": "ganstudio-classifier"},
    }.items():
        (root / name).mkdir(parents=True)
        for filename, content in model_files(config).items():
            (root / name / filename).write_bytes(content)
    (root / ".digits-dcgan.tmp123").mkdir()  # a save_model temp folder is not a model
    (root / ".digits-dcgan.tmp123" / "config.json").write_text(json.dumps(GAN_CONFIG))
    monkeypatch.setattr(settings, "SETTINGS", dataclasses.replace(settings.SETTINGS, weights_dir=root))
    return root


def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# ------------------------------------------------------------------------------------------ downloads


def test_download_by_repo_id_reports_progress(hub_server):
    files = model_files(GAN_CONFIG, extra={"README.md": "# tiny"})
    hub_server.add_repo("acme/tiny-gan", {"main": files})
    lines: list[str] = []

    folder = hub.resolve("acme/tiny-gan", progress=lines.append)

    assert folder.name == hub_server.commit_sha("acme/tiny-gan")
    assert json.loads((folder / "config.json").read_text()) == GAN_CONFIG
    assert torch.equal(load_file(folder / "model.safetensors")["weight"], torch.arange(6.0).reshape(2, 3))
    assert (folder / "README.md").read_text() == "# tiny"
    assert not (folder / "tokenizer.json").exists()  # optional and absent on the Hub: skipped
    assert lines == []  # small files arrive at once: nothing to report


def test_large_download_reports_percentages(hub_server):
    tensors = {"weight": torch.zeros(600_000)}  # 2.4 MB
    hub_server.add_repo("acme/big", {"main": model_files(GAN_CONFIG, tensors)})
    lines: list[str] = []
    hub.resolve("acme/big", progress=lines.append)
    assert "downloading model.safetensors (2.4 MB)…" in lines
    assert lines[-1] == "model.safetensors: 100%"


def test_revision_tag_branch_and_commit(hub_server):
    shas = hub_server.add_repo("acme/gen", {"main": model_files(GAN_CONFIG), "v1": model_files(GPT_CONFIG)})

    main = hub.resolve("acme/gen")
    v1 = hub.resolve("acme/gen@v1")
    pinned = hub.resolve(f"acme/gen@{shas['v1']}")

    assert main != v1
    assert hub.model_kind(main) == "gan" and hub.model_kind(v1) == "gpt"
    assert pinned == v1 and pinned.name == shas["v1"]


def test_cache_hit_then_server_down_then_offline(hub_server, retry_waits, monkeypatch):
    hub_server.add_repo("acme/tiny-gan", {"main": model_files(GAN_CONFIG)})
    first = hub.resolve("acme/tiny-gan")
    hub_server.reset_counts()

    lines: list[str] = []
    assert hub.resolve("acme/tiny-gan", progress=lines.append) == first
    assert hub_server.count("GET") == 0  # nothing downloaded again: only metadata checks
    assert lines == []

    hub_server.stop()
    assert hub.resolve("acme/tiny-gan") == first  # Hub unreachable: the cache answers, without retry backoff
    assert retry_waits == []

    _offline(monkeypatch)
    assert hub.resolve("acme/tiny-gan") == first


# ------------------------------------------------------------------------------------------ errors


def test_repo_not_found(hub_server):
    with pytest.raises(ModelNotFound, match=r"'acme/nope' not found .*HF_TOKEN"):
        hub.resolve("acme/nope")


def test_revision_not_found(hub_server):
    hub_server.add_repo("acme/tiny-gan", {"main": model_files(GAN_CONFIG)})
    with pytest.raises(ModelNotFound, match=r"revision 'v9' not found in Hub repo 'acme/tiny-gan'"):
        hub.resolve("acme/tiny-gan@v9")


def test_file_not_found_names_the_file(hub_server):
    files = model_files(GAN_CONFIG)
    del files["config.json"]
    hub_server.add_repo("acme/no-config", {"main": files})
    with pytest.raises(ModelNotFound, match=r"acme/no-config has no file 'config.json'"):
        hub.resolve("acme/no-config")


def test_offline_with_nothing_cached_lists_bundled_models(hub_server, weights_dir, monkeypatch):
    hub_server.add_repo("acme/tiny-gan", {"main": model_files(GAN_CONFIG)})
    _offline(monkeypatch)
    with pytest.raises(OfflineError) as err:
        hub.resolve("acme/tiny-gan")
    message = str(err.value)
    assert "offline" in message and "digits-dcgan" in message and "tiny-gpt" in message
    assert "\n" not in message
    assert hub_server.count() == 0


def test_unreachable_hub_with_nothing_cached_is_offline_error(hub_server, weights_dir, retry_waits):
    hub_server.stop()
    with pytest.raises(OfflineError, match="offline.*digits-dcgan"):
        hub.resolve("acme/tiny-gan")
    assert retry_waits == []  # one quick probe, not the library's 20 s of retries


def test_pickle_only_repo_is_refused_without_downloading_the_pickle(hub_server):
    hub_server.add_repo(
        "acme/old-gan", {"main": {"config.json": json.dumps(GAN_CONFIG).encode(), "pytorch_model.bin": b"\x80pickle"}}
    )
    with pytest.raises(BadModel, match=r"pytorch_model\.bin.*never unpickles"):
        hub.resolve("acme/old-gan")
    assert hub_server.count("GET", "pytorch_model.bin") == 0


@pytest.mark.parametrize(
    "spec",
    ["has space/model", "acme/../etc", "a/b/c", "acme/" + "x" * 200, "acme/tiny@bad rev", "acme/tiny@../x",
     "not-a-bundled-model"],
)
def test_malformed_or_unknown_spec_fails_before_any_network(hub_server, weights_dir, spec):
    with pytest.raises(ModelNotFound) as err:
        hub.resolve(spec)
    assert "digits-dcgan" in str(err.value) and "\n" not in str(err.value)
    assert hub_server.count() == 0


def test_empty_spec_and_missing_folder(hub_server):
    with pytest.raises(BadInput, match="no model given"):
        hub.resolve("  ")
    with pytest.raises(ModelNotFound, match="no model folder"):
        hub.resolve("./no/such/folder")
    assert hub_server.count() == 0


# ------------------------------------------------------------------------------------------ local


def test_bundled_name_and_local_folder_need_no_network(hub_server, weights_dir, tmp_path):
    assert hub.resolve("digits-dcgan") == weights_dir / "digits-dcgan"
    assert hub.resolve("digits-classifier") == weights_dir / "digits-classifier"
    assert hub.resolve(str(weights_dir / "tiny-gpt")) == weights_dir / "tiny-gpt"
    assert hub_server.count() == 0

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps(GAN_CONFIG))
    (pickled / "pytorch_model.bin").write_bytes(b"\x80")
    with pytest.raises(BadModel, match="never unpickles"):
        hub.resolve(str(pickled))


def test_bundled_models_lists_gans_and_gpts(weights_dir):
    models = hub.bundled_models()
    assert list(models) == ["digits-dcgan", "tiny-gpt"]  # classifier and temp folders skipped
    assert models["digits-dcgan"] == {
        "kind": "gan", "path": str(weights_dir / "digits-dcgan"), "arch": "dcgan", "data": "digits", "z_dim": 8
    }
    assert models["tiny-gpt"]["kind"] == "gpt" and models["tiny-gpt"]["n_layer"] == 2


def test_bundled_models_tolerates_missing_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "SETTINGS", dataclasses.replace(settings.SETTINGS, weights_dir=tmp_path / "none"))
    assert hub.bundled_models() == {}


def test_model_kind(tmp_path):
    for config, kind in [(GAN_CONFIG, "gan"), (GPT_CONFIG, "gpt"), ({"model_type": "ganstudio-classifier"},
                         "classifier"), ({"n_embd": 8, "n_layer": 1}, "gpt")]:
        (tmp_path / "config.json").write_text(json.dumps(config))
        assert hub.model_kind(tmp_path) == kind
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(BadModel, match="unknown model_type 'bert'"):
        hub.model_kind(tmp_path)


# ------------------------------------------------------------------------------------------ push


def _saved_model(tmp_path):
    folder = tmp_path / "my-gan"
    folder.mkdir()
    for name, content in model_files(GAN_CONFIG, extra={"README.md": "---\nlicense: mit\n---\n# my gan\n"}).items():
        (folder / name).write_bytes(content)
    (folder / "model.pt").write_bytes(b"\x80pickle")  # must never be published
    return folder


def test_push_round_trip(hub_server, tmp_path):
    folder = _saved_model(tmp_path)
    (folder / "model.pt").unlink()
    url = hub_push.push_to_hub(folder, "me/my-gan", token=TEST_TOKEN)

    assert url == f"{hub_server.url}/me/my-gan"
    pushed = hub_server.files("me/my-gan")
    assert pushed["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    assert "model.pt" not in pushed
    assert all(r.authorization == f"Bearer {TEST_TOKEN}" for r in hub_server.requests if r.method == "POST")

    downloaded = hub.resolve("me/my-gan")
    assert (downloaded / "config.json").read_bytes() == (folder / "config.json").read_bytes()

    hub_push.push_to_hub(folder, "me/my-gan", token=TEST_TOKEN, commit_message="again")  # existing repo is fine


def test_push_skips_pickles(hub_server, tmp_path):
    folder = _saved_model(tmp_path)
    hub_push.push_to_hub(folder, "me/my-gan", token=TEST_TOKEN)
    assert "model.pt" not in hub_server.files("me/my-gan")


def test_push_without_token_asks_to_log_in(hub_server, tmp_path):
    with pytest.raises(BadInput, match="hf auth login"):
        hub_push.push_to_hub(_saved_model(tmp_path), "me/my-gan")
    assert hub_server.count() == 0


def test_push_errors_never_show_the_token(hub_server, tmp_path):
    folder = _saved_model(tmp_path)
    with pytest.raises(BadInput, match="rejected the token") as err:
        hub_push.push_to_hub(folder, "me/my-gan", token="hf_wrongSecretToken42")
    assert "hf_wrongSecretToken42" not in str(err.value)

    hub_server.fail_with = (500, f"server echoed {TEST_TOKEN}")
    with pytest.raises(StudioError) as err:
        hub_push.push_to_hub(folder, "me/my-gan", token=TEST_TOKEN)
    assert TEST_TOKEN not in str(err.value) and "\n" not in str(err.value)


def test_push_bad_repo_id(hub_server, tmp_path):
    with pytest.raises(BadInput, match="bad repo id"):
        hub_push.push_to_hub(_saved_model(tmp_path), "no slash", token=TEST_TOKEN)


def test_private_repo_uses_hf_token_from_environment(hub_server, monkeypatch):
    hub_server.add_repo("acme/secret-gan", {"main": model_files(GAN_CONFIG)}, private=True)
    with pytest.raises(ModelNotFound, match="HF_TOKEN"):
        hub.resolve("acme/secret-gan")
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    assert hub.model_kind(hub.resolve("acme/secret-gan")) == "gan"


def test_push_uses_hf_token_from_environment(hub_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    assert hub_push.push_to_hub(_saved_model(tmp_path), "me/env-gan", private=True).endswith("/me/env-gan")
    assert hub_server.files("me/env-gan")["config.json"] == json.dumps(GAN_CONFIG).encode()


def test_gpt2_is_offered_first_where_the_hub_answers(hub_server, monkeypatch):
    from ganstudio.actions import text

    monkeypatch.setattr(hub_download, "_reachable", {})
    hub_server.add_repo("openai-community/gpt2", {"main": model_files(GPT_CONFIG)})
    assert text.list_text_models()[0] == "openai-community/gpt2"
    monkeypatch.setattr(hub_download, "_reachable", {})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert text.list_text_models()[0] == "shakespeare-gpt"  # offline: the bundled model, which needs no network
