"""The Text tab's next-token chart, beside the stream: the likeliest next tokens as bars on a probability axis.

Its value is what ``actions.next_token.prompt_chart`` returns (the prompt's next token as the sampler would draw it:
kept tokens coloured, tokens that top-k / top-p cut greyed), or ``{"error": line}``. While a generation streams,
the token view sends each new step (``gs-next-token`` events on the document) and the chart shows that step's
distribution: the model's five likeliest tokens, the picked one marked. ``data-mode`` ("prompt" or "step") and
``data-bars`` (the bars' probabilities, comma-separated) on the chart are what the browser tests read.
"""

from __future__ import annotations

import gradio as gr

TEMPLATE = """
<div class="gs-nt">
  <div class="gs-nt-title"><em>The next token's chances appear here.</em></div>
  <div class="gs-nt-bars"></div>
  <div class="gs-nt-row"><span></span><span class="gs-nt-axis"><span>0</span><span>0.25</span><span>0.5</span>
    <span>0.75</span><span>1</span></span><span></span></div>
  <div class="gs-nt-row"><span></span><span class="gs-nt-axis-label">probability</span><span></span></div>
  <div class="gs-nt-legend"></div>
</div>
"""

CSS = """
.gs-nt {font-size: 0.9em; padding: 4px 2px}
.gs-nt-title {font-weight: 600; margin-bottom: 6px; min-height: 2.6em}
.gs-nt-row {display: grid; grid-template-columns: 9em 1fr 6.5em; align-items: center; gap: 6px; margin: 2px 0}
.gs-nt-tok {font-family: ui-monospace, monospace; white-space: pre; overflow: hidden; text-overflow: ellipsis;
            text-align: right}
.gs-nt-track {position: relative; height: 16px; background: repeating-linear-gradient(90deg, transparent 0,
              transparent calc(25% - 1px), #e4e4e4 calc(25% - 1px), #e4e4e4 25%); border-left: 1px solid #888}
.gs-nt-bar {position: absolute; left: 0; top: 2px; bottom: 2px; background: #3b6fb6; border-radius: 0 3px 3px 0;
            transition: width 0.25s}
.gs-nt-row.cut .gs-nt-bar {background: #c9c9c9}
.gs-nt-row.cut .gs-nt-tok, .gs-nt-row.cut .gs-nt-val {color: #9a9a9a}
.gs-nt-row.picked .gs-nt-tok {font-weight: 700}
.gs-nt-row.picked .gs-nt-bar {background: #2e9e5b}
.gs-nt-own {position: absolute; top: 0; bottom: 0; width: 2px; background: #222}
.gs-nt-val {font-family: ui-monospace, monospace; font-size: 0.9em}
.gs-nt-axis {display: flex; justify-content: space-between; font-size: 0.85em; margin: 0 -0.6em}
.gs-nt-axis-label {text-align: center; font-size: 0.9em}
.gs-nt-legend {margin-top: 6px; font-size: 0.85em; line-height: 1.6}
.gs-nt-key {display: inline-block; width: 12px; height: 10px; vertical-align: middle; margin-right: 3px}
.gs-nt-error {color: #b42318}
"""

JS = """
const $ = (q) => element.querySelector(q);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const pct = (p) => p >= 0.001 ? `${(100 * p).toFixed(1)} %` : p > 0 ? '<0.1 %' : '0 %';
const shown = (t) => t === '' ? '(empty)' : JSON.stringify(t).slice(1, -1).replace(/ /g, '␣');  // a space reads as ␣
const key = (colour) => `<span class="gs-nt-key" style="background:${colour}"></span>`;
function bars(rows) {
  $('.gs-nt-bars').innerHTML = rows.map(r => `<div class="gs-nt-row ${r.cls}" title="${esc(r.tip)}">` +
    `<span class="gs-nt-tok">${esc(r.label)}</span><span class="gs-nt-track">` +
    `<span class="gs-nt-bar" style="width:${(100 * r.p).toFixed(2)}%"></span>` +
    (r.own === undefined ? '' : `<span class="gs-nt-own" style="left:calc(${(100 * r.own).toFixed(2)}% - 1px)"></span>`) +
    `</span><span class="gs-nt-val">${esc(r.value)}</span></div>`).join('');
  element.querySelector('.gs-nt').dataset.bars = rows.map(r => r.p.toFixed(4)).join(',');
}
function prompt(v) {
  const s = v.settings, mode = s.temperature === 0 ? 'temperature 0 (greedy)' :
    `temperature ${s.temperature}, top-k ${s.top_k || 'off'}, top-p ${s.top_p}`;
  $('.gs-nt-title').textContent = `Next token after the prompt — ${mode}: ${v.kept.toLocaleString()} of ` +
    `${v.vocab.toLocaleString()} tokens can be picked`;
  bars(v.rows.map(r => ({label: shown(r.text), p: r.cut ? r.tempered : r.sampled, own: r.model,
    cls: r.cut ? 'cut' : '', value: r.cut ? `cut: ${r.cut}` : pct(r.sampled),
    tip: `${JSON.stringify(r.text)}: the model's own probability ${pct(r.model)}; after temperature ${pct(r.tempered)}; ` +
      (r.cut ? `cut by ${r.cut}` : `chance of being picked ${pct(r.sampled)}`)})));
  $('.gs-nt-legend').innerHTML = `${key('#3b6fb6')}chance of being picked (after temperature, top-k, top-p) · ` +
    `${key('#c9c9c9')}cut by a filter (bar: its probability after temperature) · ` +
    `${key('#222')}the model's own probability (temperature 1). Move the sliders: the bars follow, no generation needed. ␣ is a space.`;
  element.querySelector('.gs-nt').dataset.mode = 'prompt';
}
function step(d) {
  const t = d.token;
  $('.gs-nt-title').textContent = `Step ${d.step}: the model's five likeliest tokens — picked ` +
    (t.eos ? 'end of text' : JSON.stringify(t.text)) + ` (${pct(t.prob)})`;
  bars(t.top5.map(([text, p]) => ({label: shown(text), p, cls: text === t.text ? 'picked' : '',
    value: pct(p), tip: `${JSON.stringify(text)}: the model's probability ${pct(p)}`})));
  $('.gs-nt-legend').innerHTML = `${key('#2e9e5b')}the token picked · ${key('#3b6fb6')}the others. ` +
    'Bars: the model\\'s own probabilities at this step (before temperature and filters). Click a token of the text ' +
    'to see its step. ␣ is a space.';
  element.querySelector('.gs-nt').dataset.mode = 'step';
}
function apply() {
  const v = props.value || {};
  if (v.error) { $('.gs-nt-title').innerHTML = `<span class="gs-nt-error">${esc(v.error)}</span>`; bars([]);
    $('.gs-nt-legend').innerHTML = ''; return; }
  if (v.rows) prompt(v);
}
document.addEventListener('gs-next-token', (event) => step(event.detail));
watch('value', apply);
apply();
"""


def next_token_view() -> gr.HTML:
    """The chart; its value comes from the Text tab's chart event, its steps from the token view."""
    return gr.HTML(value={}, html_template=TEMPLATE, css_template=CSS, js_on_load=JS, elem_id="text-next-token",
                   padding=False)
