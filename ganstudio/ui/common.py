"""What every tab shares: who is asking, how handlers report mistakes, and how model work is scheduled."""

from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr
from gradio.exceptions import InvalidPathError
from gradio_client.utils import is_file_obj_with_meta

from ganstudio.actions import visitors
from ganstudio.checks import shown
from ganstudio.errors import StudioError
from ganstudio.settings import SETTINGS

# Events that run model work share one concurrency group: the engine schedules (and batches) device
# work itself, so this only bounds how many such requests hold a server thread at once. It must be
# well above the visitors at once: a generation holds its slot while it streams, and a slot short of
# that makes the next visitor's slider wait in Gradio's queue instead of joining the engine's batch.
DEVICE_WORK = {"concurrency_id": "device", "concurrency_limit": 64}
# The tabs' own endpoints: gradio_client may call them by name, but the API page and MCP offer the tools of
# ``ui/tools.py`` instead (these take and return what the page draws, not what a script or an assistant wants).
PAGE_API = {"api_visibility": "undocumented"}
LOG_CHARS = 160  # an expected mistake is logged as one line of at most this many characters

log = logging.getLogger("ganstudio")


def address_from(header: str | None, peer: str | None) -> str:
    """A visitor's address: behind a proxy, the first entry of the configured header; else the peer's."""
    forwarded = (header or "").split(",")[0].strip() if SETTINGS.client_header else ""
    return (forwarded or str(peer or ""))[:64]


def client_address(request: gr.Request | None) -> str:
    """The address of the visitor behind ``request`` (see ``address_from``)."""
    if request is None:
        return ""
    header = request.headers.get(SETTINGS.client_header) if SETTINGS.client_header else None
    return address_from(header, getattr(getattr(request, "client", None), "host", ""))


def owner(request: gr.Request | None) -> str:
    """The visitor's session id (Gradio's session hash), noted as active, from its address."""
    sid = (getattr(request, "session_hash", None) if request is not None else None) or "api"
    return visitors.visit(sid, client_address(request))


def opened_from_link(request: gr.Request | None) -> bool:
    """The page was opened from a shared link (Gradio's deep link): its widgets hold the sharer's values."""
    return request is not None and bool(request.query_params.get("deep_link"))


def share_button() -> gr.DeepLinkButton:
    """Copies a link that reopens this page as it is now (inputs and results) for whoever opens it."""
    return gr.DeepLinkButton("Share this result (copies a link)", "Link copied", size="sm", variant="secondary")


def user_error(err: StudioError | str) -> gr.Error:
    """The one-line message a visitor sees; logged as one short line, never as a traceback."""
    message = str(err)
    log.info("refused: %s", message[:LOG_CHARS])
    return gr.Error(message, print_exception=False)


def handled(fn):
    """Turn a handler's StudioError into a one-line gr.Error (generators too); other errors are bugs and
    keep their traceback in the log (the visitor sees Gradio's plain "Error")."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except StudioError as err:
                raise user_error(err) from None

        return generator

    @functools.wraps(fn)
    def plain(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StudioError as err:
            raise user_error(err) from None

    return plain


def name_fields_in_gradio_checks() -> None:
    """Gradio's own checks of number, choice and file inputs (ranges, choices, wrong JSON types, file data that is
    not an uploaded file) end as our one-line messages naming the field ("Seed: value -1 is less than minimum
    value 0"), never echo a long value and never log a traceback. Patched once, in place: subclassing a Gradio
    component would make Gradio write a .pyi stub next to our source."""
    for cls in (gr.Number, gr.Slider, gr.Dropdown, gr.Radio, gr.CheckboxGroup):
        if getattr(cls.preprocess, "names_its_field", False):
            continue
        cls.preprocess = _naming(cls.preprocess)
    if not getattr(gr.Blocks.preprocess_data, "checks_files", False):
        gr.Blocks.preprocess_data = _checking_files(gr.Blocks.preprocess_data)


def _checking_files(preprocess_data):
    """Gradio validates a file input's data (``{"path", "meta": {"_type": "gradio.FileData"}}``, a file uploaded
    here) before any handler runs; text, a number, a path or a URL in its place ended the call with no message.
    Too few values for an event ended it with a traceback in the log: both are one line now."""

    @functools.wraps(preprocess_data)
    async def wrapper(self, block_fn, inputs, state, explicit_call=False):
        wanted = sum(not isinstance(block, gr.State) for block in block_fn.inputs)  # a raw call sends no state
        if len(inputs) < wanted:
            raise user_error(f"this call takes {wanted} values, got {len(inputs)}")
        files = [(block, value) for block, value in zip(block_fn.inputs, inputs)
                 if isinstance(block, gr.File) and value is not None]
        for block, value in files:
            if not all(map(is_file_obj_with_meta, value if isinstance(value, list) else [value])):
                raise user_error(f"{block.label or 'file'}: expected a file uploaded to this app (gradio_client: "
                                 f"handle_file(path)), got {shown(value)}")
        try:
            return await preprocess_data(self, block_fn, inputs, state, explicit_call)
        except InvalidPathError:  # file data naming a file that was never uploaded here
            labels = ", ".join(str(block.label or "file") for block, _ in files) or "file"
            raise user_error(f"{labels}: that file was not uploaded to this app; upload it first (gradio_client: "
                             "handle_file(path))") from None

    wrapper.checks_files = True
    return wrapper


def _naming(preprocess):
    @functools.wraps(preprocess)
    def wrapper(self, payload):
        label = str(self.label or "value")
        if isinstance(payload, bool) and isinstance(self, (gr.Number, gr.Slider)):  # JSON true is not 1
            raise user_error(f"{label}: must be a number, got {payload}")
        try:
            return preprocess(self, payload)
        except gr.Error as err:
            message = " ".join(str(err.message).split()).rstrip(".")
            if len(message) > 120:
                message = message[:100] + "…"
            raise user_error(f"{label}: {message[:1].lower()}{message[1:]}") from None
        except Exception:
            what = "must be a number" if isinstance(self, (gr.Number, gr.Slider)) else "is not a valid choice"
            raise user_error(f"{label}: {what}, got {shown(payload)}") from None

    wrapper.names_its_field = True
    return wrapper
