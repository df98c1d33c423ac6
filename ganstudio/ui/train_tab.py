"""Train tab: pick data and a GAN, press Start, watch it learn — GAN Lab's view, for 2D and images.

Widgets only; every computation is a call into ``ganstudio.actions.train`` / ``train_view``. The live
view (``live_view.py``) draws itself in the browser from compact frames, many times a second; a 1 s
timer refreshes the numbers and the game's terms, and the buttons follow when the run's state changes.
API endpoints: ``train_start`` (data, upload, arch, loss, steps, seconds, batch size, latent size, lr G, lr D,
D steps, EMA, spectral norm, DiffAugment, conditional, seed, packing, R1 γ, gradient clipping, model family, Adam β1,
Adam β2; the betas apply to both nets) -> status, ``train_poll`` -> status, progress, metrics, game (plain values),
``train_pause`` (pause or resume), ``train_stop``, ``train_save`` -> zip, ``train_push`` (repo id, private).
"""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import train as actions
from ganstudio.actions import train_view
from ganstudio.errors import StudioError
from ganstudio.settings import SETTINGS
from ganstudio.ui import train_texts
from ganstudio.ui.common import DEVICE_WORK, PAGE_API, owner, user_error
from ganstudio.ui.family import build_family, wire_family
from ganstudio.ui.layer_summary import build_layer_summary, wire_layer_summary
from ganstudio.ui.lessons import build_lessons, wire_lessons
from ganstudio.ui.live_controls import build_live_controls, wire_live_controls
from ganstudio.ui.live_view import live_view
from ganstudio.ui.recipe import build_recipe, wire_recipe
from ganstudio.ui.train_readouts import GAME_CSS, game_html, metrics_text, progress_bar

DATA_CHOICES = [
    ("8 Gaussians on a ring (2D)", "ring8"),
    ("25 Gaussians on a grid (2D)", "grid25"),
    ("Two-arm spiral (2D)", "spiral"),
    ("Two moons (2D)", "moons"),
    ("Your own points (2D: click the canvas)", "custom"),
    ("Handwritten digits, 5k bundled (images)", "digits"),
    ("MNIST (images, download)", "mnist"),
    ("Fashion-MNIST (images, download)", "fashion-mnist"),
    ("CIFAR-10 (images, download)", "cifar10"),
    ("Upload a zip of images", "upload"),
]
TOY = ("ring8", "grid25", "spiral", "moons", "custom")
ARCH_CHOICES = [("MLP (2D)", "mlp"), ("DCGAN", "dcgan"), ("SAGAN (self-attention)", "sagan"),
                ("Transformer G (TransGAN-style)", "transformer"), ("MLP (the articles')", "fc")]
LOSS_CHOICES = [("non-saturating", "ns"), ("saturating (the original minimax)", "minimax"), ("least squares", "lsgan"),
                ("hinge", "hinge"), ("WGAN-GP", "wgan-gp")]
AUG_CHOICES = ["translation", "cutout", "color"]
LIVE = ("queued", "running", "paused", "saving")  # "saving": finished, its save not yet done (the page keeps polling)
IDLE = ("idle", False)  # (state, saved) before any run: what the buttons are built for
STARTING = ("starting", False)  # shown between Start's answer and the first poll of the new run
POLL_S = 1.0  # numbers, curves and button states; the picture has its own, faster loop

# ---- the buttons -------------------------------------------------------------------------------


def _buttons(state: str, saved: bool, vae: bool = False) -> list:
    """[start, pause, stop, reset, step D, step G, step D+G, save, explore]: enabled only when they can act (a VAE
    has no D: only Step D+G, one step of its encoder and decoder)."""
    live = state in LIVE
    return [
        gr.update(interactive=not live),
        gr.update(interactive=state in ("running", "paused"), value="Resume" if state == "paused" else "Pause"),
        gr.update(interactive=live),
        gr.update(interactive=state != "idle"),
        *[gr.update(interactive=state == "paused" and not vae)] * 2,
        gr.update(interactive=state == "paused"),
        gr.update(interactive=state in ("running", "paused") or saved),
        gr.update(interactive=state in ("running", "paused") or saved),
    ]


def _params(data, upload, arch, loss, steps, seconds, batch, z_dim, lr_g, lr_d, d_steps, ema, sn, diffaug,
            conditional, seed, pack=None, r1=None, grad_clip=None, family=None, beta1=None, beta2=None,
            points=None) -> tuple[dict, str | None]:
    upload_path = None
    if data == "upload":
        if not upload:
            raise StudioError("upload a zip of images first")
        upload_path = upload if isinstance(upload, str) else getattr(upload, "name", str(upload))
    return {
        "data": data, "arch": arch, "loss": loss, "steps": steps, "seconds": seconds, "batch_size": batch,
        "z_dim": z_dim, "lr_g": lr_g, "lr_d": lr_d, "d_steps": d_steps, "ema": ema, "spectral_norm": sn,
        "diffaug": ",".join(diffaug or []), "conditional": conditional, "seed": seed, "pack": pack, "r1": r1,
        "grad_clip": grad_clip, "family": family, "beta1_g": beta1, "beta1_d": beta1, "beta2_g": beta2,
        "beta2_d": beta2,
        "custom_points": (points or []) if data == "custom" else None,
    }, upload_path


# ---- handlers (module level; the layout below wires them) ---------------------------------------


def on_data(choice, points, seed, family, request: gr.Request):
    """Another data set: its preset, which inputs apply, and the real data in the view before Start
    (a live run keeps the view until it ends)."""
    toy = choice in TOY
    p = actions.default_params("uploaded-images" if choice == "upload" else choice, family)
    live = actions.poll_training(owner(request))["state"] in LIVE
    preview = gr.skip() if live else train_view.preview(choice if choice != "upload" else "upload", points, seed or 0)
    return [gr.update(visible=choice == "upload"), gr.update(visible=choice == "custom"),
            gr.update(value=p["arch"], choices=ARCH_CHOICES[:1] if toy else ARCH_CHOICES[1:]), p["loss"], p["steps"],
            p["seconds"], p["batch_size"], p["z_dim"], p["lr_g"], p["lr_d"], p["d_steps"], p["ema"],
            p["spectral_norm"], [a for a in AUG_CHOICES if a in p["diffaug"].split(",")], p["conditional"], p["pack"],
            p["r1"], p["grad_clip"], p["beta1_g"], p["beta2_g"], gr.update(visible=toy), preview]


def on_canvas_click(points, evt: gr.SelectData):
    try:
        new_points, picture = actions.add_custom_point(points, evt.index[0], evt.index[1])
    except StudioError as err:
        raise user_error(err) from None
    return new_points, picture, train_view.preview("custom", new_points)


def on_clear_points():
    return [], actions.custom_canvas([]), train_view.preview("custom", [])


def on_start(data, upload, arch, loss, steps, seconds, batch, z_dim, lr_g, lr_d, d_steps, ema, sn, diffaug,
             conditional, seed, pack, r1, grad_clip, family, beta1, beta2, points, request: gr.Request):
    """Start a run (refused while this visitor's run is live: stop it first)."""
    who = owner(request)
    try:
        params, upload_path = _params(data, upload, arch, loss, steps, seconds, batch, z_dim, lr_g, lr_d, d_steps,
                                      ema, sn, diffaug, conditional, seed, pack, r1, grad_clip, family, beta1,
                                      beta2, points)
        actions.start_training(who, params, upload=upload_path, replace=False)
        value = actions.live_value(who)
    except StudioError as err:
        raise user_error(err) from None
    # shown_state "starting" (no poll says that): the next change of it reads the new run, whatever a poll that left
    # before Start brings back
    return ["starting…", gr.update(active=True), value, STARTING, *_buttons("queued", False)]


def on_poll(request: gr.Request):
    """Numbers, the game's terms, and the run's state for the buttons (`on_controls` redraws them when it changes);
    the picture and the curves refresh themselves in the page. Plain values only: Gradio 6 rebuilds a component in
    the session's state for every update it is sent, `gr.skip()` included, and a poll comes every second."""
    info = actions.poll_training(owner(request))
    snap = info.get("snapshot") or {}
    return [info["text"], progress_bar(info["progress"], info["state"]), metrics_text(snap), game_html(snap),
            _shown(info)]


def _shown(info: dict) -> tuple[str, bool]:
    return ("saving" if info.get("ending") else info["state"], bool(info.get("saved")))


def on_controls(shown: tuple[str, bool], request: gr.Request):
    """The shown (state, saved) changed: the timer and the buttons follow the run as it is now. A poll that left
    before Start may land after it with the old run's "done"; trusting it would stop the timer on a live run."""
    info = actions.poll_training(owner(request))
    state, saved = _shown(info)
    return [gr.update(active=state in LIVE), *_buttons(state, saved, info.get("family") == "vae")]


def on_pause(request: gr.Request):
    """Pause, or resume a paused run."""
    who = owner(request)
    try:
        info = actions.poll_training(who)
        info = actions.resume_training(who) if info["state"] == "paused" else actions.pause_training(who)
    except StudioError as err:
        raise user_error(err) from None
    return [info["text"], gr.update(active=True),
            *_buttons(info["state"], bool(info.get("saved")), info.get("family") == "vae")]


def on_stop(request: gr.Request):
    try:
        result = actions.stop_training(owner(request))
    except StudioError as err:
        raise user_error(err) from None
    text = (f"stopped · saved as **{result['run']}** (Save downloads it, Open in Explore shows it)"
            if result["saved"] else "stopped")
    return [text, *_buttons("done", result["saved"])]


def on_step(which: str, request: gr.Request):
    try:
        info = actions.single_step(owner(request), which)
    except StudioError as err:
        raise user_error(err) from None
    snap = info["snapshot"]
    return [info["text"], metrics_text(snap), game_html(snap)]


def on_step_d(request: gr.Request):
    return on_step("d", request)


def on_step_g(request: gr.Request):
    return on_step("g", request)


def on_step_both(request: gr.Request):
    return on_step("both", request)


def on_reset(data, points, seed, request: gr.Request):
    actions.reset(owner(request))
    return ["idle: press Start", progress_bar(0.0, "idle"), "", game_html({}), gr.update(active=False), IDLE,
            train_view.preview(data if data != "upload" else "upload", points, seed or 0), *_buttons(*IDLE)]


def on_save(request: gr.Request):
    try:
        return actions.save_checkpoint(owner(request))
    except StudioError as err:
        raise user_error(err) from None


def on_push(repo_id, is_private, request: gr.Request, oauth_token: gr.OAuthToken | None = None):
    try:
        url = actions.push_checkpoint(owner(request), repo_id, token=oauth_token.token if oauth_token else None,
                                      private=is_private)
    except StudioError as err:
        raise user_error(err) from None
    return f"pushed: [{url}]({url})"


def _token_and_version(args) -> tuple:
    return tuple((list(args) + [None, -1])[:2]) if isinstance(args, (list, tuple)) else (None, -1)


def frame(args):
    """Server function the live view calls ~14 times a second: [token, version] -> the newer frame or None."""
    return train_view.live_frame(*_token_and_version(args))


def curves(args):
    """Server function for the live view's training curves: [token, version] -> the newer history or None."""
    return train_view.live_curves(*_token_and_version(args))


# ---- layout and wiring --------------------------------------------------------------------------


class TrainTab:
    """The components other tabs wire to (Open in Explore)."""

    def __init__(self, to_explore: gr.Button, status: gr.Markdown):
        self.to_explore, self.status = to_explore, status


def build_train_tab(state: dict | None = None) -> TrainTab:
    points = gr.State([])
    shown_state = gr.State(IDLE)
    intro = train_texts.build_intro()
    preset = actions.default_params("ring8")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            data = gr.Dropdown(DATA_CHOICES, value="ring8", label="Data")
            family = build_family()
            upload = gr.File(label="Zip of images (folders = classes)", file_types=[".zip"], type="filepath",
                             visible=False)
            with gr.Group(visible=False) as canvas_group:
                canvas = gr.Image(value=actions.custom_canvas([]), label="Click to add points", interactive=False,
                                  type="pil", height=320)
                clear_points = gr.Button("Clear points", size="sm")
            with gr.Row():
                arch = gr.Dropdown(ARCH_CHOICES, value="mlp", label="Architecture")
                loss = gr.Dropdown(LOSS_CHOICES, value="ns", label="Loss")
            with gr.Row():
                # narrow enough to share one row on a phone, so the view follows right under them
                start = gr.Button("Start", variant="primary", elem_id="train-start", min_width=70)
                pause = gr.Button("Pause", interactive=False, elem_id="train-pause", min_width=70)
                stop = gr.Button("Stop", interactive=False, elem_id="train-stop", min_width=70)
                reset = gr.Button("Reset", interactive=False, min_width=70, elem_id="train-reset")
        with gr.Column(scale=2, min_width=320):
            view = live_view(frame, curves, train_view.preview("ring8"))
            status = gr.Markdown("idle: press Start", elem_id="train-status")
            bar = gr.HTML(progress_bar(0.0, "idle"))
            with gr.Row():
                step_d = gr.Button("Step D", size="sm", interactive=False, elem_id="train-step-d")
                step_g = gr.Button("Step G", size="sm", interactive=False, elem_id="train-step-g")
                step_both = gr.Button("Step D+G", size="sm", interactive=False)
            live_controls = build_live_controls()
    lessons, recipe = build_lessons(), build_recipe()
    with gr.Row():  # columns with a minimum width: a phone shows them one under the other, the game's notes whole
        with gr.Column(min_width=340):
            metrics = gr.Markdown("Metrics appear once training runs.", elem_id="train-metrics")
        with gr.Column(min_width=340):
            game = gr.HTML(game_html({}), css_template=GAME_CSS)
    with gr.Accordion("Hyperparameters", open=False):
        with gr.Row():
            steps = gr.Number(preset["steps"], label="Steps (0 = no limit)", precision=0)
            seconds = gr.Number(preset["seconds"], label="Seconds (0 = no limit)")
            batch = gr.Number(preset["batch_size"], label="Batch size", precision=0)
            z_dim = gr.Number(preset["z_dim"], label="Latent size", precision=0)
        with gr.Row():
            lr_g = gr.Number(preset["lr_g"], label="G learning rate")
            lr_d = gr.Number(preset["lr_d"], label="D learning rate")
            d_steps = gr.Number(preset["d_steps"], label="D steps per G step", precision=0)
            ema = gr.Number(preset["ema"], label="EMA decay of G (0 = off)")
        with gr.Row():
            pack = gr.Number(preset["pack"], label="Packing (PacGAN, 2D): samples D judges at once", precision=0)
            seed = gr.Number(0, label="Seed", precision=0)
            sn = gr.Checkbox(preset["spectral_norm"], label="Spectral norm on D")
            conditional = gr.Checkbox(preset["conditional"], label="Class-conditional")
        with gr.Row():
            r1 = gr.Number(preset["r1"], label="R1 penalty γ on real data (0 = off)")
            grad_clip = gr.Number(preset["grad_clip"], label="Gradient clipping: largest norm (0 = off)")
            beta1 = gr.Number(preset["beta1_g"], label="Adam β1 of G and D (momentum)")
            beta2 = gr.Number(preset["beta2_g"], label="Adam β2 of G and D")
        diffaug = gr.CheckboxGroup(AUG_CHOICES, value=[], label="DiffAugment (images)")
    layers = build_layer_summary(preset["data"], preset["arch"], preset["z_dim"])
    with gr.Row():
        save = gr.Button("Save checkpoint", interactive=False, elem_id="train-save")
        to_explore = gr.Button("Open in Explore", interactive=False, elem_id="train-explore")
    download = gr.File(label="Checkpoint (zip)", interactive=False, height=90, elem_id="train-download")
    with gr.Accordion("Push to the Hugging Face Hub", open=False):
        if SETTINGS.on_space:  # visitors push as themselves, never with the Space's token
            gr.Markdown("Sign in with your Hugging Face account to push to it.")
            gr.LoginButton()
        repo = gr.Textbox(label="Repo id", placeholder="your-name/my-gan")
        private = gr.Checkbox(False, label="Private repo")
        push = gr.Button("Push")
        push_result = gr.Markdown()
    timer = gr.Timer(POLL_S, active=False)

    form = [data, upload, arch, loss, steps, seconds, batch, z_dim, lr_g, lr_d, d_steps, ema, sn, diffaug,
            conditional, seed, pack, r1, grad_clip, family, beta1, beta2]
    buttons = [start, pause, stop, reset, step_d, step_g, step_both, save, to_explore]
    poll_outputs = [status, bar, metrics, game, shown_state]
    private_api = {"api_visibility": "private"}

    data_set = data.input(on_data, [data, points, seed, family],
                          [upload, canvas_group, arch, loss, steps, seconds, batch, z_dim, lr_g, lr_d, d_steps, ema, sn,
                           diffaug, conditional, pack, r1, grad_clip, beta1, beta2, lessons.group, view], **private_api)
    canvas.select(on_canvas_click, points, [points, canvas, view], **private_api)
    clear_points.click(on_clear_points, None, [points, canvas, view], **private_api)
    start.click(on_start, form + [points], [status, timer, view, shown_state, *buttons], api_name="train_start",
                show_progress="minimal", **PAGE_API, **DEVICE_WORK)
    # queued (in its own unlimited group, so never behind device work): only a queued event's answer tells the page
    # that shown_state changed, which is what redraws the buttons
    timer.tick(on_poll, None, poll_outputs, show_progress="hidden", concurrency_id="poll", concurrency_limit=None,
               **private_api)
    shown_state.change(on_controls, shown_state, [timer, *buttons], queue=False, show_progress="hidden", **private_api)
    poll_btn = gr.Button("Refresh", visible=False)
    poll_btn.click(on_poll, None, poll_outputs, api_name="train_poll", queue=False,  # reads a snapshot: never queued
                   **PAGE_API)
    pause.click(on_pause, None, [status, timer, *buttons], api_name="train_pause", show_progress="hidden",
                **PAGE_API)
    stop.click(on_stop, None, [status, *buttons], api_name="train_stop", show_progress="minimal", **PAGE_API)
    step_outputs = [status, metrics, game]
    step_d.click(on_step_d, None, step_outputs, show_progress="hidden", **private_api)
    step_g.click(on_step_g, None, step_outputs, show_progress="hidden", **private_api)
    step_both.click(on_step_both, None, step_outputs, show_progress="hidden", **private_api)
    reset.click(on_reset, [data, points, seed], [status, bar, metrics, game, timer, shown_state, view, *buttons],
                **private_api).then(lambda: None, None, download, queue=False, **private_api)  # its zip goes too
    save.click(on_save, None, download, api_name="train_save", **PAGE_API)
    push.click(on_push, [repo, private], push_result, api_name="train_push", **PAGE_API)
    wire_lessons(lessons, dict(data=data, loss=loss, steps=steps, seconds=seconds, batch_size=batch, lr_g=lr_g,
                               lr_d=lr_d, ema=ema, pack=pack, family=family), status, view, shown_state)
    wire_family(family, data, {"steps": steps, "seconds": seconds, "batch_size": batch, "z_dim": z_dim, "lr_g": lr_g,
                               "beta1_g": beta1, "beta2_g": beta2})
    wire_live_controls(live_controls)
    train_texts.wire_intro(intro, data, TOY)
    train_texts.wire_fresh_download(view, download)
    recipe_set = wire_recipe(recipe, data, dict(
        arch=arch, loss=loss, steps=steps, seconds=seconds, batch_size=batch, z_dim=z_dim, lr_g=lr_g, lr_d=lr_d,
        d_steps=d_steps, ema=ema, spectral_norm=sn, diffaug=diffaug, conditional=conditional, pack=pack, r1=r1,
        grad_clip=grad_clip, beta1=beta1, beta2=beta2, family=family))
    wire_layer_summary(layers, [data_set, recipe_set], data, arch, z_dim, conditional, sn)
    return TrainTab(to_explore, status)
