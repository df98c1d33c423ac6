"""The Train tab's lessons for one visitor: start a half, and say what each half showed once it ends.

Plain types in and out. A page keeps its lesson record (``LessonRecord`` as a dict: which half runs as
which job, the figures of the halves that ended); the settings and the promised effect live in
``ganstudio.gan.lessons``.
"""

from __future__ import annotations

from ganstudio import checks
from ganstudio.actions import train
from ganstudio.gan.lessons import HALVES, LESSONS, fix_wins, lesson_config, mode_figures

MEANING = ("*Modes captured*: how many of the 25 Gaussians have at least one generated point within 3 std of their "
           "centre (did G find them?). *High quality*: the share of generated points within 3 std of some centre "
           "(do they land on a mode, or smear between modes?). Both on 2,500 samples, as in the PacGAN paper.")
TITLES = {"collapse": "① Collapse", "fix": "② Fix"}


def lesson_params(half: str) -> dict:
    """The settings of one half of a lesson ("collapse", "fix", ...), as plain values for the form and start."""
    return lesson_config(checks.choice("lesson", half, LESSONS)).to_dict()


def start_lesson(owner: str, half: str, record: dict | None) -> tuple[dict, dict]:
    """Start one half (replacing a live run); returns (its settings, the page's lesson record)."""
    params = lesson_params(half)
    job_id = train.start_training(owner, params, replace=True)
    figures = dict((record or {}).get("figures") or {})
    figures.pop(half, None)  # this half runs again: its old figures no longer stand
    return params, {"half": half, "job": job_id, "figures": figures}


def lesson_outcome(owner: str, record: dict | None) -> tuple[dict | None, str]:
    """After the run's state changed: the figures of a lesson half that has just ended, and the lesson's text."""
    if not record:
        return record, ""
    info = train.poll_training(owner)
    if info.get("job_id") == record["job"] and info["state"] == "done" and not info.get("ending"):
        found = mode_figures((info.get("snapshot") or {}).get("metrics") or {})
        if found is not None:
            record = {**record, "figures": {**record["figures"], record["half"]: found}}
    return record, outcome_text(record)


def outcome_text(record: dict) -> str:
    """Each ended half's figures, and once both have run, whether the fix kept the lesson's promise."""
    figures = record.get("figures") or {}
    lines = []
    for lesson, (before, after) in HALVES.items():
        if not {before, after} & {*figures, record.get("half")}:
            continue
        for half in (before, after):
            if half in figures:
                f = figures[half]
                lines.append(f"{TITLES[half]}: **{f['modes']}/{f['total']}** modes captured · "
                             f"**{100 * f['high_quality']:.1f} %** high quality")
            elif record.get("half") == half:
                lines.append(f"{TITLES[half]}: training…")
        if before in figures and after in figures:
            b, a = figures[before], figures[after]
            lines.append(f"The fix found {a['modes'] - b['modes']:+d} modes and put {100 * a['high_quality']:.1f} % "
                         f"of its points on a mode (vs {100 * b['high_quality']:.1f} %)." if fix_wins(b, a) else
                         "This time the fix did not beat the collapse on both figures.")
        lines.append(MEANING)
    return "\n\n".join(lines)
