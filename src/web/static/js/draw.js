// Drawing a parcel on the map: click its corners, double-click (or click the first corner, or
// press Done) to measure it; Backspace or Ctrl+Z takes back a corner, Esc cancels. A measured
// parcel's corners can be dragged (mouse or touch): it is measured again where they are dropped.

import { t } from './i18n.js';
import { EMPTY, getMap } from './map.js';
import { setStatus } from './panel.js';
import { el, state } from './state.js';
import { closeLegend } from './legend.js';
import { lookupParcel } from './lookup.js';

const round6 = (v) => Math.round(v * 1e6) / 1e6;

function feature(geometry, properties = {}) {
  return { type: 'Feature', properties, geometry };
}

/** Draws the parcel being drawn (corners and edges), or the measured one. */
export function renderDraw() {
  const map = getMap();
  if (!map || !map.getSource('draw')) return;
  const d = state.draw;
  const features = [];
  if (d.active) {
    const c = d.coords;
    if (c.length >= 3) features.push(feature({ type: 'Polygon', coordinates: [[...c, c[0]]] }));
    else if (c.length === 2) features.push(feature({ type: 'LineString', coordinates: c }));
    c.forEach((p, i) => features.push(feature({ type: 'Point', coordinates: p }, { first: i === 0 })));
  } else if (state.parcelRing) {
    features.push(feature({ type: 'Polygon', coordinates: [state.parcelRing] }));
    state.parcelRing.slice(0, -1).forEach((p, i) => features.push(feature({ type: 'Point', coordinates: p }, { index: i })));
  }
  map.getSource('draw').setData({ type: 'FeatureCollection', features });
  renderGuide();
}

function renderGuide() {
  const map = getMap();
  const src = map && map.getSource('draw-guide');
  if (!src) return;
  const d = state.draw;
  const c = d.coords;
  if (!d.active || !c.length || !d.cursor) {
    src.setData(EMPTY);
    return;
  }
  const line = [c[c.length - 1], d.cursor];
  if (c.length >= 2) line.push(c[0]);
  src.setData({ type: 'FeatureCollection', features: [feature({ type: 'LineString', coordinates: line })] });
}

/** Shows a measured parcel's outline. */
export function showParcelShape(ring) {
  state.parcelRing = ring;
  renderDraw();
}

export function clearParcelShape() {
  if (state.parcelRing) {
    state.parcelRing = null;
    renderDraw();
  }
}

function updateDrawUi(message) {
  const n = state.draw.coords.length;
  el.drawFinish.disabled = n < 3;
  el.drawUndo.disabled = n === 0;
  el.drawHint.textContent = message || (n === 0
    ? t('draw.start')
    : n < 3 ? t('draw.more', { n, left: 3 - n }) : t('draw.ready', { n }));
}

function startDraw() {
  const map = getMap();
  if (state.draw.active || !map) return;
  closeLegend(false);
  state.draw = { active: true, coords: [], cursor: null };
  state.parcelRing = null;
  map.doubleClickZoom.disable();
  el.map.classList.add('drawing');
  el.drawBar.hidden = false;
  el.drawToggle.setAttribute('aria-pressed', 'true');
  updateDrawUi();
  renderDraw();
  setStatus(t('draw.active'));
}

export function stopDraw() {
  state.draw.active = false;
  state.draw.cursor = null;
  el.map.classList.remove('drawing');
  el.drawBar.hidden = true;
  el.drawToggle.setAttribute('aria-pressed', 'false');
  // Re-enable after the current double-click has been handled, so it does not zoom.
  const map = getMap();
  if (map) setTimeout(() => map.doubleClickZoom.enable(), 0);
}

export function cancelDraw() {
  if (!state.draw.active) return;
  state.draw.coords = [];
  stopDraw();
  renderDraw();
  setStatus(t('draw.cancelled'));
  el.drawToggle.focus();
}

export function addVertex(lngLat, point) {
  const map = getMap();
  const c = state.draw.coords;
  if (c.length) {
    const last = map.project(c[c.length - 1]);
    // The second click of a double-click lands on the vertex just added: ignore it.
    if (Math.hypot(last.x - point.x, last.y - point.y) < 6) return;
    if (c.length >= 3) {
      const first = map.project(c[0]);
      if (Math.hypot(first.x - point.x, first.y - point.y) < 10) {
        finishDraw();
        return;
      }
    }
  }
  c.push([round6(lngLat.lng), round6(lngLat.lat)]);
  updateDrawUi();
  renderDraw();
}

export function undoVertex() {
  if (!state.draw.active || !state.draw.coords.length) return;
  state.draw.coords.pop();
  updateDrawUi();
  renderDraw();
}

/** Twice the signed area of a ring (positive when counter-clockwise). */
function signedArea(ring) {
  let s = 0;
  for (let i = 0; i < ring.length; i += 1) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[(i + 1) % ring.length];
    s += x1 * y2 - x2 * y1;
  }
  return s;
}

export function finishDraw() {
  if (!state.draw.active) return;
  // Drop consecutive duplicates.
  const c = state.draw.coords.filter((p, i, a) => i === 0 || p[0] !== a[i - 1][0] || p[1] !== a[i - 1][1]);
  if (c.length < 3) {
    updateDrawUi(t('draw.min'));
    return;
  }
  const open = signedArea(c) < 0 ? [...c].reverse() : c; // RFC 7946: exterior ring counter-clockwise
  const ring = [...open, open[0]];
  state.draw.coords = [];
  stopDraw();
  showParcelShape(ring);
  lookupParcel(ring);
}

/** A corner being dragged ({index}), and whether a drag just ended (its click is not a lookup). */
let drag = null;
let dragEnded = false;

/** Whether the click being handled ends a drag of a corner (and so asks nothing). */
export function endsDrag() {
  const ended = dragEnded;
  dragEnded = false;
  return ended;
}

function moveCorner(lngLat) {
  const ring = state.parcelRing;
  const p = [round6(lngLat.lng), round6(lngLat.lat)];
  ring[drag.index] = p;
  if (drag.index === 0) ring[ring.length - 1] = p;
  drag.moved = true;
  renderDraw();
}

function dropCorner() {
  const moved = drag && drag.moved;
  drag = null;
  getMap().dragPan.enable();
  if (!moved) return;
  dragEnded = true;
  setTimeout(() => { dragEnded = false; }, 300);
  const open = state.parcelRing.slice(0, -1);
  const ccw = signedArea(open) < 0 ? [...open].reverse() : open;
  const ring = [...ccw, ccw[0]];
  showParcelShape(ring);
  lookupParcel(ring);
}

/** Dragging the corners of a measured parcel. */
function initCornerDrag(map) {
  const grab = (e) => {
    if (state.draw.active || !state.parcelRing || !e.features || !e.features.length) return;
    const index = e.features[0].properties.index;
    if (index === undefined || index === null) return;
    e.preventDefault();
    map.dragPan.disable();
    drag = { index: Number(index), moved: false };
  };
  map.on('mousedown', 'draw-vertex', grab);
  map.on('touchstart', 'draw-vertex', (e) => {
    if (e.points && e.points.length === 1) grab(e);
  });
  map.on('mousemove', (e) => { if (drag) moveCorner(e.lngLat); });
  map.on('touchmove', (e) => { if (drag) moveCorner(e.lngLat); });
  map.on('mouseup', () => { if (drag) dropCorner(); });
  map.on('touchend', () => { if (drag) dropCorner(); });
  map.on('mouseenter', 'draw-vertex', () => {
    if (!state.draw.active && state.parcelRing) map.getCanvas().style.cursor = 'move';
  });
  map.on('mouseleave', 'draw-vertex', () => { map.getCanvas().style.cursor = ''; });
}

/** The draw buttons, and the guide line that follows the pointer. */
export function initDraw(map) {
  initCornerDrag(map);
  map.on('mousemove', (e) => {
    if (!state.draw.active || !state.draw.coords.length) return;
    state.draw.cursor = [e.lngLat.lng, e.lngLat.lat];
    renderGuide();
  });
  map.on('dblclick', (e) => {
    if (!state.draw.active) return;
    e.preventDefault();
    finishDraw();
  });
  el.drawToggle.addEventListener('click', () => {
    if (state.draw.active) cancelDraw();
    else startDraw();
  });
  el.drawFinish.addEventListener('click', finishDraw);
  el.drawUndo.addEventListener('click', undoVertex);
  el.drawCancel.addEventListener('click', cancelDraw);
}

/** Keeps the hint in the current language. */
export function redrawUi() {
  if (state.draw.active) updateDrawUi();
}
