"""The Text tab's token view: tokens appended in the page as they arrive, each shaded by its probability.

The Generate event streams small values: only the tokens that are new since its last update (and
the prompt once, with a note when it was cut to fit; the last update also carries the prompt and the text, for a shared link to reopen). The page
appends them; if it ever misses an update it asks the server for what it
lacks (``server.tokens([token, index])``), so the text is never missing a piece. Hovering a token shows
its probability and the model's five likeliest choices; clicking it keeps that table open below and shows
that step in the next-token chart (each new token is sent to it as a ``gs-next-token`` event on the document).
``data-count`` on the token box counts the tokens shown (the browser tests read it).
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

TEMPLATE = """
<div class="gs-stream">
  <div class="gs-note"></div>
  <div class="gs-tokens"><span class="gs-prompt"></span><span class="gs-new"></span></div>
  <div class="gs-stats"></div>
  <div class="gs-legend"><span class="gs-prompt">grey italics</span>: your prompt; then the model's tokens,
    shaded by the probability it gave each:</div>
  <div class="gs-scale">probability of the chosen token:
    <span class="gs-bar"></span> 0.1% · 3% · 100%</div>
  <div class="gs-top5"><em>Click a token to see the model's five likeliest choices at that step.</em></div>
</div>
"""

CSS = """
.gs-tokens {white-space: pre-wrap; font-family: ui-monospace, monospace; line-height: 1.7; font-size: 0.95em;
            max-height: 420px; overflow-y: auto; border: 1px solid #ddd; border-radius: 4px; padding: 8px}
.gs-note:not(:empty) {margin-bottom: 6px; font-size: 0.9em}
.gs-prompt {color: #444; background: #ececec; font-style: italic; border-radius: 3px}
.gs-legend {font-size: 0.85em; margin-top: 4px}
.gs-legend .gs-prompt {padding: 0 4px}
.gs-tok {border-radius: 3px; color: #111; cursor: pointer}
.gs-tok.sel {outline: 2px solid #333}
.gs-stats {margin: 6px 0; font-size: 0.9em}
.gs-scale {font-size: 0.8em; color: var(--body-text-color-subdued)}
.gs-bar {display: inline-block; width: 120px; height: 9px; vertical-align: middle; border: 1px solid #ccc;
         background: linear-gradient(90deg, hsl(0,75%,72%), hsl(60,75%,72%), hsl(120,75%,72%))}
.gs-top5 {margin-top: 8px; font-size: 0.9em}
.gs-top5 table {border-collapse: collapse} .gs-top5 td {padding: 1px 10px; font-family: ui-monospace, monospace}
"""

JS = """
let gen = null, tokens = [], filling = false;
const box = () => element.querySelector('.gs-tokens');
function colour(p) { const level = (Math.log10(Math.max(p, 1e-3)) + 3) / 3;
  return `hsl(${Math.round(120 * Math.max(0, Math.min(1, level)))}, 75%, 72%)`; }
function show(t) { return t.eos ? '⏹' : t.text.replace(/\\n/g, '↵\\n'); }
function table(i) {
  const t = tokens[i]; if (!t) return;
  tell(i);
  element.querySelectorAll('.gs-tok.sel').forEach(e => e.classList.remove('sel'));
  const span = element.querySelector(`.gs-tok[data-i="${i}"]`); if (span) span.classList.add('sel');
  const esc = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = t.top5.map(([alt, p]) => `<tr><td>${alt === t.text ? '▶' : ''}</td><td>${esc(JSON.stringify(alt))}</td>` +
    `<td>${(100 * p).toFixed(2)}%</td></tr>`).join('');
  element.querySelector('.gs-top5').innerHTML = `<b>Step ${i + 1}</b>: chose ${t.eos ? 'end of text' :
    esc(JSON.stringify(t.text))} (p = ${(100 * t.prob).toFixed(2)}%)<table>${rows}</table>`;
}
function tell(i) {  // the next-token chart beside the stream shows this step's distribution
  document.dispatchEvent(new CustomEvent('gs-next-token', {detail: {step: i + 1, token: tokens[i]}}));
}
function append(list) {
  const holder = element.querySelector('.gs-new'), frag = document.createDocumentFragment();
  for (const t of list) {
    const i = tokens.length; tokens.push(t);
    const span = document.createElement('span'); span.className = 'gs-tok'; span.dataset.i = i;
    span.style.background = colour(t.prob); span.textContent = show(t);
    span.title = `step ${i + 1}: p = ${(100 * t.prob).toFixed(1)}%\\ntop 5: ` +
      t.top5.map(([a, p]) => `${JSON.stringify(a)} ${(100 * p).toFixed(1)}%`).join(' | ');
    frag.appendChild(span);
  }
  holder.appendChild(frag);
  if (list.length) tell(tokens.length - 1);
  const b = box(); b.dataset.count = String(tokens.length);
  if (b.scrollHeight - b.scrollTop - b.clientHeight < 80) b.scrollTop = b.scrollHeight;
}
function stats(v) {
  const reason = {eos: 'reached end-of-text', length: 'reached max new tokens', stopped: 'stopped'};
  const tail = v.done ? ` · ${reason[v.stop_reason] || v.stop_reason}` : '';
  element.querySelector('.gs-stats').textContent = `${v.count} tokens · ${v.tokens_per_s.toFixed(1)} tokens/s${tail}`;
  box().dataset.done = v.done ? '1' : '0';
}
async function catchUp(v) {  // an update was missed (or a shared link opened): ask for what we lack
  if (filling) return; filling = true;
  let got = null;
  try { got = await server.tokens([gen, tokens.length]); } catch (e) {}
  if (got && got.token === gen) { append(got.tokens.slice(tokens.length - got.start)); if (got.done) stats(got); }
  else if (v.text !== undefined) plain(v);
  filling = false;
}
function plain(v) {  // a shared result whose tokens the server no longer keeps: its text, without the shading
  element.querySelector('.gs-new').textContent = v.text;
  element.querySelector('.gs-top5').innerHTML =
    '<em>This shared result is shown as plain text: the server no longer keeps its token probabilities.</em>';
}
function apply() {
  const v = props.value || {};
  if (!v.token) return;
  if (v.token !== gen) {
    gen = v.token; tokens = []; element.querySelector('.gs-new').innerHTML = '';
    element.querySelector('.gs-prompt').textContent = v.prompt_tail || '';
    element.querySelector('.gs-note').textContent = v.note || '';
    box().dataset.count = '0';
  }
  if (v.tokens && v.start !== undefined) {
    if (v.start > tokens.length) { catchUp(v); }
    else { append(v.tokens.slice(tokens.length - v.start)); }
  }
  if (v.count !== undefined) stats(v);
}
element.addEventListener('click', (event) => {
  const span = event.target.closest('.gs-tok'); if (span) table(Number(span.dataset.i));
});
watch('value', apply);
apply();
"""


def token_view(tokens_fn: Callable) -> gr.HTML:
    """The streamed-text view; ``tokens([token, index])`` (the function's name matters) fills any gap."""
    return gr.HTML(value={}, html_template=TEMPLATE, css_template=CSS, js_on_load=JS, server_functions=[tokens_fn],
                   elem_id="text-stream", padding=False)
