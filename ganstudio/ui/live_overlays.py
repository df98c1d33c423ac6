"""What the 2D live view draws over the players to show which way things move (JavaScript, joined into
``live_view.JS``, whose helpers it uses: ``ctx``, ``px``/``py``, ``i16``, ``bytes``, ``SIZE``).

* G's push on each generated point (an arrow, −∂L_G/∂x scaled for display; ``gan/gradient_field.py``): after a
  manual step, and during training when the visitor asks for it;
* after a manual step, the state before it: the generated points as hollow ghosts (a thin line joins each to
  where it went), and D's boundary D(x) = 0.5 before the step (dashed) beside the one now (solid).

Each returns how much it drew; ``draw2d`` keeps the counts on the canvas (``data-ghosts``, ``data-arrows``,
``data-boundary``), which the browser tests read.
"""

OVERLAY_JS = r"""
const ARROW = 'rgb(215,110,0)', GHOST = 'rgba(120,40,160,0.5)';
function drawGhosts(view) {  // the points before the step, hollow, each joined to where it went
  if (!view.ghost) return 0;
  const g = i16(view.ghost), f = view.fake ? i16(view.fake) : null;
  ctx.strokeStyle = GHOST; ctx.lineWidth = 1; ctx.beginPath();
  for (let i = 0; i + 1 < g.length; i += 2) { const x = px(g[i]), y = py(g[i + 1]);
    ctx.moveTo(x + 2.5, y); ctx.arc(x, y, 2.5, 0, 6.2832);
    if (f && i + 1 < f.length) { ctx.moveTo(x, y); ctx.lineTo(px(f[i]), py(f[i + 1])); } }
  ctx.stroke(); return g.length / 2;
}
function drawArrows(view) {  // G's push on each point: from the point, along -dL_G/dx, one scale for all
  if (!view.arrows || !view.fake) return 0;
  const a = i16(view.arrows), f = i16(view.fake);
  ctx.strokeStyle = ARROW; ctx.lineWidth = 1.4; ctx.beginPath(); let n = 0;
  for (let i = 0; i + 1 < a.length && i + 1 < f.length; i += 2) {
    const x0 = px(f[i]), y0 = py(f[i + 1]), x1 = px(a[i]), y1 = py(a[i + 1]);
    const dx = x1 - x0, dy = y1 - y0, len = Math.hypot(dx, dy); n += 1;
    if (len < 0.5) continue;  // no push worth a pixel: nothing to draw
    const h = Math.min(5, 0.45 * len), ux = dx / len, uy = dy / len;
    ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
    ctx.moveTo(x1, y1); ctx.lineTo(x1 - h * (ux - 0.5 * uy), y1 - h * (uy + 0.5 * ux));
    ctx.moveTo(x1, y1); ctx.lineTo(x1 - h * (ux + 0.5 * uy), y1 - h * (uy - 0.5 * ux));
  }
  ctx.stroke(); return n;
}
function drawBoundary(b64, n, dash, colourCss) {  // the D(x) = 0.5 line of a grid (marching squares)
  const h = bytes(b64), s = SIZE / (n - 1), level = 127.5;
  ctx.strokeStyle = colourCss; ctx.lineWidth = 1.6; ctx.setLineDash(dash); ctx.beginPath();
  for (let r = 0; r + 1 < n; r++) for (let c = 0; c + 1 < n; c++) {
    const v = [h[r * n + c], h[r * n + c + 1], h[(r + 1) * n + c + 1], h[(r + 1) * n + c]];
    const corner = [[c, r], [c + 1, r], [c + 1, r + 1], [c, r + 1]], cut = [];
    for (let k = 0; k < 4; k++) { const a = v[k], b = v[(k + 1) % 4];
      if ((a > level) !== (b > level)) { const t = (level - a) / (b - a), p = corner[k], q = corner[(k + 1) % 4];
        cut.push([(p[0] + t * (q[0] - p[0])) * s, (p[1] + t * (q[1] - p[1])) * s]); } }
    for (let k = 0; k + 1 < cut.length; k += 2) { ctx.moveTo(cut[k][0], cut[k][1]); ctx.lineTo(cut[k + 1][0], cut[k + 1][1]); }
  }
  ctx.stroke(); ctx.setLineDash([]); return 1;
}
function drawOverlays(view) {  // -> counts kept on the canvas
  let boundary = 0;
  if (view.heat_before) {
    boundary = drawBoundary(view.heat_before, view.heat_n, [5, 4], 'rgba(40,40,40,0.8)');
    drawBoundary(view.heat, view.heat_n, [], 'rgba(40,40,40,0.8)');
  }
  return {ghosts: drawGhosts(view), arrows: drawArrows(view), boundary};
}
function overlayLegend(view) {
  if (!view) return '';
  let html = '';
  if (view.arrows) html += `<br><span style="color:${ARROW};font-weight:700">→</span> G's push on each point: ` +
    `−∂L<sub>G</sub>/∂x, where G's loss moves it (scaled; longest ‖∇‖ = ${Number(view.arrow_longest).toPrecision(2)})`;
  if (view.ghost) html += `<br><span class="sw" style="background:none;border:1.5px solid ${GHOST}"></span>` +
    `generated points before the step, each joined to where it went`;
  if (view.heat_before) html += `<br><b>D(x) = 0.5</b>: solid now, dashed before the step`;
  if (view.change) html += `<br><b>${view.change}</b>`;
  return html;
}
"""
