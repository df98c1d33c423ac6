"""The Gradio app: five tabs wired to `ganstudio.actions`. No torch here."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from ganstudio.actions import system, visitors
from ganstudio.sessions import SESSIONS
from ganstudio.settings import SETTINGS
from ganstudio.ui.attention_tab import build_attention_tab
from ganstudio.errors import StudioError
from ganstudio.ui.common import DEVICE_WORK, name_fields_in_gradio_checks, owner, user_error
from ganstudio.ui.explore_tab import build_explore_tab
from ganstudio.ui.text_tab import build_text_tab
from ganstudio.ui.textgan_tab import build_textgan_tab
from ganstudio.ui.tools import TOOLS, UNQUEUED
from ganstudio.ui.train_tab import build_train_tab
from ganstudio.ui.upload_guard import UploadGuard

QUEUE_SIZE = 64  # requests waiting beyond this get "queue full" instead of piling up
EVENT_CONCURRENCY = 64  # events served at once; the engine schedules device work itself
MAX_THREADS = 128  # Gradio's worker threads: every waiting model request holds one
MAX_FILE_SIZE = f"{SETTINGS.max_upload_mb}mb"
# Gradio's own copies of files it served (downloads, uploads): checked every 5 min, removed after 15 min.
DELETE_CACHE = (300, 900)

INTRO = (
    "# GAN Studio\n"
    "Train a GAN live, steer pretrained generators, generate text with our own GPT, and see what attention looks at."
)


def _configure_logging() -> None:
    """One short line per refused request on stderr (see ``common.user_error``); Gradio keeps tracebacks for bugs."""
    log = logging.getLogger("ganstudio")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s ganstudio %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _remember_absent_matplotlib() -> None:
    """Gradio tries ``import matplotlib`` twice around every event (to switch its backend). Where it is not
    installed, each failed import searches every path again: ~9 % of the event loop's time at 20 visitors
    (py-spy). A ``None`` entry in ``sys.modules`` makes the same import fail at once, as it would anyway."""
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


def open_in_explore(request: gr.Request):
    """Save the visitor's run if needed, switch to Explore and select it there (its samples and sliders follow)."""
    from ganstudio.actions import train as train_actions
    from ganstudio.actions.generators import list_generators

    who = owner(request)
    try:
        name = train_actions.open_latest(who)
    except StudioError as err:
        raise user_error(err) from None
    choices = list_generators(who)
    return gr.Tabs(selected="explore"), gr.update(choices=choices, value=name), f"opened **{name}** in Explore"


TAB_IDS = {"Train": "train", "Explore": "explore", "Text": "text", "Text GAN": "textgan", "Attention": "attention"}


def remember_tab(evt: gr.SelectData):
    """The session's state follows the open tab, so a link shared from it opens on the same tab."""
    return gr.Tabs(selected=TAB_IDS.get(evt.value, "train"))


def _end_session(request: gr.Request) -> None:
    if request is not None and request.session_hash:
        visitors.end_session(request.session_hash)


_served: list[gr.Blocks] = []  # the demo build_demo made last: the one whose page states are ours to drop


def _page_states():
    """Gradio's per-session copies of the page (``state_holder``, set when the demo launches; None before)."""
    return getattr(_served[-1], "state_holder", None) if _served else None


def _drop_page_state(session) -> None:
    """A session that ended (tab closed, or silent for ``session_idle_s``) needs no page state: free it now,
    instead of when ``page_states`` newer sessions have pushed it out."""
    holder = _page_states()
    if holder is not None:
        with holder.lock:
            holder.session_data.pop(session.id, None)
            holder.time_last_used.pop(session.id, None)


SESSIONS.on_end.append(_drop_page_state)


def server_stats() -> dict:
    """The engine's batching figures, and how many sessions' page states Gradio holds (tests and benchmarks)."""
    holder = _page_states()
    return {**system.engine_stats(), "page_states": len(holder.session_data) if holder is not None else 0}


def build_demo() -> gr.Blocks:
    _configure_logging()
    _remember_absent_matplotlib()
    name_fields_in_gradio_checks()
    visitors.start_up(shared_links=Path(get_upload_folder()) / "deep_links")  # where Gradio keeps shared links
    info = system.status()
    with gr.Blocks(title="GAN Studio", delete_cache=DELETE_CACHE) as demo:
        _served[:] = [demo]
        gr.Markdown(INTRO)
        gr.Markdown(f"Device: **{info['device']}** · bundled models: {', '.join(info['bundled']) or 'none'}")
        with gr.Tabs() as tabs:
            shared = {"demo": demo}  # what a tab may wire to beyond its own widgets
            with gr.Tab("Train", id="train"):
                train = build_train_tab(shared)
            with gr.Tab("Explore", id="explore") as explore_page:
                shared["explore_page"] = explore_page
                explore = build_explore_tab(shared)
            with gr.Tab("Text", id="text"):
                build_text_tab(shared)
            with gr.Tab("Text GAN", id="textgan"):
                build_textgan_tab(shared)
            with gr.Tab("Attention", id="attention"):
                build_attention_tab(shared)
        train.to_explore.click(open_in_explore, None, [tabs, explore.model, train.status], api_visibility="private")
        tabs.select(remember_tab, None, tabs, queue=False, show_progress="hidden", api_visibility="private")
        gr.api(server_stats, api_name="engine_stats", api_visibility="undocumented")  # load tests read it
        for tool in TOOLS:  # what assistants (MCP) and the API page see
            gr.api(tool, api_name=tool.__name__, **({"queue": False} if tool in UNQUEUED else DEVICE_WORK))
        demo.unload(_end_session)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=EVENT_CONCURRENCY)
    return demo


def launch_kwargs() -> dict:
    """Where and how `python app.py` serves: loopback locally, all interfaces on a Space, never a share link.

    Visitors' files (saved runs, downloads) live in their private session folders, which Gradio
    may serve; nothing else of the data folder is reachable.
    """
    SESSIONS.root.mkdir(parents=True, exist_ok=True)
    return {
        "server_name": SETTINGS.host,
        "server_port": SETTINGS.port,
        "share": False,
        "max_file_size": MAX_FILE_SIZE,
        "show_error": False,  # a bug shows a plain "Error"; our own messages (gr.Error) always show
        "allowed_paths": [str(SESSIONS.root)],
        "max_threads": MAX_THREADS,
        "state_session_capacity": SETTINGS.page_states,
        "mcp_server": True,  # /gradio_api/mcp/: the tools of ganstudio.ui.tools, for assistants
        # uploads are admitted by size (disk reserve, each address's share) before Gradio writes them
        "app_kwargs": {"middleware": [Middleware(UploadGuard, folder=get_upload_folder(), window_s=sum(DELETE_CACHE))]},
    }
