"""The Train tab's live view: a canvas the browser draws itself, many times a second.

Python never draws this picture. The component's value holds the run's token and what does not
change (the real data, the view's frame); the page then asks the server for the latest frame with
``server.frame([token, version])`` — a direct call, outside the event queue, answered from the run's
published snapshot without waiting for training — and draws it: D's decision map, the warped latent
sheet, generated points under the real ones, each mode's state, or, for images, the sample grid
enlarged pixel-sharp; below it, the training curves (drawn here too: a charting library re-rendering
every second kept the page's main thread too busy to animate). Hovering the 2D view shows D(x). ``data-frames`` on the
element counts the frames drawn (the browser tests measure the frame rate with it).
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

from ganstudio.ui.live_overlays import OVERLAY_JS

SIZE = 520  # canvas side in CSS pixels for 2D; image grids are enlarged by a whole factor >= 2
FRAME_MS = 70  # the page asks for a frame this often (~14 a second) while a run is live
CURVES_MS = 700  # and for the training curves this often (they are refreshed twice a second)

TEMPLATE = """
<div class="gs-live-wrap">
  <div class="gs-live-head"><span class="gs-live-title"></span><span class="gs-live-drawn"></span></div>
  <canvas class="gs-live" width="520" height="520" aria-label="live view of the training run"></canvas>
  <div class="gs-live-legend"></div>
  <div class="gs-live-tip">&nbsp;</div>
  <canvas class="gs-curves" width="520" height="390" aria-label="training curves"></canvas>
</div>
"""

CSS = """
.gs-live-wrap {max-width: 560px}
.gs-live-head {display: flex; justify-content: space-between; gap: 8px; font-size: 0.9em; margin-bottom: 4px}
.gs-live-title {font-weight: 600}
.gs-live-drawn {color: var(--body-text-color-subdued)}
.gs-live {width: 100%; max-width: 520px; height: auto; border: 1px solid #bbb; border-radius: 4px;
          image-rendering: pixelated; cursor: crosshair; background: #fafafa; display: block}
.gs-live-legend {font-size: 0.85em; margin-top: 6px; line-height: 1.6}
.gs-live-legend .sw {display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin: 0 4px 0 10px;
                     vertical-align: middle}
.gs-live-legend .bar {display: inline-block; width: 140px; height: 10px; vertical-align: middle; margin: 0 6px;
                      background: linear-gradient(90deg, rgb(222,203,238), rgb(246,246,246), rgb(200,232,202));
                      border: 1px solid #ccc}
.gs-live-tip {font-family: ui-monospace, monospace; font-size: 0.85em; min-height: 1.4em; margin-top: 2px}
.gs-curves {width: 100%; max-width: 520px; height: auto; margin-top: 8px; display: block}
"""

JS = ("""
// Elements are looked up at every draw: Gradio may re-render the template around them.
let canvas, ctx, title, drawn, legend, tip, wrap;
function find() {
  canvas = element.querySelector('canvas.gs-live'); ctx = canvas.getContext('2d'); wrap = element.querySelector('.gs-live-wrap');
  title = element.querySelector('.gs-live-title'); drawn = element.querySelector('.gs-live-drawn');
  legend = element.querySelector('.gs-live-legend'); tip = element.querySelector('.gs-live-tip');
  if (!canvas.dataset.hooked) { canvas.dataset.hooked = '1';
    canvas.addEventListener('mousemove', hover); canvas.addEventListener('mouseleave', () => { tip.innerHTML = '&nbsp;'; }); }
}
const SIZE = 520, Q = 32767 / 1.5;
const REAL = 'rgb(30,140,55)', FAKE = 'rgb(150,70,200)';
let key = null, base = null, frame = null, version = -1, heat = null, heatN = 0, busy = false, frames = 0;
const heatCanvas = document.createElement('canvas');
const image = new Image();

function bytes(b64) { const s = atob(b64 || ''); const a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; }
function i16(b64) { return new Int16Array(bytes(b64).buffer); }
function px(q) { return (q / Q + 1) / 2 * SIZE; }
function py(q) { return (1 - q / Q) / 2 * SIZE; }
function colour(p) {  // D's verdict: purple (fake) - grey - green (real)
  const mid = [246, 246, 246], real = [200, 232, 202], fake = [222, 203, 238];
  const t = Math.max(-1, Math.min(1, 2 * p - 1)), end = t >= 0 ? real : fake, a = Math.abs(t);
  return mid.map((m, i) => Math.round(m + (end[i] - m) * a));
}
function points(data, colourCss, r) {  // one path for all points: a single fill is far cheaper than one per point
  if (!data) return; const v = i16(data); ctx.fillStyle = colourCss; ctx.beginPath();
  for (let i = 0; i + 1 < v.length; i += 2) { const x = px(v[i]), y = py(v[i + 1]); ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 6.2832); }
  ctx.fill();
}
function drawHeat(view) {
  heatN = view.heat_n; heat = bytes(view.heat);
  heatCanvas.width = heatN; heatCanvas.height = heatN;
  const hctx = heatCanvas.getContext('2d'), img = hctx.createImageData(heatN, heatN);
  for (let i = 0; i < heatN * heatN; i++) { const c = colour(heat[i] / 255);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255; }
  hctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  const cell = SIZE / (heatN - 1);  // grid values sit on cell corners from edge to edge
  ctx.drawImage(heatCanvas, -cell / 2, -cell / 2, SIZE + cell, SIZE + cell);
}
function drawLines(view) {
  if (!view.lines) return; const v = i16(view.lines); const [L, P] = view.line_shape;
  ctx.strokeStyle = 'rgba(70,70,70,0.35)'; ctx.lineWidth = 1;
  for (let l = 0; l < L; l++) { ctx.beginPath();
    for (let p = 0; p < P; p++) { const k = 2 * (l * P + p); p ? ctx.lineTo(px(v[k]), py(v[k + 1])) : ctx.moveTo(px(v[k]), py(v[k + 1])); }
    ctx.stroke(); }
}
function drawModes(modes, ext) {
  if (!modes) return;
  for (const [x, y, got] of modes) {
    const cx = (x - ext[0]) / (ext[1] - ext[0]) * SIZE, cy = (ext[3] - y) / (ext[3] - ext[2]) * SIZE;
    ctx.beginPath(); ctx.arc(cx, cy, 9, 0, 6.2832); ctx.lineWidth = 2;
    ctx.setLineDash(got === false ? [4, 3] : []);
    ctx.strokeStyle = got === true ? 'rgb(20,120,40)' : got === false ? 'rgb(205,40,40)' : 'rgba(0,0,0,0.35)';
    ctx.stroke(); ctx.setLineDash([]);
  }
}
function legend2d(view) {
  const modes = (view && view.modes) || (base && base.modes);
  let got = '';
  if (modes && modes.some(m => m[2] !== null)) {
    const n = modes.filter(m => m[2]).length;
    got = ` · <b title="of 2,500 generated samples, at least one lies within 3 standard deviations of the mode">` +
      `${n}/${modes.length} modes captured</b> (green circle: some generated samples within 3 std of it; red dashed: none)`;
  }
  const vae = view && view.family === 'vae';  // a VAE: a decoder, no D
  legend.innerHTML = `<span class="sw" style="background:${REAL}"></span>real data` +
    `<span class="sw" style="background:${FAKE}"></span>` + (vae ? "decoder's samples, z ~ N(0, I)" : 'generated') +
    `<span class="sw" style="background:rgba(70,70,70,0.5);border-radius:0;height:2px"></span>` +
    (vae ? "the decoder's warped latent grid" : "G's warped latent grid") +
    (vae ? '<br>a VAE has no discriminator: no D(x) map' : `<br>D(x): fake 0<span class="bar"></span>1 real`) + got + overlayLegend(view);
}
function blank() {  // the view at its 2D size, empty
  canvas.width = SIZE; canvas.height = SIZE; canvas.style.maxWidth = wrap.style.maxWidth = '';
  ctx.fillStyle = 'rgb(250,250,250)'; ctx.fillRect(0, 0, SIZE, SIZE);
}
function draw2d() {
  blank();
  if (frame && frame.heat) drawHeat(frame); else heat = null;
  if (frame) { drawLines(frame); points(frame.fake, 'rgba(150,70,200,0.55)', 2.2); }
  points(base.real, 'rgba(30,140,55,0.85)', 2.2);  // real data on top: it never hides under the fakes
  drawModes((frame && frame.modes) || base.modes, base.extent);
  const drawnOver = frame ? drawOverlays(frame) : {ghosts: 0, arrows: 0, boundary: 0};
  canvas.dataset.ghosts = String(drawnOver.ghosts); canvas.dataset.arrows = String(drawnOver.arrows);
  canvas.dataset.boundary = String(drawnOver.boundary);
  legend2d(frame);
}
function drawImage() {
  const src = (frame && frame.png) || (base && base.png);
  if (!src) { blank(); legend.innerHTML = ''; heat = null; return; }  // nothing yet (an upload before Start)
  image.onload = () => {
    const f = Math.max(2, Math.floor(SIZE / image.width));
    canvas.width = image.width * f; canvas.height = image.height * f; canvas.dataset.zoom = String(f);
    // shown at its own size (each pixel f x f), even where that is wider than the 2D view; narrower screens shrink it
    canvas.style.maxWidth = canvas.width + 'px'; wrap.style.maxWidth = Math.max(560, canvas.width + 2) + 'px';
    ctx.imageSmoothingEnabled = false; ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  };
  image.src = src;
  legend.innerHTML = frame ? (frame.legend || `Samples from fixed latents: the same z every frame, so you watch G change.`) : '';
}
function draw() {
  find();
  if (!base) return;
  if (base.kind === '2d') draw2d(); else drawImage();
  title.textContent = frame ? `${base.title} · step ${frame.step}` : base.title;
  drawn.textContent = frame && frame.drawn ? `drawn: ${frame.drawn}` : '';
  frames += 1; canvas.dataset.frames = String(frames); canvas.dataset.version = String(version);
}
function fresh() {
  const v = props.value || {};
  const k = JSON.stringify([v.token, v.title, v.kind, v.real ? v.real.length : 0, v.png ? v.png.length : 0]);
  if (k === key) return; key = k; base = v; frame = null; version = -1; curvesVersion = -1; draw();
  if (!v.token) drawCurves({});
}
// ---- training curves: three small labelled charts, redrawn when the run's history changes ----
let curvesVersion = -1, curvesBusy = false;
const GAN_CHARTS = [
  {title: 'Losses', y: 'loss', series: [['loss_d', 'D loss', 'rgb(31,119,180)'], ['loss_g', 'G loss', 'rgb(255,127,14)']]},
  {title: "D's output", y: 'D', series: [['d_real', 'D(x), real', 'rgb(30,140,55)'], ['d_fake', 'D(G(z)), fake', 'rgb(150,70,200)']]},
  {title: 'Gradient norms', y: '‖∇‖', series: [['grad_d', '‖∇D‖', 'rgb(31,119,180)'], ['grad_g', '‖∇G‖', 'rgb(255,127,14)']]},
];
const VAE_CHARTS = [  // a VAE's run names its own curves (ganstudio/vae/trainer.py SERIES)
  {title: "The ELBO's terms (nats per sample)", y: 'nats', series: [['recon', 'reconstruction E[log p(x|z)]', 'rgb(31,119,180)'], ['kl', 'KL(q(z|x) ‖ p(z))', 'rgb(255,127,14)']]},
  {title: 'ELBO = reconstruction − KL', y: 'nats', series: [['elbo', 'ELBO', 'rgb(30,140,55)']]},
  {title: 'Gradient norms', y: '‖∇‖', series: [['grad_enc', '‖∇ encoder‖', 'rgb(31,119,180)'], ['grad_dec', '‖∇ decoder‖', 'rgb(255,127,14)']]},
];
function fmt(v) { const a = Math.abs(v); return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3); }
function drawCurves(history) {
  const c = element.querySelector('canvas.gs-curves'); if (!c) return;
  const CHARTS = 'recon' in history ? VAE_CHARTS : GAN_CHARTS;
  const g = c.getContext('2d'), W = c.width, H = c.height / CHARTS.length, L = 46, R = 8, T = 18, B = 22;
  g.clearRect(0, 0, c.width, c.height); g.font = '11px sans-serif';
  const steps = history.step || [];
  CHARTS.forEach((chart, k) => {
    const top = k * H, vals = chart.series.flatMap(([key]) => (history[key] || []).filter(v => v !== null && isFinite(v)));
    g.fillStyle = '#222'; g.fillText(chart.title, L, top + 12);
    let lx = L + g.measureText(chart.title).width + 14;
    for (const [, label, col] of chart.series) {
      g.fillStyle = col; g.fillRect(lx, top + 5, 14, 3); g.fillStyle = '#444'; g.fillText(label, lx + 18, top + 12);
      lx += 28 + g.measureText(label).width;
    }
    g.strokeStyle = '#bbb'; g.strokeRect(L, top + T, W - L - R, H - T - B);
    if (!steps.length || !vals.length) return;
    let lo = Math.min(...vals), hi = Math.max(...vals); if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const x0 = steps[0], x1 = Math.max(steps[steps.length - 1], x0 + 1);
    const X = s => L + (s - x0) / (x1 - x0) * (W - L - R), Y = v => top + T + (hi - v) / (hi - lo) * (H - T - B);
    g.fillStyle = '#666'; g.textAlign = 'right'; g.fillText(fmt(hi), L - 4, top + T + 9); g.fillText(fmt(lo), L - 4, top + H - B);
    g.textAlign = 'left'; g.fillText(String(x0), L, top + H - 8); g.textAlign = 'right';
    g.fillText(`iteration ${x1}`, W - R, top + H - 8); g.textAlign = 'left';
    for (const [key, , col] of chart.series) {
      const ys = history[key] || []; g.strokeStyle = col; g.lineWidth = 1.3; g.beginPath(); let on = false;
      for (let i = 0; i < steps.length; i++) { const v = ys[i]; if (v === null || !isFinite(v)) { on = false; continue; }
        on ? g.lineTo(X(steps[i]), Y(v)) : g.moveTo(X(steps[i]), Y(v)); on = true; }
      g.stroke();
    }
  });
}
async function curvesTick() {
  if (base && base.token && !document.hidden && !curvesBusy) {
    curvesBusy = true;
    try {
      const got = await server.curves([base.token, curvesVersion]);
      if (got && got.history && base && got.token === base.token) { curvesVersion = got.version; drawCurves(got.history); }
    } catch (e) { /* the next refresh comes in a moment */ }
    curvesBusy = false;
  }
  setTimeout(curvesTick, %(curves_ms)d);
}

async function tick() {
  fresh();
  if (base && base.token && !document.hidden && !busy) {
    busy = true;
    try {
      const got = await server.frame([base.token, version]);
      if (got && got.view && base && got.token === base.token) { frame = got.view; version = got.version; draw(); }
    } catch (e) { /* a missed frame: the next one comes in a moment */ }
    busy = false;
  }
  setTimeout(tick, %(frame_ms)d);
}
function hover(event) {
  if (!base || base.kind !== '2d') { tip.innerHTML = '&nbsp;'; return; }
  const box = canvas.getBoundingClientRect();
  const u = (event.clientX - box.left) / box.width, w = (event.clientY - box.top) / box.height;
  const ext = base.extent, x = ext[0] + u * (ext[1] - ext[0]), y = ext[3] - w * (ext[3] - ext[2]);
  let text = `x = ${x.toFixed(2)}, y = ${y.toFixed(2)}`;
  if (heat) {  // bilinear between the grid's corner values
    const gx = u * (heatN - 1), gy = w * (heatN - 1), x0 = Math.floor(gx), y0 = Math.floor(gy);
    const x1 = Math.min(x0 + 1, heatN - 1), y1 = Math.min(y0 + 1, heatN - 1), fx = gx - x0, fy = gy - y0;
    const at = (c, r) => heat[r * heatN + c] / 255;
    const d = (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
    text += ` · D(x) = ${d.toFixed(2)} (${d >= 0.5 ? 'looks real' : 'looks fake'} to D)`;
  }
  tip.textContent = text;
}
""" + OVERLAY_JS + """
find();
tick();
curvesTick();
""").replace("%(frame_ms)d", str(FRAME_MS)).replace("%(curves_ms)d", str(CURVES_MS))


def live_view(frame_fn: Callable, curves_fn: Callable, value: dict | None = None) -> gr.HTML:
    """The live view component; ``frame([token, version])`` and ``curves([token, version])`` (the functions'
    names matter: the page calls them by name) answer the page's requests."""
    return gr.HTML(value=value or {}, html_template=TEMPLATE, css_template=CSS, js_on_load=JS,
                   server_functions=[frame_fn, curves_fn], elem_id="train-live", padding=False)
