"""Train tab: pick data and a GAN, press Start, watch it learn.

Widgets only; every computation is a call into ``ganstudio.actions.train``. A 0.4 s timer
polls the run's latest snapshot (never waiting for the training worker).
API endpoints: ``train_start`` (data, arch, loss, steps, seconds, batch size, latent size,
lr G, lr D, D steps, EMA, spectral norm, DiffAugment, conditional, seed) -> status,
``train_poll`` -> status, progress, view, metrics, ``train_stop`` -> status.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from ganstudio.actions import train as actions
from ganstudio.errors import StudioError
from ganstudio.ui.common import DEVICE_WORK, owner

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
                ("Transformer G (TransGAN-style)", "transformer")]
LOSS_CHOICES = [("non-saturating", "ns"), ("least squares", "lsgan"), ("hinge", "hinge"), ("WGAN-GP", "wgan-gp")]
AUG_CHOICES = ["translation", "cutout", "color"]
FINISHED = ("done", "failed", "cancelled", "idle")

HELP = (
    "**Green** points are real data, **purple** ones come from the generator. The background is the "
    "discriminator's opinion (green: \"real\", purple: \"fake\"); grey lines show how G warps a grid of latent "
    "codes. Pause to step D or G by hand and watch each player move."
)


def _err(err: StudioError) -> gr.Error:
    return gr.Error(str(err))


def _bar(progress: float, state: str) -> str:
    pct = max(0.0, min(progress, 1.0)) * 100
    colour = {"failed": "#c0392b", "done": "#1b7837"}.get(state, "#762a83")
    return (f'<div style="background:#e6e6e6;border-radius:4px;height:12px;width:100%">'
            f'<div style="background:{colour};width:{pct:.1f}%;height:12px;border-radius:4px"></div></div>')


def _curves(history: dict, names: dict[str, str]) -> pd.DataFrame:
    steps = history.get("step") or []
    rows = []
    for key, label in names.items():
        for step, value in zip(steps, history.get(key) or []):
            if value is not None:
                rows.append((step, float(value), label))
    return pd.DataFrame(rows, columns=["step", "value", "series"])


def _metrics_text(snap: dict) -> str:
    m = snap.get("metrics") or {}
    latest = snap.get("latest") or {}
    parts = []
    if "modes" in m:
        kl = m.get("reverse_kl")
        parts.append(f"**Modes captured:** {m['modes']}/{m['total_modes']} · **high quality:** "
                     f"{100 * m['high_quality']:.1f}%" + (f" · reverse KL {kl:.3f}" if kl is not None else ""))
    if "precision" in m:
        parts.append(f"**Precision:** {100 * m['precision']:.1f}% · **coverage:** {100 * m['coverage']:.1f}%")
    if "fid" in m:
        parts.append(f"**{m.get('fid_name', 'FID')}:** {m['fid']:.2f} (step {m.get('step', '?')})")
    if latest:
        what = "P(real)" if snap.get("d_output") == "probability" else "score"
        parts.append(f"D(x) {what}: {latest.get('d_real', float('nan')):.3f} · D(G(z)): "
                     f"{latest.get('d_fake', float('nan')):.3f} · ‖∇D‖ {latest.get('grad_d', float('nan')):.2f} · "
                     f"‖∇G‖ {latest.get('grad_g', float('nan')):.2f}")
    return "\n\n".join(parts) or "metrics appear once training runs"


def _params(data, upload, arch, loss, steps, seconds, batch, z_dim, lr_g, lr_d, d_steps, ema, sn, diffaug,
            conditional, seed, points) -> dict:
    if data == "upload":
        if not upload:
            raise StudioError("upload a zip of images first")
        data = upload if isinstance(upload, str) else getattr(upload, "name", str(upload))
    return {
        "data": data, "arch": arch, "loss": loss, "steps": steps, "seconds": seconds, "batch_size": batch,
        "z_dim": z_dim, "lr_g": lr_g, "lr_d": lr_d, "d_steps": d_steps, "ema": ema, "spectral_norm": bool(sn),
        "diffaug": ",".join(diffaug or []), "conditional": bool(conditional), "seed": seed,
        "custom_points": (points or []) if data == "custom" else None,
    }


def build_train_tab(state: dict | None = None) -> None:
    points = gr.State([])
    shown_step = gr.State(-1)
    gr.Markdown(HELP)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            data = gr.Dropdown(DATA_CHOICES, value="ring8", label="Data")
            upload = gr.File(label="Zip of images (folders = classes)", file_types=[".zip"], type="filepath",
                             visible=False)
            with gr.Group(visible=False) as canvas_group:
                canvas = gr.Image(value=actions.custom_canvas([]), label="Click to add points", interactive=False,
                                  type="pil", height=320)
                clear_points = gr.Button("Clear points", size="sm")
            with gr.Row():
                arch = gr.Dropdown(ARCH_CHOICES, value="mlp", label="Architecture")
                loss = gr.Dropdown(LOSS_CHOICES, value="ns", label="Loss")
            with gr.Accordion("Hyperparameters", open=False):
                preset = actions.default_params("ring8")
                with gr.Row():
                    steps = gr.Number(preset["steps"], label="Steps (0 = no limit)", precision=0, minimum=0)
                    seconds = gr.Number(preset["seconds"], label="Seconds (0 = no limit)", minimum=0)
                with gr.Row():
                    batch = gr.Number(preset["batch_size"], label="Batch size", precision=0, minimum=2)
                    z_dim = gr.Number(preset["z_dim"], label="Latent size", precision=0, minimum=1)
                with gr.Row():
                    lr_g = gr.Number(preset["lr_g"], label="G learning rate")
                    lr_d = gr.Number(preset["lr_d"], label="D learning rate")
                with gr.Row():
                    d_steps = gr.Number(preset["d_steps"], label="D steps per G step", precision=0, minimum=1)
                    ema = gr.Number(preset["ema"], label="EMA decay of G (0 = off)", minimum=0, maximum=0.99999)
                with gr.Row():
                    sn = gr.Checkbox(preset["spectral_norm"], label="Spectral norm on D")
                    conditional = gr.Checkbox(preset["conditional"], label="Class-conditional")
                diffaug = gr.CheckboxGroup(AUG_CHOICES, value=[], label="DiffAugment (images)")
                seed = gr.Number(0, label="Seed", precision=0)
            with gr.Row():
                start = gr.Button("Start", variant="primary")
                pause = gr.Button("Pause / Resume")
                stop = gr.Button("Stop")
                reset = gr.Button("Reset")
            with gr.Row():
                step_d = gr.Button("Step D", size="sm")
                step_g = gr.Button("Step G", size="sm")
                step_both = gr.Button("Step D+G", size="sm")
            with gr.Row():
                save = gr.Button("Save checkpoint")
                to_explore = gr.Button("Open in Explore")
            download = gr.File(label="Checkpoint (zip)", interactive=False, height=90)
            with gr.Accordion("Push to the Hugging Face Hub", open=False):
                repo = gr.Textbox(label="Repo id", placeholder="your-name/my-gan")
                push = gr.Button("Push")
                push_result = gr.Markdown()
        with gr.Column(scale=2):
            status = gr.Markdown("idle: press Start")
            bar = gr.HTML(_bar(0.0, "idle"))
            view = gr.Image(label="Live view", type="pil", interactive=False, height=400)
            metrics = gr.Markdown()
            with gr.Row():
                loss_plot = gr.LinePlot(x="step", y="value", color="series", title="Losses", height=220)
                d_plot = gr.LinePlot(x="step", y="value", color="series", title="D(x) and D(G(z))", height=220)
            grad_plot = gr.LinePlot(x="step", y="value", color="series", title="Gradient norms", height=200)
    timer = gr.Timer(0.4, active=False)

    hyper = [steps, seconds, batch, z_dim, lr_g, lr_d, d_steps, ema, sn, diffaug, conditional, seed]
    start_inputs = [data, upload, arch, loss, *hyper]

    # ---- handlers ---------------------------------------------------------------------------

    def on_data(choice):
        toy = choice in TOY
        updates = [gr.update(visible=choice == "upload"), gr.update(visible=choice == "custom")]
        p = actions.default_params("uploaded-images" if choice == "upload" else choice)
        arch_update = gr.update(value=p["arch"], choices=ARCH_CHOICES[:1] if toy else ARCH_CHOICES[1:])
        return updates + [arch_update, p["loss"], p["steps"], p["seconds"], p["batch_size"], p["z_dim"], p["lr_g"],
                          p["lr_d"], p["d_steps"], p["ema"], p["spectral_norm"],
                          [a for a in AUG_CHOICES if a in p["diffaug"].split(",")], p["conditional"]]

    def on_canvas_click(pts, evt: gr.SelectData):
        try:
            new_points, picture = actions.add_custom_point(pts, evt.index[0], evt.index[1])
        except StudioError as err:
            raise _err(err) from None
        return new_points, picture

    def on_start(request: gr.Request, *values):
        *inputs, pts = values
        try:
            params = _params(*inputs, pts)
            actions.start_training(owner(request), params)
        except StudioError as err:
            raise _err(err) from None
        return "starting…", gr.Timer(active=True), -1

    def on_poll(request: gr.Request, last_step=-1):
        info = actions.poll_training(owner(request))
        snap = info.get("snapshot") or {}
        state_ = info["state"]
        keep_polling = state_ not in FINISHED
        step = snap.get("step", -1)
        fresh = step != last_step or not keep_polling
        history = snap.get("history") or {}
        return (
            info["text"],
            _bar(info["progress"], state_),
            snap.get("image") if fresh and snap.get("image") is not None else gr.skip(),
            _metrics_text(snap),
            _curves(history, {"loss_d": "D loss", "loss_g": "G loss"}) if fresh else gr.skip(),
            _curves(history, {"d_real": "D(x)", "d_fake": "D(G(z))"}) if fresh else gr.skip(),
            _curves(history, {"grad_d": "‖∇D‖", "grad_g": "‖∇G‖"}) if fresh else gr.skip(),
            gr.Timer(active=keep_polling),
            step,
        )

    poll_outputs = [status, bar, view, metrics, loss_plot, d_plot, grad_plot, timer, shown_step]

    def on_stop(request: gr.Request):
        try:
            result = actions.stop_training(owner(request))
        except StudioError as err:
            raise _err(err) from None
        return f"stopped · saved as **{result['run']}** (Save downloads it, Explore opens it)" if result["saved"] else "stopped"

    def on_pause(request: gr.Request):
        who = owner(request)
        try:
            info = actions.poll_training(who)
            if info["state"] == "paused":
                info = actions.resume_training(who)
            else:
                info = actions.pause_training(who)
        except StudioError as err:
            raise _err(err) from None
        return info["text"], gr.Timer(active=True)

    def make_step(which: str):
        def on_step(request: gr.Request):
            try:
                info = actions.single_step(owner(request), which)
            except StudioError as err:
                raise _err(err) from None
            snap = info["snapshot"]
            history = snap.get("history") or {}
            return (info["text"], _bar(info["progress"], info["state"]), snap.get("image"), _metrics_text(snap),
                    _curves(history, {"loss_d": "D loss", "loss_g": "G loss"}),
                    _curves(history, {"d_real": "D(x)", "d_fake": "D(G(z))"}),
                    _curves(history, {"grad_d": "‖∇D‖", "grad_g": "‖∇G‖"}), gr.skip(), snap.get("step", -1))
        return on_step

    def on_reset(request: gr.Request):
        actions.reset(owner(request))
        return "idle: press Start", _bar(0.0, "idle"), None, "", gr.Timer(active=False), -1

    def on_save(request: gr.Request):
        try:
            return actions.save_checkpoint(owner(request))
        except StudioError as err:
            raise _err(err) from None

    def on_push(repo_id, request: gr.Request, oauth_token: gr.OAuthToken | None = None):
        try:
            url = actions.push_checkpoint(owner(request), repo_id, token=oauth_token.token if oauth_token else None)
        except StudioError as err:
            raise _err(err) from None
        return f"pushed: [{url}]({url})"

    def on_explore(request: gr.Request):
        who = owner(request)
        try:
            if actions.latest_trained(who) is None:
                actions.save_checkpoint(who)
        except StudioError as err:
            raise _err(err) from None
        tabs = (state or {}).get("tabs")
        note = "saved: in Explore choose **(your trained model)**"
        return (gr.Tabs(selected="explore") if tabs is not None else gr.skip()), note

    # ---- wiring -----------------------------------------------------------------------------

    data.change(on_data, data, [upload, canvas_group, arch, loss, *hyper[:-1]], api_visibility="private")
    canvas.select(on_canvas_click, points, [points, canvas], api_visibility="private")
    clear_points.click(lambda: ([], actions.custom_canvas([])), None, [points, canvas], api_visibility="private")
    start.click(on_start, start_inputs + [points], [status, timer, shown_step], api_name="train_start", **DEVICE_WORK)
    timer.tick(on_poll, shown_step, poll_outputs, api_visibility="private", show_progress="hidden")
    poll_btn = gr.Button("Refresh", visible=False)
    poll_btn.click(on_poll, None, poll_outputs, api_name="train_poll")
    stop.click(on_stop, None, status, api_name="train_stop")
    pause.click(on_pause, None, [status, timer], api_visibility="private")
    step_outputs = poll_outputs
    step_d.click(make_step("d"), None, step_outputs, api_visibility="private")
    step_g.click(make_step("g"), None, step_outputs, api_visibility="private")
    step_both.click(make_step("both"), None, step_outputs, api_visibility="private")
    reset.click(on_reset, None, [status, bar, view, metrics, timer, shown_step], api_visibility="private")
    save.click(on_save, None, download, api_visibility="private")
    push.click(on_push, repo, push_result, api_visibility="private")
    tabs = (state or {}).get("tabs")
    to_explore.click(on_explore, None, [tabs if tabs is not None else gr.State(), status], api_visibility="private")
