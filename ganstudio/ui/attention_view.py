"""The Attention tab's explorer: heatmaps with token labels, a colour scale, a clickable overview and
self-attention worked through step by step — drawn in the browser from compact payloads.

The component's value is what one analysis returns (``actions.attention.explore_attention``): the
tokens, every head as a small thumbnail, and one full matrix. Everything else the page asks for
with the analysis's token: ``server.view([token, view, layer, head, discount])`` for another matrix
and ``server.explain([token, layer, head, query])`` for one query's arithmetic.
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

TEMPLATE = """
<div class="gs-ax">
  <div class="gs-ax-tools">
    <label><input type="radio" name="gs-view" value="head" checked> one head</label>
    <label><input type="radio" name="gs-view" value="average"> heads averaged</label>
    <label><input type="radio" name="gs-view" value="rollout"> rollout (all layers)</label>
    <label><input type="checkbox" class="gs-discount"> discount the first token</label>
    <label>zoom <input type="range" class="gs-zoom" min="4" max="28" value="16"></label>
  </div>
  <div class="gs-ax-empty"><em>Press <b>Show attention</b>.</em></div>
  <div class="gs-ax-body" style="display:none">
    <div class="gs-ax-why"></div>
    <div class="gs-ax-title"></div>
    <div class="gs-ax-scroll"><canvas class="gs-ax-map"></canvas></div>
    <div class="gs-ax-scale"><span class="lo">0</span><span class="bar"></span><span class="hi"></span>
      <span class="unit">attention weight (each row sums to 1)</span></div>
    <div class="gs-ax-tip">&nbsp;</div>
    <div class="gs-ax-help">Row = the token looking (the query), column = the token looked at (the key).
      Click a row to work that query's attention through, step by step.</div>
    <div class="gs-ax-over-title"><b>All layers and heads</b> — click one to open it</div>
    <canvas class="gs-ax-over"></canvas>
    <div class="gs-ax-steps"></div>
    <div class="gs-ax-pos-title"><b>How alike the position embeddings are</b> — cosine similarity of the model's
      position vectors (rows of wpe) for positions 0 … <span class="gs-ax-pos-n"></span>: what the model adds to a
      token to say where it sits</div>
    <canvas class="gs-ax-pos"></canvas>
    <div class="gs-ax-scale"><span>−1</span><span class="bar signed"></span><span>+1</span>
      <span class="unit">cosine similarity (0 = unrelated, 1 = the same direction)</span></div>
    <div class="gs-ax-pos-tip">&nbsp;</div>
  </div>
</div>
"""

CSS = """
.gs-ax-tools {display: flex; flex-wrap: wrap; gap: 14px; font-size: 0.9em; margin-bottom: 6px}
.gs-ax-title {font-weight: 600; margin: 4px 0}
.gs-ax-scroll {overflow: auto; max-height: 720px; max-width: 100%; border: 1px solid #ddd; border-radius: 4px}
.gs-ax-map, .gs-ax-over {display: block; cursor: pointer}
.gs-ax-over {max-width: 100%; height: auto}
.gs-ax-scale {font-size: 0.85em; margin-top: 6px; display: flex; align-items: center; gap: 6px}
.gs-ax-scale .bar {display: inline-block; width: 180px; height: 10px; border: 1px solid #ccc;
  background: linear-gradient(90deg, rgb(68,1,84), rgb(59,82,139), rgb(33,145,140), rgb(94,201,98), rgb(253,231,37))}
.gs-ax-scale .unit {color: var(--body-text-color-subdued)}
.gs-ax-tip {font-family: ui-monospace, monospace; font-size: 0.85em; min-height: 1.4em}
.gs-ax-help {font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 10px}
.gs-ax-over-title {margin: 8px 0 4px}
.gs-ax-steps {margin-top: 12px; font-size: 0.88em}
.gs-ax-steps table {border-collapse: collapse} .gs-ax-steps td, .gs-ax-steps th {padding: 2px 8px;
  border-bottom: 1px solid #e6e6e6; font-family: ui-monospace, monospace; text-align: right}
.gs-ax-steps td.tok {text-align: left} .gs-ax-steps .w {display: inline-block; height: 9px; background: #21918c}
.gs-ax-steps .masked {color: #aaa}
.gs-ax-why {font-size: 0.9em; margin: 4px 0; padding: 4px 8px; background: #f3f6fb; border-radius: 4px}
.gs-ax-scale .bar.signed {background: linear-gradient(90deg, rgb(49,54,149), rgb(255,255,255), rgb(165,0,38))}
.gs-ax-pos-title {margin: 14px 0 4px; font-size: 0.9em}
.gs-ax-pos {display: block; border: 1px solid #ddd}
.gs-ax-pos-tip {font-family: ui-monospace, monospace; font-size: 0.85em; min-height: 1.4em}
.gs-ax-strip {display: inline-block; vertical-align: middle; height: 12px; border: 1px solid #ccc; cursor: crosshair}
.gs-ax-vec {margin: 3px 0} .gs-ax-vec b {display: inline-block; min-width: 9em}
.gs-ax-steps .hint {color: var(--body-text-color-subdued)}
"""

JS = """
const VIRIDIS = [[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];
let data = null, key = null, view = null, cells = null, sel = {view: 'head', layer: 0, head: 0}, query = null;
const $ = (q) => element.querySelector(q);
function colour(t) { t = Math.max(0, Math.min(1, t)) * 4; const i = Math.min(3, Math.floor(t)), f = t - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * f)); }
function bytes(b64) { const s = atob(b64 || ''); const a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; }
function label(t) { const s = JSON.stringify(t).slice(1, -1); return s.length > 24 ? s.slice(0, 23) + '…' : s; }
function geometry() {
  const n = view.n, cell = Number($('.gs-zoom').value), g = $('.gs-ax-map').getContext('2d');
  g.font = `${Math.min(13, Math.max(9, cell - 3))}px ui-monospace, monospace`;
  const labelW = cell >= 9 ? Math.max(...data.tokens.map((t, i) => g.measureText(`${i} ${label(t)}`).width)) + 8 : 8;
  return {n, cell, left: labelW + 4, top: cell >= 9 ? labelW + 4 : 14};  // column labels stand upright, whole
}
function drawMap() {
  const c = $('.gs-ax-map'), G = geometry(), {n, cell, left, top} = G;
  c.width = left + n * cell + 4; c.height = top + n * cell + 4;
  const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
  const img = g.createImageData(n, n);
  for (let i = 0; i < n * n; i++) { const col = colour(cells[i] / 255);
    img.data[4 * i] = col[0]; img.data[4 * i + 1] = col[1]; img.data[4 * i + 2] = col[2]; img.data[4 * i + 3] = 255; }
  const tmp = document.createElement('canvas'); tmp.width = n; tmp.height = n; tmp.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false; g.drawImage(tmp, left, top, n * cell, n * cell);
  g.font = `${Math.min(13, Math.max(9, cell - 3))}px ui-monospace, monospace`; g.fillStyle = '#222';
  if (cell >= 9) {
    g.textAlign = 'right'; g.textBaseline = 'middle';
    data.tokens.forEach((t, i) => g.fillText(`${label(t)} ${i}`, left - 4, top + (i + 0.5) * cell));
    data.tokens.forEach((t, j) => { g.save(); g.translate(left + (j + 0.5) * cell, top - 4); g.rotate(-Math.PI / 2);
      g.textAlign = 'left'; g.fillText(`${j} ${label(t)}`, 0, 0); g.restore(); });
  } else {
    g.textAlign = 'left'; g.fillText(`${n} tokens: zoom in for their labels; hover for values`, 4, 8);
  }
  if (data.prompt_len < n) {  // where the prompt ends and the model's own continuation begins
    const p = data.prompt_len * cell; g.strokeStyle = 'rgba(255,80,80,0.9)'; g.lineWidth = 2;
    g.beginPath(); g.moveTo(left, top + p); g.lineTo(left + n * cell, top + p);
    g.moveTo(left + p, top); g.lineTo(left + p, top + n * cell); g.stroke();
  }
  if (query !== null && query < n) { g.strokeStyle = '#ff5050'; g.lineWidth = 2;
    g.strokeRect(left, top + query * cell, n * cell, cell); }
  $('.gs-ax-title').textContent = view.title + (data.prompt_len < n ? ` · red lines: the prompt ends at token ${data.prompt_len - 1}; ` +
    'after them, tokens the model generated' : '');
  $('.gs-ax-scale .hi').textContent = view.vmax.toFixed(3);
  c.dataset.n = String(n);
  let sum = 0; for (let i = 0; i < cells.length; i++) sum = (sum * 31 + cells[i]) | 0;
  c.dataset.checksum = String(sum);  // changes with the matrix drawn (the browser tests compare it)
}
function drawOverview() {
  const o = data.overview, c = $('.gs-ax-over'), s = o.side, px = Math.max(2, Math.floor(72 / s)), side = s * px;
  const left = 62, top = 20, gap = 6, cellsO = bytes(o.cells);
  c.width = left + o.heads * (side + gap); c.height = top + o.layers * (side + gap);
  const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
  g.font = '11px sans-serif'; g.fillStyle = '#222'; g.textBaseline = 'middle';
  for (let h = 0; h < o.heads; h++) { g.textAlign = 'center'; g.fillText(`head ${h}`, left + h * (side + gap) + side / 2, 9); }
  for (let l = 0; l < o.layers; l++) {
    g.textAlign = 'right'; g.fillText(`layer ${l}`, left - 6, top + l * (side + gap) + side / 2);
    for (let h = 0; h < o.heads; h++) {
      const img = g.createImageData(s, s), base = (l * o.heads + h) * s * s;
      for (let i = 0; i < s * s; i++) { const col = colour(cellsO[base + i] / 255);
        img.data[4 * i] = col[0]; img.data[4 * i + 1] = col[1]; img.data[4 * i + 2] = col[2]; img.data[4 * i + 3] = 255; }
      const tmp = document.createElement('canvas'); tmp.width = s; tmp.height = s; tmp.getContext('2d').putImageData(img, 0, 0);
      g.imageSmoothingEnabled = false; g.drawImage(tmp, left + h * (side + gap), top + l * (side + gap), side, side);
      if (sel.view === 'head' && sel.layer === l && sel.head === h) { g.strokeStyle = '#ff5050'; g.lineWidth = 2;
        g.strokeRect(left + h * (side + gap) - 1, top + l * (side + gap) - 1, side + 2, side + 2); }
    }
  }
  c.dataset.geometry = JSON.stringify({left, top, side, gap, layers: o.layers, heads: o.heads});
}
async function ask(next) {
  const got = await server.view([data.token, next.view, next.layer, next.head, $('.gs-discount').checked]);
  if (!got) return;
  sel = {view: next.view, layer: got.layer, head: got.head}; view = got; cells = bytes(got.cells);
  element.querySelectorAll('input[name=gs-view]').forEach(r => { r.checked = r.value === sel.view; });
  drawMap(); drawOverview(); $('.gs-ax-map').dataset.title = view.title;
}
function strip(values, name) {  // every number of a vector as a colour cell (blue < 0 < red); hover reads one
  const top = Math.max(1e-6, ...values.map(Math.abs));
  return `<canvas class="gs-ax-strip" width="${values.length}" height="1" style="width:${Math.min(640, Math.max(128, 3 * values.length))}px" ` +
    `data-name="${name}" data-values="${values.join(',')}" data-top="${top}"></canvas>`;
}
function paintStrips() {
  element.querySelectorAll('canvas.gs-ax-strip').forEach(c => {
    const values = c.dataset.values.split(',').map(Number), top = Number(c.dataset.top), g = c.getContext('2d');
    const img = g.createImageData(values.length, 1);
    values.forEach((v, i) => { const col = signed(v / top); img.data.set([...col, 255], 4 * i); });
    g.putImageData(img, 0, 0);
  });
}
function steps(e) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const vec = (name, v, what) => `<div class="gs-ax-vec"><b>${name}</b> ${strip(v, name)} <span class="hint">${v.length} numbers${what}</span></div>`;
  const rows = e.keys.map((k, j) => `<tr class="${k.masked ? 'masked' : ''}"><td>${j}</td><td class="tok">${esc(JSON.stringify(k.token))}</td>` +
    `<td>${strip(k.k, `k${j}`)}</td><td>${strip(k.v, `v${j}`)}</td>` +
    `<td>${k.score.toFixed(3)}</td><td>${k.scaled.toFixed(3)}</td><td>${k.masked ? '−∞ (future)' : '0'}</td>` +
    `<td>${k.weight.toFixed(4)} <span class="w" style="width:${Math.round(80 * k.weight)}px"></span></td>` +
    `<td>${k.contribution.toFixed(3)}</td></tr>`).join('');
  const top = (list) => list.map(([t, p]) => `${esc(JSON.stringify(t))} ${(100 * p).toFixed(1)}%`).join(' · ');
  $('.gs-ax-steps').innerHTML = `<b>Self-attention, step by step</b> — layer ${e.layer}, head ${e.head}, query token ${e.query} ` +
    `${esc(JSON.stringify(e.tokens[e.query]))}: softmax(q·kᵀ / √dₖ + mask) · V with dₖ = ${e.d_k}` +
    `<div class="hint">Each strip is every number of a vector, blue below 0, red above (hover one for its value).</div>` +
    vec('x', e.x, ': the token’s residual stream entering this layer, after layer norm') +
    vec('① q = x·W<sub>q</sub>', e.q, ` (‖q‖ = ${e.q_norm.toFixed(2)}); each token j has its own k<sub>j</sub> = x<sub>j</sub>·W<sub>k</sub> and v<sub>j</sub> = x<sub>j</sub>·W<sub>v</sub> (table)`) +
    `<table><tr><th>j</th><th>key token</th><th>k<sub>j</sub></th><th>v<sub>j</sub></th><th>② q·k<sub>j</sub></th><th>③ ÷ √dₖ = ${e.scale.toFixed(2)}</th>` +
    `<th>④ mask</th><th>⑤ softmax → weight</th><th>‖weight · v<sub>j</sub>‖</th></tr>${rows}</table>` +
    vec('⑥ output = Σ w<sub>j</sub> v<sub>j</sub>', e.output, ` (‖·‖ = ${e.output_norm.toFixed(2)})`) +
    `<div>⑦ the residual stream after this layer, read through the final layer norm and output layer: ${top(e.after_layer)}</div>` +
    `<div>⑧ the model's own prediction for the next token (after all layers): ${top(e.final)}</div>`;
  $('.gs-ax-steps').dataset.query = String(e.query);
  paintStrips();
}
function signed(t) {  // -1 blue, 0 white, +1 red
  t = Math.max(-1, Math.min(1, t)); const end = t < 0 ? [49, 54, 149] : [165, 0, 38], a = Math.abs(t);
  return end.map(c => Math.round(255 + (c - 255) * a));
}
function drawPositions() {
  const p = data.positions, n = p.n, cellsP = bytes(p.cells), c = $('.gs-ax-pos');
  const cell = Math.max(2, Math.min(16, Math.floor(480 / n))), left = 56, top = 14, bottom = 40;
  c.width = left + n * cell + 10; c.height = top + n * cell + bottom;
  const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
  const img = g.createImageData(n, n);
  for (let i = 0; i < n * n; i++) img.data.set([...signed(cellsP[i] / 127.5 - 1), 255], 4 * i);
  const tmp = document.createElement('canvas'); tmp.width = n; tmp.height = n; tmp.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false; g.drawImage(tmp, left, top, n * cell, n * cell);
  g.fillStyle = '#222'; g.font = '11px sans-serif';
  const every = Math.max(1, Math.ceil(24 / cell));
  for (let i = 0; i < n; i += every) {
    g.textAlign = 'right'; g.textBaseline = 'middle'; g.fillText(String(i), left - 4, top + (i + 0.5) * cell);
    g.textAlign = 'center'; g.textBaseline = 'top'; g.fillText(String(i), left + (i + 0.5) * cell, top + n * cell + 3);
  }
  g.font = '12px sans-serif'; g.textAlign = 'center'; g.textBaseline = 'bottom';
  g.fillText('position', left + n * cell / 2, c.height - 2);
  g.save(); g.translate(12, top + n * cell / 2); g.rotate(-Math.PI / 2); g.textBaseline = 'middle'; g.fillText('position', 0, 0); g.restore();
  $('.gs-ax-pos-n').textContent = String(n - 1); c.dataset.n = String(n);
  c.dataset.geometry = JSON.stringify({left, top, cell, n});
}
function fresh() {
  const v = props.value || {}; if (!v.token || v.token === key) return;
  const same = data && data.model === v.model && data.tokens.join('\u0000') === v.tokens.join('\u0000');
  const keep = same ? {...sel} : null;  // the same tokens again (position embeddings switched): stay on the same view
  key = v.token; data = v; view = v.view; cells = bytes(v.view.cells); query = null;
  sel = {view: 'head', layer: v.view.layer, head: v.view.head};
  element.querySelectorAll('input[name=gs-view]').forEach(r => { r.checked = r.value === 'head'; });
  $('.gs-ax-empty').style.display = 'none'; $('.gs-ax-body').style.display = ''; $('.gs-ax-steps').innerHTML = '';
  $('.gs-ax-why').textContent = (v.opening ? v.opening.why : '') +
    (v.positions_off ? ' Position embeddings removed: the model sees the tokens but not where they sit.' : '');
  fitZoom(); drawMap(); drawOverview(); drawPositions(); $('.gs-ax-map').dataset.title = view.title;
  if (keep && (keep.view !== sel.view || keep.layer !== sel.layer || keep.head !== sel.head)) {
    $('.gs-ax-why').textContent = 'Still showing the view you had open, to compare.' +
      (v.positions_off ? ' Position embeddings removed: the model sees the tokens but not where they sit.' : '');
    ask(keep);
  }
}
function fitZoom() {  // a new analysis zooms out, if need be, until every column shows (a phone's width)
  const room = $('.gs-ax-scroll').clientWidth, zoom = $('.gs-zoom'); if (!room) return;
  for (let z = Number(zoom.value); z >= Number(zoom.min); z--) {
    zoom.value = String(z); const {n, cell, left} = geometry(); if (left + n * cell + 4 <= room) return;
  }
}
function cellAt(event) {
  const c = $('.gs-ax-map'), box = c.getBoundingClientRect(), G = geometry();
  const x = (event.clientX - box.left) * c.width / box.width - G.left, y = (event.clientY - box.top) * c.height / box.height - G.top;
  const col = Math.floor(x / G.cell), row = Math.floor(y / G.cell);
  return row >= 0 && col >= 0 && row < G.n && col < G.n ? [row, col] : null;
}
element.addEventListener('mousemove', (event) => {
  if (!data) return;
  if (event.target.classList.contains('gs-ax-strip')) {
    const c = event.target, box = c.getBoundingClientRect(), values = c.dataset.values.split(',');
    const i = Math.min(values.length - 1, Math.floor((event.clientX - box.left) / box.width * values.length));
    c.title = `${c.dataset.name}[${i}] = ${Number(values[i]).toFixed(4)}`; return;
  }
  if (event.target === $('.gs-ax-pos')) {
    const c = event.target, box = c.getBoundingClientRect(), G = JSON.parse(c.dataset.geometry);
    const x = (event.clientX - box.left) * c.width / box.width - G.left, y = (event.clientY - box.top) * c.height / box.height - G.top;
    const col = Math.floor(x / G.cell), row = Math.floor(y / G.cell);
    if (row >= 0 && col >= 0 && row < G.n && col < G.n) {
      const value = bytes(data.positions.cells)[row * G.n + col] / 127.5 - 1;
      $('.gs-ax-pos-tip').textContent = `position ${row} · position ${col}: cosine similarity ${value.toFixed(2)}`;
    }
    return;
  }
  if (event.target !== $('.gs-ax-map')) return; const at = cellAt(event); if (!at) return;
  const [r, c] = at, value = cells[r * view.n + c] / 255 * view.vmax;
  $('.gs-ax-tip').textContent = `${r} ${JSON.stringify(data.tokens[r])} → ${c} ${JSON.stringify(data.tokens[c])}: ${value.toFixed(3)}`;
});
element.addEventListener('click', async (event) => {
  if (!data) return;
  if (event.target === $('.gs-ax-over')) {
    const c = event.target, box = c.getBoundingClientRect(), G = JSON.parse(c.dataset.geometry);
    const x = (event.clientX - box.left) * c.width / box.width - G.left, y = (event.clientY - box.top) * c.height / box.height - G.top;
    const h = Math.floor(x / (G.side + G.gap)), l = Math.floor(y / (G.side + G.gap));
    if (h >= 0 && l >= 0 && h < G.heads && l < G.layers) await ask({view: 'head', layer: l, head: h});
  } else if (event.target === $('.gs-ax-map')) {
    const at = cellAt(event); if (!at) return; query = at[0]; drawMap();
    if (sel.view !== 'head') { $('.gs-ax-steps').innerHTML = '<em>Pick one head (the overview, or "one head") to work a query through.</em>'; return; }
    const e = await server.explain([data.token, sel.layer, sel.head, query]); if (e) steps(e);
  }
});
element.addEventListener('change', async (event) => {
  if (!data) return;
  if (event.target.name === 'gs-view' || event.target.classList.contains('gs-discount')) {
    const v = element.querySelector('input[name=gs-view]:checked').value; await ask({...sel, view: v});
  } else if (event.target.classList.contains('gs-zoom')) { drawMap(); }
});
$('.gs-zoom').addEventListener('input', () => { if (data) drawMap(); });
watch('value', fresh);
fresh();
"""


def attention_view(view_fn: Callable, explain_fn: Callable) -> gr.HTML:
    """The explorer; ``view([...])`` and ``explain([...])`` (the functions' names matter) answer the page."""
    return gr.HTML(value={}, html_template=TEMPLATE, css_template=CSS, js_on_load=JS,
                   server_functions=[view_fn, explain_fn], elem_id="attention-explorer", padding=False)
