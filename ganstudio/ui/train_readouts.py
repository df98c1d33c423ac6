"""The Train tab's readouts of a run: the progress bar, the metrics in words, and "The game" (the chosen loss
written out with this run's value of every term; a VAE's objective in its place). Plain strings from a snapshot.
"""

from __future__ import annotations

from ganstudio.ui import train_texts


def progress_bar(progress: float, state: str) -> str:
    pct = max(0.0, min(progress, 1.0)) * 100
    colour = {"failed": "#c0392b", "done": "#1b7837"}.get(state, "#762a83")
    return (f'<div style="background:#e6e6e6;border-radius:4px;height:12px;width:100%">'
            f'<div style="background:{colour};width:{pct:.1f}%;height:12px;border-radius:4px"></div></div>')


def metrics_text(snap: dict) -> str:
    m = snap.get("metrics") or {}
    latest = snap.get("latest") or {}
    parts = []
    if "modes" in m:
        kl = m.get("reverse_kl")
        parts.append(f"**Modes captured:** {m['modes']}/{m['total_modes']} · **high quality:** "
                     f"{100 * m['high_quality']:.1f}%" + (f" · reverse KL {kl:.3f}" if kl is not None else "")
                     + f"\n\n<small>{train_texts.MODES_NOTE}</small>")
    if "precision" in m:
        parts.append(f"**Precision:** {100 * m['precision']:.1f}% · **coverage:** {100 * m['coverage']:.1f}%")
    if "fid" in m:
        parts.append(f"**{m.get('fid_name', 'FID')}:** {m['fid']:.2f} (step {m.get('step', '?')})")
    if snap.get("family") == "vae":
        parts.append(f"Updates: **{snap.get('step', 0)}** (encoder and decoder together; a VAE has no D)")
    elif snap:
        parts.append(f"Updates: **D {snap.get('d_updates', 0)}** · **G {snap.get('g_updates', 0)}** "
                     f"(iterations {snap.get('step', 0)})")
    if "d_real" in latest:
        what = "P(real)" if snap.get("d_output") == "probability" else "score"
        parts.append(f"D(x) {what}: {latest.get('d_real', float('nan')):.3f} · D(G(z)): "
                     f"{latest.get('d_fake', float('nan')):.3f} · ‖∇D‖ {latest.get('grad_d', float('nan')):.3g} · "
                     f"‖∇G‖ {latest.get('grad_g', float('nan')):.3g}")
    return "\n\n".join(parts) or "Metrics appear once training runs."


def game_html(snap: dict) -> str:
    """The chosen loss written out, with this run's current value of every term."""
    terms = snap.get("terms") or {}
    if not terms:
        return "<div class='gs-game'><em>The game's terms appear once training runs.</em></div>"
    rows = "".join(f"<tr><td><code>{name}</code></td><td class='num'>{value:+.3f}</td><td>{note}</td></tr>"
                   for name, value, note in terms["rows"])
    footer = terms.get("footer") or (f"D's loss now {terms['d_loss']:.3f} · G's loss now {terms['g_loss']:.3f} "
                                     "(on a fresh batch of 128 real and 128 generated samples)")  # a VAE: its own
    return (f"<div class='gs-game'><b>{terms.get('title', 'The game')}</b> ({snap.get('loss', '')}): "
            f"{terms['game']}<table>{rows}</table><div>{footer}</div></div>")


GAME_CSS = """
.gs-game {font-size: 0.92em} .gs-game table {border-collapse: collapse; margin: 6px 0}
.gs-game td {padding: 2px 10px; border-bottom: 1px solid #e3e3e3} .gs-game td.num {font-family: ui-monospace, monospace;
text-align: right}
"""
