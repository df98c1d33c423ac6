"""The whole app through its public API: launched in this process on a free loopback port, driven by gradio_client.

Each test does what a user does in one tab and checks what they would see: a training run whose step count
and picture move, sliders that change the grid, text that streams in and grows, heatmaps whose rows sum to one.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from app_server import in_process_app

from ganstudio.benchmarks.visitor import Visitor

gradio_client = pytest.importorskip("gradio_client")

POLL_TIMEOUT_S = 90.0  # the shared machine can be slow; a healthy run moves within a few seconds
RING8 = ("ring8", None, "mlp", "ns", 0, 30, 256, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0,
         "gan", 0.5, 0.999)  # train_start inputs


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    with in_process_app(tmp_path_factory.mktemp("app-data")) as url:
        yield url


@pytest.fixture
def client(app_url):
    """A fresh browser-like session per test (its own session hash, so its own training run)."""
    return gradio_client.Client(app_url, verbose=False)


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def step_of(status: str) -> int:
    """'running · step 57 · 2 s/20 s · ...' -> 57."""
    for part in status.split("·"):
        part = part.strip()
        if part.startswith("step "):
            return int(part.split()[1].split("/")[0])
    return -1


def poll_until(client, predicate, timeout: float = POLL_TIMEOUT_S):
    """Poll train_poll until predicate(outputs) holds; return those outputs."""
    deadline = time.monotonic() + timeout
    while True:
        outputs = client.predict(api_name="/train_poll")
        if predicate(outputs):
            return outputs
        assert time.monotonic() < deadline, f"train_poll never satisfied the condition; last status {outputs[0]!r}"
        time.sleep(0.2)


# ---- Train ----------------------------------------------------------------------------------


def live_view_call(url: str, fn_name: str, token: str, version: int):
    """What the page's live view does: POST /gradio_api/component_server/ for a frame or the curves."""
    config = json.loads(urllib.request.urlopen(f"{url}config", timeout=30).read())
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "train-live")
    body = json.dumps({"data": [token, version], "component_id": component, "fn_name": fn_name,
                       "session_hash": "page"}).encode()
    request = urllib.request.Request(f"{url}gradio_api/component_server/", data=body,
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_train_start_poll_stop_and_open_the_result_in_explore(client, app_url):
    idle = client.predict(api_name="/train_poll")
    assert idle[0].startswith("idle")

    status, timer, view = client.predict(*RING8, api_name="/train_start")[:3]
    assert "start" in status and timer["active"] is True and view["token"] and view["real"]
    with pytest.raises(gradio_client.exceptions.AppError, match="already training"):  # no second Start meanwhile
        client.predict(*RING8, api_name="/train_start")

    first = poll_until(client, lambda out: out[0].startswith("running") and step_of(out[0]) > 0)
    frame = live_view_call(app_url, "frame", view["token"], -1)
    later = poll_until(client, lambda out: step_of(out[0]) >= step_of(first[0]) + 20)
    newer = live_view_call(app_url, "frame", view["token"], frame["version"])
    assert newer["version"] > frame["version"] and newer["view"]["fake"] != frame["view"]["fake"], \
        "the live view did not change while training"
    assert live_view_call(app_url, "frame", view["token"][::-1], -1) is None  # another token sees nothing
    deadline = time.monotonic() + POLL_TIMEOUT_S  # the curves refresh about once a second, as the page sees them
    curves = live_view_call(app_url, "curves", view["token"], -1)
    while len(curves["history"]["loss_d"]) <= 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        curves = live_view_call(app_url, "curves", view["token"], -1)
    assert len(curves["history"]["loss_d"]) > 1, "no loss curve"
    assert "Modes captured" in later[2]

    stopped = client.predict(api_name="/train_stop")
    assert stopped.startswith("stopped") and "saved as" in stopped
    run_name = stopped.split("**")[1]
    assert "/" not in stopped, "a server path reached the page"

    after = client.predict(api_name="/train_poll")
    assert after[0].startswith("stopped") and len(after) == 4, "a poll sends values only (buttons follow in the page)"
    again = client.predict(api_name="/train_poll")
    assert step_of(again[0]) == step_of(after[0]), "a stopped run kept training"

    grid = client.predict(run_name, 0, 8, 1.0, -1, api_name="/sample")
    assert pixels(grid).std() > 0  # the session's own ring8 generator draws its scatter


def test_sessions_train_separately(app_url):
    one, two = gradio_client.Client(app_url, verbose=False), gradio_client.Client(app_url, verbose=False)
    one.predict(*RING8, api_name="/train_start")
    assert two.predict(api_name="/train_poll")[0].startswith("idle"), "a run leaked into another session"
    poll_until(one, lambda out: step_of(out[0]) > 0)
    with pytest.raises(gradio_client.exceptions.AppError, match="no training run"):
        two.predict(api_name="/train_stop")
    assert one.predict(api_name="/train_poll")[0].startswith("running"), "stopping B stopped A"
    one.predict(api_name="/train_stop")


# ---- Explore --------------------------------------------------------------------------------


def test_sample_and_sliders_change_the_grid(client):
    plain = pixels(client.predict("digits-dcgan", 0, 4, 1.0, -1, api_name="/sample"))
    other_seed = pixels(client.predict("digits-dcgan", 1, 4, 1.0, -1, api_name="/sample"))
    assert plain.std() > 10 and not np.array_equal(plain, other_seed)

    def explore(*sliders):
        return pixels(client.predict("digits-dcgan", 0, 4, 1.0, -1, "sefa", *sliders, api_name="/explore"))

    at_zero = explore(0, 0, 0, 0, 0, 0)
    moved = explore(3, 0, 0, 0, 0, 0)
    moved_back = explore(-3, 0, 0, 0, 0, 0)
    assert np.array_equal(at_zero, plain), "sliders at 0 should show the plain sample"
    assert np.abs(moved - plain).mean() > 1, "moving slider 1 did not change the grid"
    assert not np.array_equal(moved, moved_back)
    z_axis = pixels(client.predict("digits-dcgan", 0, 4, 1.0, -1, "z", 0, 3, 0, 0, 0, 0, api_name="/explore"))
    assert not np.array_equal(z_axis, plain)


def test_interpolate_gives_a_strip_and_an_animation(client):
    strip, animation, files, note = client.predict("digits-dcgan", 0, 1, 4, "slerp", 1.0, -1, api_name="/interpolate")
    with Image.open(strip) as picture:
        assert picture.width > 2 * picture.height  # four frames side by side
    with Image.open(animation) as gif:
        assert gif.format == "GIF" and gif.n_frames == 2 * 4 - 2  # A -> B, then back without repeating the ends
    assert any(str(f).endswith(".gif") for f in files)
    lerp = client.predict("digits-dcgan", 0, 1, 4, "lerp", 1.0, -1, api_name="/interpolate")[0]
    assert not np.array_equal(pixels(strip), pixels(lerp))


# ---- Text -----------------------------------------------------------------------------------


def streamed_tokens(outputs) -> list[dict]:
    """Put a generation's streamed updates back together, checking each starts where the last ended."""
    tokens: list[dict] = []
    for update in outputs:
        if update.get("tokens"):
            assert update["start"] == len(tokens), "an update skipped or repeated tokens"
            tokens += update["tokens"]
    return tokens


def test_generate_streams_only_the_new_tokens(client):
    prompt = "ROMEO.\nBut soft, "
    job = client.submit("shakespeare-gpt", prompt, 60, 0.8, 40, 1.0, 1.0, 0, "full speed", api_name="/generate")
    final = job.result(timeout=120)
    outputs = job.outputs()  # how many there are depends on the machine's speed: a few tokens each, or many
    assert outputs[0]["prompt_tail"] == prompt and all("prompt_tail" not in o for o in outputs[1:-1])
    tokens = streamed_tokens(outputs)
    # one output (a dict, not a tuple): any other would cost the server a component rebuild per update
    assert isinstance(final, dict) and final["done"] and final["count"] == len(tokens) and 1 <= len(tokens) <= 60
    # the last update repeats the prompt's tail and the text once, so a shared link can show the result
    assert final["prompt_tail"] == prompt and final["text"] == "".join(t["text"] for t in tokens)
    # each update is its new tokens plus a few fields: its size grows with what is new, never with what was sent
    # (the final one also repeats the prompt's tail and the text); how many tokens one update holds depends on speed
    for o in outputs[1:]:
        rest = {k: v for k, v in o.items() if k not in ("tokens", "prompt_tail", "text")}
        assert len(str(rest)) < 400 and all(len(str(t)) < 400 for t in o["tokens"]), "an update carried old tokens"
    again = client.predict("shakespeare-gpt", prompt, 60, 0.8, 40, 1.0, 1.0, 0, "full speed", api_name="/generate")
    assert again["text"] == final["text"], "the same seed gave another text"


def test_generation_streams_and_stops_when_asked(client):
    """Tokens show up while the generation runs, and Stop ends it short of its 1,024 tokens, saying so.
    (How many updates a second and how soon after Stop are speed, not behaviour: they are printed, not asserted.)"""
    job = client.submit("shakespeare-gpt", "ROMEO.\n", 1024, 0.8, 40, 1.0, 1.0, 3, "full speed", api_name="/generate")
    first_tokens = next((update for update in job if update.get("tokens")), None)  # waits for each update
    assert first_tokens is not None and not first_tokens["done"], "no tokens arrived before the generation ended"
    started = time.monotonic()
    client.predict(api_name="/stop_generation")
    final = job.result(timeout=60)
    print(f"{len(job.outputs())} updates, the last {(time.monotonic() - started) * 1000:.0f} ms after Stop")
    assert final["done"] and final["stop_reason"] == "stopped" and final["count"] < 1024
    assert final["count"] == len(streamed_tokens(job.outputs()))  # the page shows every token made, no more


# ---- Attention ------------------------------------------------------------------------------


def explorer_call(url: str, fn_name: str, args: list):
    """What the Attention explorer in the page does: a server-function POST."""
    config = json.loads(urllib.request.urlopen(f"{url}config", timeout=30).read())
    component = next(c["id"] for c in config["components"]
                     if c.get("props", {}).get("elem_id") == "attention-explorer")
    body = json.dumps({"data": args, "component_id": component, "fn_name": fn_name, "session_hash": "page"}).encode()
    request = urllib.request.Request(f"{url}gradio_api/component_server/", data=body,
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=60).read())


def matrix(payload: dict) -> np.ndarray:
    cells = np.frombuffer(base64.b64decode(payload["cells"]), np.uint8).reshape(payload["n"], payload["n"])
    return cells / 255 * payload["vmax"]


def test_text_attention_explorer(client, app_url):
    data, note = client.predict("shakespeare-gpt", "The king is dead.", 4, False, api_name="/attention")
    n = len(data["tokens"])
    assert data["prompt_len"] == 5 and 5 < n <= 9 and f"{n} tokens" in note  # the prompt, then what it generated
    rows = matrix(data["view"])
    opening = data["opening"]  # the most focused head, and why
    assert data["view"]["title"] == f"layer {opening['layer']}, head {opening['head']}" and rows.shape == (n, n)
    assert np.allclose(rows.sum(1), 1, atol=0.05) and np.all(np.triu(rows, 1) < 1e-6)  # rows sum to one, no future
    overview = data["overview"]
    assert len(base64.b64decode(overview["cells"])) == overview["layers"] * overview["heads"] * overview["side"] ** 2
    other = explorer_call(app_url, "view", [data["token"], "head", 1, 2, False])  # a click in the overview
    assert other["title"] == "layer 1, head 2" and other["cells"] != data["view"]["cells"]
    rollout = explorer_call(app_url, "view", [data["token"], "rollout", 0, 0, True])
    assert "rollout" in rollout["title"]
    steps = explorer_call(app_url, "explain", [data["token"], 1, 2, n - 1])
    weights = np.array([k["weight"] for k in steps["keys"]])
    assert np.allclose(weights, matrix(other)[n - 1], atol=other["vmax"] / 255 + 1e-6)
    assert len(steps["final"]) == 5 and abs(sum(k["weight"] for k in steps["keys"]) - 1) < 1e-5
    assert explorer_call(app_url, "view", [data["token"][::-1], "head", 0, 0, False]) is None


@pytest.fixture(scope="module")
def attention_gan(tmp_path_factory) -> str:
    """The bundled attention GAN if there is one, else a freshly initialised SAGAN saved the way the app saves."""
    from ganstudio.actions.attention import list_attention_gans

    bundled = list_attention_gans()
    if bundled:
        return bundled[0]
    import torch

    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    torch.manual_seed(0)
    spec = GanSpec(arch="sagan", z_dim=16, channels=1, image_size=16, width=8)
    parts = GanParts(spec=spec, generator=build_generator(spec).eval(), data="test", data_kind="image")
    return str(save_gan(tmp_path_factory.mktemp("gans") / "sagan", parts))


def test_gan_attention_follows_the_clicked_pixel(client, attention_gan):
    image, overlays, qx, qy, ablation, note = client.predict(attention_gan, 0, -1, 20, 30, -1, -1, False,
                                                             api_name="/gan_attention")
    assert (qx, qy) == (20, 30)
    assert overlays, "no attention layer shown"
    with Image.open(image) as picture:
        assert picture.size == (256, 256)
    _, elsewhere, _, _, _, _ = client.predict(attention_gan, 0, -1, 230, 200, -1, -1, False, api_name="/gan_attention")
    assert not np.array_equal(pixels(overlays[0]["image"]), pixels(elsewhere[0]["image"]))


# ---- the studio as an MCP server ----------------------------------------------------------------------


def mcp(app_url: str, method: str, params: dict) -> dict:
    """One JSON-RPC call to the app's MCP endpoint (streamable HTTP, stateless), as an MCP client makes it."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(app_url.rstrip("/") + "/gradio_api/mcp/", data=body, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
    with urllib.request.urlopen(request, timeout=240) as response:
        events = [line[6:] for line in response.read().decode().splitlines() if line.startswith("data: ")]
    return json.loads(events[-1])["result"]


def test_an_mcp_client_lists_the_studio_tools_and_calls_them(app_url):
    import io

    tools = {tool["name"]: tool for tool in mcp(app_url, "tools/list", {})["tools"]}
    assert set(tools) == {"sample_gan", "generate_text", "read_attention", "train_gan"}  # the page's events stay hidden
    for tool in tools.values():  # a description an assistant can act on, and typed, described arguments
        assert len(tool["description"]) > 40
        assert all(p.get("description") and ("type" in p or "enum" in p) for p in tool["inputSchema"]["properties"].values())
    assert tools["train_gan"]["inputSchema"]["properties"]["data"]["enum"][:2] == ["ring8", "grid25"]

    sampled = mcp(app_url, "tools/call", {"name": "sample_gan", "arguments": {"model": "digits-cdcgan", "n": 4, "seed": 1}})
    image = next(c for c in sampled["content"] if c["type"] == "image")
    picture = Image.open(io.BytesIO(base64.b64decode(image["data"])))
    assert picture.size[0] >= 2 * 28 and np.asarray(picture.convert("L")).std() > 20  # digits, not a blank

    call = {"name": "generate_text", "arguments": {"prompt": "ROMEO.", "max_new_tokens": 12, "seed": 3}}
    first, again = mcp(app_url, "tools/call", call), mcp(app_url, "tools/call", call)
    assert not first["isError"] and first["content"][0]["text"].strip()
    assert first["content"] == again["content"]  # same seed, same text

    read = mcp(app_url, "tools/call", {"name": "read_attention", "arguments": {"prompt": "To be or not to be", "head": 0}})
    assert "attends_to" in read["content"][0]["text"]

    trained = mcp(app_url, "tools/call", {"name": "train_gan", "arguments": {"data": "ring8", "seconds": 2}})
    kinds = [c["type"] for c in trained["content"]]
    assert "image" in kinds and any("modes" in c.get("text", "") for c in trained["content"]), trained["content"]

    refused = mcp(app_url, "tools/call", {"name": "sample_gan", "arguments": {"model": "/etc", "n": 4}})
    assert refused["isError"] and len(refused["content"][0]["text"].splitlines()) == 1


# ---- scripted clients ----------------------------------------------------------------------------------


def test_gradio_client_loses_a_call_sent_as_its_event_stream_closes(app_url, monkeypatch):
    """Why scripts on gradio_client see a rare CancelledError (about 1 % of calls with twenty clients, each a poller
    and a main loop), and the page and `bench load` never do: the client's own race, not the app's. Queued calls
    of one Client share one event stream, which the server closes once the session has nothing pending. A call
    sent while that close is on its way (by another thread, or by the same thread right after its previous
    answer, when a busy server is slow to send the close) is registered on the closing stream, and the client
    cancels it when it reads the close, although the server runs it. Here a call is sent exactly then. Calls
    through the HTTP API (`/call/<name>`, one stream per call) never meet it; see the README's "Scripting the
    studio"."""
    from concurrent.futures import CancelledError

    from gradio_client import client as client_module

    sample = ("digits-dcgan", 0, 4, 1.0, -1)
    client = gradio_client.Client(app_url, verbose=False)
    registered, late = threading.Event(), []
    send_data = client.send_data

    def send_and_tell(*args, **kwargs):
        event_id = send_data(*args, **kwargs)
        registered.set()
        return event_id

    def loads(text, **kwargs):
        message = json.loads(text, **kwargs)
        if message.get("msg") == "close_stream" and not late:  # the server closed the stream: nothing pending
            registered.clear()
            late.append(client.submit(*sample, api_name="/sample"))  # ...and a call is sent right now
            assert registered.wait(30)
        return message

    monkeypatch.setattr(client, "send_data", send_and_tell)
    monkeypatch.setattr(client_module, "json", SimpleNamespace(loads=loads, dumps=json.dumps))
    assert client.predict(*sample, api_name="/sample")  # the first call is answered
    with pytest.raises(CancelledError):
        late[0].result(timeout=30)  # the call sent as the stream closed is lost by the client
    monkeypatch.undo()
    assert client.predict(*sample, api_name="/sample")  # the next call opens a new stream
    visitor = Visitor(app_url)  # the HTTP API, a stream per call: what `bench load` and the README's recipe use
    assert visitor.call("sample", *sample)
    visitor.close()
