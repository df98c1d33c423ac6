"""What the Text GAN lesson draws from a run's snapshot: the lines table, the figures, and two small line charts
(‖∇G‖ and D's accuracy against the update number) as inline SVG with labelled axes. Plain strings; no Gradio."""

from __future__ import annotations

import html
import math

CHART_W, CHART_H = 420, 200  # the SVG's own units; it scales with the page
PAD_L, PAD_R, PAD_T, PAD_B = 58, 12, 24, 38  # room for the tick labels and the axis titles

CSS = """
.gs-tg-lines table {border-collapse: collapse; width: 100%; font-size: 0.92em}
.gs-tg-lines td, .gs-tg-lines th {padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: left}
.gs-tg-lines td.line {font-family: ui-monospace, monospace; white-space: pre}
.gs-tg-lines td.num {font-family: ui-monospace, monospace; text-align: right}
.gs-tg-lines .prompt {color: #888}
"""


def _num(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _line_cell(prompt: str, line: str) -> str:
    rest = line[len(prompt):] if line.startswith(prompt) else line
    return (f"<td class='line'><span class='prompt'>{html.escape(prompt)}</span>{html.escape(rest)}</td>")


def lines_html(snap: dict) -> str:
    """One row per prompt: G's line now and D's P(real) of it, the likelihood GPT's line and D's P(real) of it."""
    rows = snap.get("lines") or []
    if not rows:
        return "<div class='gs-tg-lines'><em>G's lines appear here once the run trains.</em></div>"
    gpt = {row["prompt"]: row for row in snap.get("gpt_lines") or []}
    body = ""
    for row in rows:
        other = gpt.get(row["prompt"], {"line": "", "d_real": None})
        body += (f"<tr>{_line_cell(row['prompt'], row['line'])}<td class='num'>{_num(row['d_real'])}</td>"
                 f"{_line_cell(row['prompt'], other['line'])}<td class='num'>{_num(other['d_real'])}</td></tr>")
    return (f"<div class='gs-tg-lines' data-step='{snap.get('step', 0)}'><table><tr><th>G's line (update "
            f"{snap.get('step', 0)})</th><th>D: P(real)</th><th>likelihood GPT's line</th><th>D: P(real)</th></tr>"
            f"{body}</table></div>")


def figures_md(snap: dict) -> str:
    """The numbers under the table: ‖∇G‖, D's accuracy, the quality figures at the start and now."""
    if not snap:
        return "Figures appear once the run trains."
    latest, quality = snap.get("latest") or {}, snap.get("quality") or []
    parts = [f"**‖∇G‖ = {latest.get('grad_g', 0.0):.4g}** (largest so far {snap.get('grad_g_max', 0.0):.4g}) · "
             f"**D's accuracy** {100 * latest.get('d_acc', 0.5):.0f} %"]
    if quality:
        first, last = quality[0], quality[-1]
        parts.append(f"**Bigram distance to the corpus** {first['bigram']:.3f} at the start → **{last['bigram']:.3f}** "
                     f"now (0 = the corpus's character pairs; real lines score ~0.08) · **words found in the corpus** "
                     f"{100 * first['words']:.0f} % → **{100 * last['words']:.0f} %**")
    change = snap.get("g_max_change", 0.0)
    parts.append("**G's weights: unchanged since the start, to the bit**" if change == 0.0
                 else f"G's weights have moved (largest change {change:.3g})")
    return "\n\n".join(parts)


def chart_svg(points: list[tuple[float, float]], title: str, x_label: str, y_label: str,
              y_range: tuple[float, float] | None = None, colour: str = "#762a83") -> str:
    """A line chart with labelled axes and end ticks; an empty one says it is waiting."""
    w, h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    xs, ys = [p[0] for p in points], [p[1] for p in points if math.isfinite(p[1])]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y0, y1 = y_range or ((min(ys + [0.0]), max(ys + [0.0])) if ys else (0.0, 1.0))
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def sx(x):
        return PAD_L + (x - x0) / (x1 - x0) * w

    def sy(y):
        return PAD_T + h - (min(max(y, y0), y1) - y0) / (y1 - y0) * h

    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points if math.isfinite(y))
    text = "font-size='11' fill='#444'"
    return (
        f"<svg viewBox='0 0 {CHART_W} {CHART_H}' role='img' aria-label='{html.escape(title)}' "
        "style='flex: 1 1 300px; max-width: 480px'>"
        f"<text x='{PAD_L}' y='14' font-size='12' font-weight='bold'>{html.escape(title)}</text>"
        f"<line x1='{PAD_L}' y1='{PAD_T + h}' x2='{PAD_L + w}' y2='{PAD_T + h}' stroke='#888'/>"
        f"<line x1='{PAD_L}' y1='{PAD_T}' x2='{PAD_L}' y2='{PAD_T + h}' stroke='#888'/>"
        f"<text x='{PAD_L - 4}' y='{PAD_T + h}' text-anchor='end' {text}>{y0:.3g}</text>"
        f"<text x='{PAD_L - 4}' y='{PAD_T + 9}' text-anchor='end' {text}>{y1:.3g}</text>"
        f"<text x='{PAD_L}' y='{PAD_T + h + 13}' {text}>{x0:.0f}</text>"
        f"<text x='{PAD_L + w}' y='{PAD_T + h + 13}' text-anchor='end' {text}>{x1:.0f}</text>"
        f"<text x='{PAD_L + w / 2}' y='{CHART_H - 6}' text-anchor='middle' {text} class='x-label'>"
        f"{html.escape(x_label)}</text>"
        f"<text transform='translate(14 {PAD_T + h / 2}) rotate(-90)' text-anchor='middle' {text} class='y-label'>"
        f"{html.escape(y_label)}</text>"
        + (f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='1.6'/>" if path else
           f"<text x='{PAD_L + w / 2}' y='{PAD_T + h / 2}' text-anchor='middle' {text}>waiting for updates…</text>")
        + "</svg>")


def charts_html(snap: dict) -> str:
    """‖∇G‖ and D's accuracy against the update number, side by side."""
    history = (snap or {}).get("history") or []
    grad = [(p["step"], p["grad_g"]) for p in history]
    acc = [(p["step"], 100 * p["d_acc"]) for p in history]
    return ("<div class='gs-tg-charts' style='display: flex; flex-wrap: wrap; gap: 12px'>"
            + chart_svg(grad, "‖∇G‖: the gradient that reaches G", "update", "‖∇G‖ (L2 norm)")
            + chart_svg(acc, "D's accuracy on the batch", "update", "accuracy (%)", (0.0, 100.0), "#1b7837")
            + "</div>")
