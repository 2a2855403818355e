// The view, the selected point or parcel, the chosen activity and the day live in the URL's hash
// (`#map=zoom/lat/lon&p=lon,lat&parcel=lon,lat;…&kbli=CODE&at=YYYY-MM-DD&compare=VERSION`), so a
// shared link opens the same view and answer.

import { getMap } from './map.js';
import { state } from './state.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** What the hash asks for; anything malformed is left out. */
export function readHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const numbers = (key, sep) => (params.get(key) || '').split(sep).filter((v) => v !== '').map(Number);
  const view = numbers('map', '/');
  const point = numbers('p', ',');
  const kbli = params.get('kbli') || '';
  const at = params.get('at') || '';
  const compare = params.get('compare') || '';
  const ring = (params.get('parcel') || '').split(';').filter((v) => v !== '')
    .map((pair) => pair.split(',').map(Number));
  const closedRing = ring.length >= 4 && ring.length <= 500
    && ring.every((c) => c.length === 2 && c.every(Number.isFinite))
    && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1];
  return {
    parcel: closedRing ? ring : null,
    at: DAY.test(at) ? at : null,
    compare: /^\d{1,12}$/.test(compare) ? Number(compare) : null,
    view: view.length === 3 && view.every(Number.isFinite) ? { zoom: view[0], lat: view[1], lon: view[2] } : null,
    point: point.length === 2 && point.every(Number.isFinite) ? { lon: point[0], lat: point[1] } : null,
    kbli: /^[0-9A-Z]{1,5}$/.test(kbli) ? kbli : null,
  };
}

/** The view kept until the map exists (a shared link's, or none). */
let pendingView = null;

export function setPendingView(view) {
  pendingView = view;
}

/** Writes the page's state into the hash (replacing the history entry: no back-button spam). */
export function writeHash() {
  const map = getMap();
  const parts = [];
  if (map) {
    const c = map.getCenter();
    parts.push(`map=${map.getZoom().toFixed(2)}/${c.lat.toFixed(6)}/${c.lng.toFixed(6)}`);
  } else if (pendingView) {
    parts.push(`map=${pendingView.zoom}/${pendingView.lat}/${pendingView.lon}`);
  }
  if (state.last && state.last.kind === 'point') parts.push(`p=${state.last.lon.toFixed(6)},${state.last.lat.toFixed(6)}`);
  if (state.last && state.last.kind === 'parcel') {
    parts.push(`parcel=${state.last.ring.map((c) => `${c[0].toFixed(7)},${c[1].toFixed(7)}`).join(';')}`);
  }
  if (state.selected && state.selected.kbli) parts.push(`kbli=${encodeURIComponent(state.selected.kbli)}`);
  if (state.at) parts.push(`at=${state.at}`);
  if (state.compareTo) parts.push(`compare=${state.compareTo}`);
  const hash = parts.length ? `#${parts.join('&')}` : '';
  if (hash !== location.hash) history.replaceState(null, '', hash || location.pathname);
}
