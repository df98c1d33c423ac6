"""The Train tab's lessons for one visitor: start a half, and say what each half showed once it ends.

Plain types in and out. A page keeps its lesson record (``LessonRecord`` as a dict: which half runs as
which job, the figures of the halves that ended); the settings and the promised effect live in
``ganstudio.gan.lessons``.
"""

from __future__ import annotations

from ganstudio import checks
from ganstudio.actions import train
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.gan.lessons import (
    HALVES,
    LESSONS,
    figures_of,
    fix_wins,
    gradient_figures,
    lesson_config,
    vae_covers_gan_sharpens,
)

MEANING = ("*Modes captured*: how many of the 25 Gaussians have at least one generated point within 3 std of their "
           "centre (did G find them?). *High quality*: the share of generated points within 3 std of some centre "
           "(do they land on a mode, or smear between modes?). Both on 2,500 samples, as in the PacGAN paper.")
GRADIENT_MEANING = ("*‖∇G‖*: the size of G's gradient, how hard its loss pulls on its weights; *D(G(z))*: D's "
                    "probability that a fake is real. log(1 − D(G(z))) is flat where D(G(z)) ≈ 0, so a D that wins "
                    "leaves G nothing to follow; −log D(G(z)) is steepest exactly there.")
TITLES = {"collapse": "① Collapse", "fix": "② Fix", "saturate": "① Saturating loss log(1 − D(G(z))), D ahead",
          "nonsat": "② Non-saturating loss −log D(G(z))", "vae": "① VAE", "gan": "② GAN, same steps"}


def lesson_params(half: str) -> dict:
    """The settings of one half of a lesson ("collapse", "fix", ...), as plain values for the form and start."""
    return lesson_config(checks.choice("lesson", half, LESSONS)).to_dict()


def start_lesson(owner: str, half: str, record: dict | None, then: str | None = None) -> tuple[dict, dict]:
    """Start one half (replacing a live run); returns (its settings, the page's lesson record). ``then``: the
    half to start once this one has ended (``next_half``), for a lesson that runs both halves in one click."""
    params = lesson_params(half)
    job_id = train.start_training(owner, params, replace=True)
    figures = dict((record or {}).get("figures") or {})
    figures.pop(half, None)  # this half runs again: its old figures no longer stand
    if then is not None:
        figures.pop(checks.choice("lesson", then, LESSONS), None)
    return params, {"half": half, "job": job_id, "figures": figures, **({"then": then} if then else {})}


def next_half(owner: str, record: dict | None) -> tuple[dict, dict] | None:
    """Once a half started with ``then`` has its figures, start that next half; None while there is nothing to
    start (the half still runs, or it was stopped before it ended)."""
    if not record or not record.get("then") or record["half"] not in (record.get("figures") or {}):
        return None
    info = train.poll_training(owner)
    if info.get("job_id") != record["job"] or info.get("ended_by"):  # stopped or replaced: the visitor moved on
        return None
    return start_lesson(owner, record["then"], record)


def switch_to_non_saturating(owner: str, record: dict | None) -> tuple[dict | None, dict]:
    """② of the vanishing-gradients lesson: switch ①'s live run to the non-saturating loss without restarting,
    keeping ①'s figures as they were at the switch; once ① has ended, run ② from the same head start instead.
    Returns (the settings now training, or None when the form stays as it is; the page's lesson record)."""
    run, (before, after) = session_of(owner).current, HALVES["vanishing gradients"]
    job = get_engine().get(run.job_id) if run is not None else None
    running_before = (job is not None and not job.finished and bool(record) and record.get("job") == job.id
                      and record.get("half") == before)
    if not running_before:
        return start_lesson(owner, after, record)
    history = get_engine().run(lambda: run.task.switch_loss(LESSONS[after]["loss"]), owner=owner,
                               timeout=train.STEP_TIMEOUT_S)
    figures = {**record["figures"], before: gradient_figures(history)}
    figures.pop(after, None)
    return None, {"half": after, "job": job.id, "figures": {k: v for k, v in figures.items() if v is not None}}


def lesson_outcome(owner: str, record: dict | None) -> tuple[dict | None, str]:
    """After the run's state changed: the figures of a lesson half that has just ended, and the lesson's text."""
    if not record:
        return record, ""
    info = train.poll_training(owner)
    if info.get("job_id") == record["job"] and info["state"] == "done" and not info.get("ending"):
        snap = info.get("snapshot") or {}
        found = figures_of(record["half"], snap.get("metrics") or {}, snap.get("history") or {})
        if found is not None:
            record = {**record, "figures": {**record["figures"], record["half"]: found}}
    return record, outcome_text(record)


def loss_picture(record: dict | None):
    """The plot of G's two losses against D(G(z)), with D(G(z)) marked where each vanishing-gradients half
    stood (① at the switch or its end, ② at its end); PIL image."""
    from ganstudio.gan import render

    figures = (record or {}).get("figures") or {}
    marks = {str(i): figures[half]["d_fake"] for i, half in enumerate(HALVES["vanishing gradients"], 1)
             if (figures.get(half) or {}).get("d_fake") is not None}
    return render.g_loss_plot(marks)


def _figures_line(half: str, f: dict) -> str:
    if "grad_g" in f:
        verdict = f" · D(G(z)) **{f['d_fake']:.2g}**" if f.get("d_fake") is not None else ""
        return f"{TITLES[half]}: ‖∇G‖ **{f['grad_g']:.2g}**{verdict}"
    return (f"{TITLES[half]}: **{f['modes']}/{f['total']}** modes captured · "
            f"**{100 * f['high_quality']:.1f} %** high quality")


def _verdict(lesson: str, b: dict, a: dict) -> str:
    if lesson == "gan vs vae":
        return (f"After the same {LESSONS['gan']['steps']:,} steps the VAE caught {b['modes']} modes and the GAN "
                f"{a['modes']}, but the GAN put {100 * a['high_quality']:.1f} % of its points on a mode against the "
                f"VAE's {100 * b['high_quality']:.1f} %: the VAE covers the modes and blurs between them, the GAN is "
                "sharp and may drop some." if vae_covers_gan_sharpens(b, a) else
                "This time the VAE did not both cover at least as many modes and stay less sharp than the GAN.")
    if "grad_g" in b:
        return (f"The non-saturating loss gave G a gradient {a['grad_g'] / max(b['grad_g'], 1e-30):,.0f} times larger."
                if fix_wins(b, a) else "This time the switch did not give G a much larger gradient.")
    return (f"The fix found {a['modes'] - b['modes']:+d} modes and put {100 * a['high_quality']:.1f} % of its points "
            f"on a mode (vs {100 * b['high_quality']:.1f} %)." if fix_wins(b, a) else
            "This time the fix did not beat the collapse on both figures.")


def outcome_text(record: dict) -> str:
    """Each ended half's figures, and once both have run, whether the fix kept the lesson's promise."""
    figures = record.get("figures") or {}
    lines = []
    for lesson, (before, after) in HALVES.items():
        if not {before, after} & {*figures, record.get("half")}:
            continue
        for half in (before, after):
            if half in figures:
                lines.append(_figures_line(half, figures[half]))
            elif record.get("half") == half:
                lines.append(f"{TITLES[half]}: training…")
            elif record.get("then") == half:
                lines.append(f"{TITLES[half]}: next, once {TITLES[before]} has ended")
        if before in figures and after in figures:
            lines.append(_verdict(lesson, figures[before], figures[after]))
        lines.append(GRADIENT_MEANING if before == "saturate" else MEANING)
    return "\n\n".join(lines)
