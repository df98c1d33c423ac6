"""Explore tab: pick a generator, sample a grid, steer it with latent sliders, interpolate between seeds.

Widgets only; every computation is a call into ``ganstudio.actions.explore``.
API endpoints (for gradio_client): ``sample`` (spec, seed, n, psi, class) -> image,
``explore`` (spec, seed, n, psi, class, method, slider 1..K) -> image and ``compare`` (seed, n) -> (the strips of
the bundled DCGAN, SAGAN and TransGAN, their figures).
"""

from __future__ import annotations

import html
import random

import gradio as gr

from ganstudio.actions import compare
from ganstudio.actions import explore as actions
from ganstudio.actions.generators import list_generators
from ganstudio.errors import StudioError
from ganstudio.gpt.heatmaps import png_data_url
from ganstudio.ui.common import DEVICE_WORK, PAGE_API, opened_from_link, owner, share_button, user_error

K_SLIDERS = 6  # sliders on screen, the first K directions of the chosen method (on_explore names six)
DEFAULT_MODEL = "digits-dcgan"
ANY_CLASS = -1
METHOD_CHOICES = [("SeFa", "sefa"), ("GANSpace", "ganspace"), ("raw z", "z")]

HELP = (
    "Pick a generator and move the sliders: every sample in the grid moves along the weighted sum of latent "
    "directions, **z + Σ αᵢ dᵢ**. **SeFa** finds the directions the first layer stretches most (from the "
    "weights alone); **GANSpace** takes the principal axes of the first layer's activations; **raw z** moves "
    "single latent coordinates. A slider's value is in **σ of its direction** (the spread of latents along it) "
    "and runs to ±3σ, where the samples stay digits; the strips under the grid show each direction from −3σ to "
    "+3σ before you drag it. Truncation **ψ** pulls z towards its mean: lower ψ, safer and plainer samples. "
    "Any Hub id (`owner/name` or `owner/name@revision`) or local folder of a GAN Studio generator works too."
)


def _class_value(cls):
    """-1 / "any" -> None (every class in turn); anything else goes to the action, which validates it."""
    return None if cls in (None, "", ANY_CLASS, str(ANY_CLASS), "any") else cls


def _sliders_reset(sliders: list[dict]) -> list:
    """Sliders back to 0 with new labels and their fitted ranges (±3σ of each direction); sliders past a small
    latent's size are hidden."""
    padded = sliders + [None] * (K_SLIDERS - len(sliders))
    return [gr.update(value=0, label=s["label"], minimum=-s["limit"], maximum=s["limit"], visible=True) if s
            else gr.update(value=0, visible=False) for s in padded[:K_SLIDERS]]  # fmt: skip


def _sigma(value: float) -> str:
    return "0" if value == 0 else f"{value:+g}σ".replace("-", "−")


def _strips_html(strips: dict, seed) -> str:
    """A table: one row per direction, the first sample of the seed at each strip value (a header row names them)."""
    if not strips["rows"]:
        return ""
    head = "".join(f"<th>{_sigma(v)}</th>" for v in strips["values"])
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(row['name'])}</th>"
        + "".join(f"<td><img src='{png_data_url(frame)}' alt='{html.escape(row['name'])} at {_sigma(v)}' "
                  f"title='{html.escape(row['name'])} at {_sigma(v)}'></td>" for v, frame in zip(strips["values"], row["frames"]))
        + "</tr>" for row in strips["rows"])
    return (f"<div class='gs-strips-caption'><b>What each direction does</b> — sample 1 of seed {int(seed or 0)} moved "
            "along it, in σ of that direction (the sliders' unit)</div>"
            f"<table class='gs-strips'><tr><th class='name'></th>{head}</tr>{rows}</table>")


STRIPS_CSS = (
    "<style>#explore-direction-strips .gs-strips {border-collapse: collapse; width: 100%; table-layout: fixed}"
    "#explore-direction-strips th {font-size: 0.8em; font-weight: 600; padding: 1px 2px; text-align: center}"
    "#explore-direction-strips th.name, #explore-direction-strips th[scope=row] {text-align: left; white-space: nowrap;"
    " width: 4.6em}"
    "#explore-direction-strips td {padding: 1px}"
    "#explore-direction-strips img {width: 100%; max-width: 64px; image-rendering: pixelated; display: block;"
    " margin: auto}"
    "#explore-direction-strips .gs-strips-caption {font-size: 0.85em; margin-bottom: 4px}</style>"
)


def _default_model() -> str | None:
    names = list_generators("")
    return DEFAULT_MODEL if DEFAULT_MODEL in names else (names[0] if names else None)


# ---- handlers (StudioError -> gr.Error) ----------------------------------------------------


def on_sample(spec, seed, n, psi, class_id, request: gr.Request):
    """The plain grid for (model, seed, n, ψ, class)."""
    try:
        return actions.sample_grid(spec, seed, n, psi, _class_value(class_id), owner=owner(request))["image"]
    except StudioError as err:
        raise user_error(err) from None


def on_explore(spec, seed, n, psi, class_id, method, slider_1, slider_2, slider_3, slider_4, slider_5, slider_6,
               request: gr.Request):  # fmt: skip
    """The grid with every latent moved along the sliders' directions (named parameters for the API docs)."""
    values = [slider_1, slider_2, slider_3, slider_4, slider_5, slider_6]
    try:
        return actions.explore(spec, seed, n, psi, _class_value(class_id), method, values, owner=owner(request))
    except StudioError as err:
        raise user_error(err) from None


def on_model(request: gr.Request, spec, seed, n, psi, method, progress=gr.Progress()):
    """A new generator: class choices, slider labels (reset to 0) and a fresh grid."""
    who = owner(request)
    try:
        info = actions.model_info(spec, owner=who, progress=lambda line: progress(None, desc=line))
        sliders = actions.direction_sliders(spec, method, K_SLIDERS, owner=who)
        image = actions.sample_grid(spec, seed, n, psi, None, owner=who)["image"]
        strips = actions.direction_strips(spec, seed, method, K_SLIDERS, psi, None, owner=who)
    except StudioError as err:
        raise user_error(err) from None
    classes = [("any", ANY_CLASS)] + [(str(c), c) for c in range(info["n_classes"])]
    cls = gr.update(choices=classes, value=ANY_CLASS, visible=info["n_classes"] > 0)
    return [image, cls, *_sliders_reset(sliders), _strips_html(strips, seed)]


def on_method(request: gr.Request, spec, seed, n, psi, cls, method):
    """Another direction family: new slider labels and ranges, sliders back to 0, the plain grid, its strips."""
    who = owner(request)
    try:
        sliders = actions.direction_sliders(spec, method, K_SLIDERS, owner=who)
        image = actions.sample_grid(spec, seed, n, psi, _class_value(cls), owner=who)["image"]
        strips = actions.direction_strips(spec, seed, method, K_SLIDERS, psi, _class_value(cls), owner=who)
    except StudioError as err:
        raise user_error(err) from None
    return [image, *_sliders_reset(sliders), _strips_html(strips, seed)]


def on_strips(request: gr.Request, spec, seed, psi, cls, method):
    """The seed, ψ or class changed: each direction's strip for the new first sample (one forward pass)."""
    try:
        strips = actions.direction_strips(spec, seed, method, K_SLIDERS, psi, _class_value(cls), owner=owner(request))
    except StudioError as err:
        raise user_error(err) from None
    return _strips_html(strips, seed)


def on_reset(request: gr.Request, spec, seed, n, psi, cls):
    image = on_sample(spec, seed, n, psi, cls, request)
    return [image, *[0] * K_SLIDERS]


def on_export(request: gr.Request, spec, seed, n, psi, cls, method, *sliders):
    """Write the grid on screen (PNG) and its latents (.npy) for download."""
    try:
        paths = actions.export(spec, seed, n, psi, _class_value(cls), method, list(sliders), owner=owner(request))
    except StudioError as err:
        raise user_error(err) from None
    return gr.update(value=[paths["png_path"], paths["npy_path"]], visible=True)


def on_interpolate(request: gr.Request, spec, seed_a, seed_b, steps, mode, psi, cls):
    """Strip of frames, the animation, and the files to download."""
    try:
        out = actions.interpolate(
            spec, seed_a, seed_b, steps, mode, _class_value(cls), owner=owner(request), truncation_psi=psi
        )
    except StudioError as err:
        raise user_error(err) from None
    files = [out["gif_path"]] + ([out["mp4_path"]] if out["mp4_path"] else [])
    note = "" if out["mp4_path"] else "MP4 needs an ffmpeg executable on this machine; the GIF has the same frames."
    return [out["strip"], out["gif_path"], files, note]


def _figures_table(result: dict) -> str:
    """The measured figures of each compared generator, as its model card states them."""
    def pct(v):
        return "—" if v is None else f"{v * 100:.1f} %"

    lines = ["| generator | what it is | confident | smallest class | Fréchet ÷ real | training |",
             "|---|---|---|---|---|---|"]
    for row in result["rows"]:
        f = row["figures"]
        fre = "—" if f["frechet_vs_real"] is None else f"{f['frechet_vs_real']:.2f}×"
        took = ("—" if f["train_seconds"] is None else
                f"{row['steps']:,} steps, {f['train_seconds'] / 60:.0f} min on 1 CPU thread")
        lines.append(f"| {row['model']} | {row['what']} | {pct(f['confident'])} | {pct(f['smallest_class'])} | {fre} "
                     f"| {took} |")
    return "\n".join(lines) + (
        "\n\nEach row is seed {seed}'s first {n} samples: the same latents in all three. All three read the digit "
        "off z (its first 10 values), so a column asks each for the same digit; what differs is how each draws it. "
        "Figures: `python -m ganstudio bench digits` (1,000 samples; Fréchet distance in the digit classifier's "
        "features, not FID).").format(seed=result["seed"], n=result["n"])


def on_compare(request: gr.Request, seed, n):
    """The same seed drawn through the bundled DCGAN, SAGAN and TransGAN, with their measured figures."""
    try:
        result = compare.compare_generators(seed, n, owner=owner(request))
    except StudioError as err:
        raise user_error(err) from None
    return [row["image"] for row in result["rows"]] + [_figures_table(result)]


def on_reopen(request: gr.Request, spec, seed, n, psi, cls, method, *sliders):
    """A shared link was opened: draw its grid again from the settings Gradio restored (the picture it cached for
    the sharer does not last), and count the tab as drawn so its sliders keep the shared values."""
    if not opened_from_link(request):
        return gr.skip(), gr.skip(), gr.skip()
    return (on_explore(spec, seed, n, psi, cls, method, *sliders, request), True,
            on_strips(request, spec, seed, psi, cls, method))


def on_open(request: gr.Request, spec, was_drawn, seed, n, psi, method):
    """The tab was opened: the model list (a run trained meanwhile appears), and on the first visit the grid."""
    names = list_generators(owner(request))
    if was_drawn or not spec:
        return [gr.update(choices=names), gr.skip(), True] + [gr.skip()] * (2 + K_SLIDERS)
    image, *rest = on_model(request, spec, seed, n, psi, method)  # rest: class, sliders, strips
    return [gr.update(choices=names), image, True, *rest]


def on_refresh(request: gr.Request, spec):
    """Re-list generators (a model trained in this session appears as "(your trained model)")."""
    names = list_generators(owner(request))
    return gr.update(choices=names, value=spec)


# ---- layout and wiring --------------------------------------------------------------------


# Small generated images are sent at their own size (fast to encode) and enlarged by the browser,
# pixel-sharp rather than blurred.
PIXEL_CSS = (
    "<style>#explore-grid img, #explore-strip img, #explore-animation img, #explore-compare-strips img "
    "{image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain;}</style>"
)


class ExploreTab:
    """The components other tabs wire to (the Train tab's Open in Explore selects a model here)."""

    def __init__(self, model: gr.Dropdown):
        self.model = model


def build_explore_tab(state: dict) -> ExploreTab:
    """Lay out the Explore tab inside the caller's ``gr.Tab`` and wire it to the actions."""
    gr.HTML("", head=PIXEL_CSS + STRIPS_CSS, visible="hidden")
    gr.Markdown(HELP)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                model = gr.Dropdown(
                    choices=list_generators(""),
                    value=_default_model(),
                    label="Generator",
                    info="bundled, your trained model, or a Hub id owner/name[@revision]",
                    allow_custom_value=True,
                    scale=4,
                    elem_id="explore-model",
                )
                refresh = gr.Button("↻", size="sm", scale=0, min_width=40)
            with gr.Row():
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=actions.MAX_SEED, label="Seed", scale=3)
                dice = gr.Button("random", size="sm", scale=0, min_width=70)
            n = gr.Slider(1, actions.MAX_SAMPLES, value=16, step=1, label="Samples in the grid")
            psi = gr.Slider(*actions.PSI_RANGE, value=1.0, step=0.05, label="Truncation ψ")
            cls = gr.Dropdown(
                choices=[("any", ANY_CLASS)],
                value=ANY_CLASS,
                label="Class",
                visible=False,
                allow_custom_value=True,  # API callers name a class before this session's choices are filled in
            )
            sample_btn = gr.Button("Sample", variant="primary")
            method = gr.Radio(METHOD_CHOICES, value="sefa", label="Directions")
            sliders = [  # fitted to ±3σ of each direction (and relabelled) once the model's directions are known
                gr.Slider(-actions.FIT_SIGMAS, actions.FIT_SIGMAS, value=0, step=0.1, label=f"direction {i + 1}",
                          elem_id=f"explore-slider-{i + 1}")
                for i in range(K_SLIDERS)
            ]
            reset = gr.Button("Reset sliders")
        with gr.Column(scale=2):
            grid = gr.Image(
                label="Samples", type="pil", format="png", height=460, buttons=["download", "fullscreen"],
                elem_id="explore-grid",
            )
            direction_strips = gr.HTML("", elem_id="explore-direction-strips")
            with gr.Row():
                export_btn = gr.Button("Save grid (PNG) and latents (.npy)")
                share_button()
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, visible=False)

    with gr.Accordion("Interpolate between two seeds", open=False):
        gr.Markdown("Walks from seed A's first sample to seed B's. A generator that reads its digit off z (the "
                    "bundled digits GANs: the largest of z's first 10 values) is given the two ends' digits blended, "
                    "so one digit morphs into the other instead of jumping through whichever digit wins the middle.")
        with gr.Row():
            seed_a = gr.Number(value=0, precision=0, minimum=0, maximum=actions.MAX_SEED, label="Seed A")
            seed_b = gr.Number(value=1, precision=0, minimum=0, maximum=actions.MAX_SEED, label="Seed B")
            steps = gr.Slider(2, actions.MAX_STEPS, value=16, step=1, label="Steps")
            mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Path", info="slerp follows the Gaussian shell")
        interp_btn = gr.Button("Interpolate", variant="primary")
        strip = gr.Image(label="Frames, A → B", height=150, type="pil", format="png", buttons=["download", "fullscreen"],
                         elem_id="explore-strip")
        with gr.Row():
            animation = gr.Image(label="Animation", type="filepath", height=320, elem_id="explore-animation")
            with gr.Column():
                interp_files = gr.File(label="GIF / MP4", file_count="multiple", interactive=False, height=120)
                interp_note = gr.Markdown()

    with gr.Accordion("One seed, three generators: DCGAN · SAGAN · TransGAN", open=False, elem_id="explore-compare"):
        with gr.Row():
            compare_seed = gr.Number(value=0, precision=0, minimum=0, maximum=actions.MAX_SEED, label="Seed",
                                     elem_id="explore-compare-seed")
            compare_n = gr.Slider(1, compare.MAX_STRIP, value=8, step=1, label="Samples per generator")
        compare_btn = gr.Button("Draw this seed through all three", variant="primary", elem_id="explore-compare-draw")
        with gr.Column(elem_id="explore-compare-strips"):  # one row of digits per generator, in COMPARED's order
            strips = [gr.Image(label=f"{name} — {what}", type="pil", format="png", height=120, interactive=False,
                               buttons=["download", "fullscreen"]) for name, what in compare.COMPARED]
        figures = gr.Markdown(elem_id="explore-compare-figures")

    grid_inputs = [model, seed, n, psi, cls]
    explore_inputs = [*grid_inputs, method, *sliders]

    sample_btn.click(on_sample, grid_inputs, grid, api_name="sample", **PAGE_API, **DEVICE_WORK).then(
        lambda: [0] * K_SLIDERS, None, sliders, api_visibility="private"  # values, not updates: no component rebuilt
    )
    gr.on(
        [s.input for s in sliders] + [seed.change, n.change, psi.change, cls.change],
        on_explore,
        explore_inputs,
        grid,
        api_name="explore", **PAGE_API,
        trigger_mode="always_last",
        show_progress="hidden",
        **DEVICE_WORK,
    )
    model.change(on_model, [model, seed, n, psi, method], [grid, cls, *sliders, direction_strips], api_visibility="private")
    method.change(on_method, [model, seed, n, psi, cls, method], [grid, *sliders, direction_strips], api_visibility="private")
    gr.on([seed.change, psi.change, cls.change], on_strips, [model, seed, psi, cls, method], direction_strips,
          api_visibility="private", trigger_mode="always_last", show_progress="hidden", **DEVICE_WORK)
    reset.click(on_reset, grid_inputs, [grid, *sliders], api_visibility="private")
    dice.click(lambda: random.randint(0, 99_999), None, seed, api_visibility="private")
    refresh.click(on_refresh, model, model, api_visibility="private")
    export_btn.click(on_export, explore_inputs, downloads, api_visibility="private")
    interp_btn.click(
        on_interpolate,
        [model, seed_a, seed_b, steps, mode, psi, cls],
        [strip, animation, interp_files, interp_note],
        api_name="interpolate", **PAGE_API,
        **DEVICE_WORK,
    )

    compare_btn.click(on_compare, [compare_seed, compare_n], [*strips, figures], api_name="compare", **PAGE_API,
                      **DEVICE_WORK)

    page = state.get("explore_page") if isinstance(state, dict) else None
    if page is not None:  # first visit draws the grid; every visit picks up a newly trained model
        drawn = gr.State(False)
        if state.get("demo") is not None:  # a page opened from a shared link draws the shared grid
            state["demo"].load(on_reopen, explore_inputs, [grid, drawn, direction_strips], api_visibility="private",
                               **DEVICE_WORK)
        # this tab's own select, not the Tabs': switching between other tabs must not cost the server anything
        page.select(on_open, [model, drawn, seed, n, psi, method], [model, grid, drawn, cls, *sliders, direction_strips],
                    api_visibility="private")
    return ExploreTab(model)
