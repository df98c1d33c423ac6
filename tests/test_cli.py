"""The CLI's foundation: info, one-line errors."""

import json
import subprocess
import sys

from ganstudio.settings import REPO_ROOT


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ganstudio", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_info_json_is_one_line_with_device_and_bundled_models():
    result = cli("info", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    info = json.loads(lines[0])
    assert info["device"] == "cpu"
    assert info["bundled"], "bundled weights make the app work offline"
    for name, meta in info["bundled"].items():
        assert meta["kind"] in ("gan", "gpt"), name
    assert {"gan", "gpt"} <= {meta["kind"] for meta in info["bundled"].values()}


def test_usage_errors_are_one_line_and_non_zero():
    result = cli("bench", "nonsense")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert result.stdout == ""
