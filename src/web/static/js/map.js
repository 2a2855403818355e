// The map: MapLibre GL JS loaded after the page's first paint (the panel and the searches work
// before it arrives), the administrative boundaries, the zoning vector tiles, the marker and the
// hover read-out.
//
// Every layer that draws at start shares one fill and one line shader program (the paper colour
// of the city comes from the kelurahan polygons, and the fills draw no antialiased outline): on a
// phone, or in a software renderer, each program compiled costs a long task.

import { api, resolveTemplate } from './api.js';
import { t } from './i18n.js';
import { setStatus } from './panel.js';
import { el, state } from './state.js';

export const CITY_BOUNDS = [[116.729, -1.282], [117.023, -1.013]];
export const EMPTY = { type: 'FeatureCollection', features: [] };
/** The sub-zone colours of the zoning tiles. */
export const ZONE_COLOURS = ['to-color', ['get', 'color'], '#cccccc'];

let map = null;
let resolveReady;
/** Settles with the map once its style has loaded. */
export const mapReady = new Promise((resolve) => { resolveReady = resolve; });
let resolveZoning;
/** Settles when the zoning layer is on the map (true) or could not be (false). */
export const zoningReady = new Promise((resolve) => { resolveZoning = resolve; });

/** The map, or null before MapLibre has loaded. */
export function getMap() {
  return map;
}

const lineWidth = (lo, hi) => ['interpolate', ['linear'], ['zoom'], 10, lo, 16, hi];

function style() {
  return {
    version: 8,
    name: 'satupeta-light',
    sources: {
      admin: { type: 'geojson', data: EMPTY },
      changes: { type: 'geojson', data: EMPTY },
      draw: { type: 'geojson', data: EMPTY },
      'draw-guide': { type: 'geojson', data: EMPTY },
    },
    layers: [
      {
        // The city's paper colour, and the hover read-out of the kelurahan under the pointer.
        id: 'admin-kelurahan-fill', type: 'fill', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kelurahan'],
        paint: { 'fill-color': ['to-color', ['get', 'paper'], '#fbfaf5'], 'fill-antialias': false },
      },
      {
        id: 'admin-kelurahan-line', type: 'line', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kelurahan'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#9aa3ae', 'line-width': lineWidth(0.5, 1.3) },
      },
      {
        id: 'admin-kecamatan-line', type: 'line', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kecamatan'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#4b5563', 'line-width': lineWidth(1.6, 3.2) },
      },
      {
        id: 'admin-city-line', type: 'line', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kota'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#374151', 'line-width': lineWidth(1.4, 2.6) },
      },
      {
        id: 'changes-line', type: 'line', source: 'changes',
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#b91c1c', 'line-width': lineWidth(1.5, 3.5) },
      },
      {
        id: 'draw-fill', type: 'fill', source: 'draw',
        filter: ['==', ['geometry-type'], 'Polygon'],
        paint: { 'fill-color': '#1d4ed8', 'fill-opacity': 0.15, 'fill-antialias': false },
      },
      {
        id: 'draw-line', type: 'line', source: 'draw',
        filter: ['in', ['geometry-type'], ['literal', ['Polygon', 'LineString']]],
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#1d4ed8', 'line-width': 2.2 },
      },
      {
        id: 'draw-guide', type: 'line', source: 'draw-guide',
        paint: { 'line-color': '#1d4ed8', 'line-width': 1.5, 'line-dasharray': [2, 2] },
      },
      {
        id: 'draw-vertex', type: 'circle', source: 'draw',
        filter: ['==', ['geometry-type'], 'Point'],
        paint: {
          'circle-radius': ['case', ['==', ['get', 'first'], true], 6, 4.5],
          'circle-color': '#ffffff',
          'circle-stroke-color': '#1d4ed8',
          'circle-stroke-width': 2,
        },
      },
    ],
  };
}

/** Adds MapLibre's stylesheet and script to the page; settles with the `maplibregl` global. */
function loadMapLibre() {
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = '/static/vendor/maplibre-gl.css';
  document.head.append(css);
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/static/vendor/maplibre-gl.js';
    script.onload = () => (window.maplibregl ? resolve(window.maplibregl) : reject(new Error('no maplibregl')));
    script.onerror = () => reject(new Error('maplibre-gl.js did not load'));
    document.head.append(script);
  });
}

/** Starts the browser's GPU process from a worker; settles when it is up (or after a second). */
export function warmUpGraphics() {
  return new Promise((resolve) => {
    let worker;
    const done = () => {
      if (worker) worker.terminate();
      resolve();
    };
    try {
      worker = new Worker('/static/js/gl-warmup.js');
    } catch (e) {
      resolve();
      return;
    }
    worker.onmessage = done;
    worker.onerror = done;
    setTimeout(done, 1000);
  });
}

/** A macrotask boundary, so that loading, creating and styling the map are separate short tasks. */
const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Loads MapLibre and makes the map; `onMap(map)` wires the rest of the page to it. Returns the
 * map, or null when MapLibre could not be loaded (the panel says so).
 */
export async function startMap(view, onMap) {
  const graphics = warmUpGraphics();
  let maplibregl;
  try {
    [maplibregl] = await Promise.all([loadMapLibre(), graphics]);
  } catch (e) {
    setStatus(t('map.failed'));
    el.map.dataset.state = 'failed';
    return null;
  }
  await yieldToPage();
  map = new maplibregl.Map({
    container: el.map,
    style: style(),
    ...(view
      ? { center: [view.lon, view.lat], zoom: view.zoom }
      : { bounds: CITY_BOUNDS, fitBoundsOptions: { padding: 20 } }),
    maxZoom: 20,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
  });
  el.map.dataset.state = 'loaded';
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    // Keep map errors (a tile failing, say) out of the user's way but visible to developers.
    if (e && e.error) console.warn('map:', e.error.message || e.error);
  });
  map.on('load', () => resolveReady(map));
  onMap(map);
  loadAdmin();
  loadZoningTiles().then(resolveZoning, () => resolveZoning(false));
  watchHover();
  return map;
}

/** The zoning tiles' URL templates (today's), and the day they draw (null: today). */
let zoningTiles = [];
let zoningDay = null;

function tilesOn(day) {
  return day ? zoningTiles.map((u) => `${u}${u.includes('?') ? '&' : '?'}at=${day}`) : zoningTiles;
}

/** Draws the zoning as in force on `day` (YYYY-MM-DD; null: today). */
export function setZoningDay(day) {
  if (day === zoningDay) return;
  zoningDay = day;
  const source = map && map.getSource('zoning');
  if (source) source.setTiles(tilesOn(day));
}

/** Administrative boundaries. */
async function loadAdmin() {
  try {
    const data = await api('/data/balikpapan_admin.geojson');
    await mapReady;
    map.getSource('admin').setData(data);
  } catch (e) {
    setStatus(t('map.admin.failed', { detail: e.detail || e.message }));
  }
}

/** The zoning vector tiles, when the server publishes a TileJSON; silently skipped otherwise. */
async function loadZoningTiles() {
  let tilejson;
  try {
    const res = await fetch('/tiles/zoning.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) return false;
    tilejson = await res.json();
  } catch (e) {
    return false;
  }
  if (!tilejson || !Array.isArray(tilejson.tiles) || tilejson.tiles.length === 0) return false;
  await mapReady;
  zoningTiles = tilejson.tiles.map((u) => resolveTemplate(String(u), '/tiles/zoning.json'));
  const source = { type: 'vector', tiles: tilesOn(zoningDay) };
  for (const key of ['minzoom', 'maxzoom', 'bounds', 'scheme', 'attribution']) {
    if (tilejson[key] !== undefined && tilejson[key] !== null) source[key] = tilejson[key];
  }
  try {
    map.addSource('zoning', source);
    map.addLayer({
      id: 'zoning-fill', type: 'fill', source: 'zoning', 'source-layer': 'zoning',
      paint: { 'fill-color': ZONE_COLOURS, 'fill-opacity': 0.6, 'fill-antialias': false },
    }, 'admin-kelurahan-line');
    map.addLayer({
      id: 'zoning-line', type: 'line', source: 'zoning', 'source-layer': 'zoning',
      paint: {
        'line-color': '#374151',
        'line-opacity': ['interpolate', ['linear'], ['zoom'], 11, 0.15, 16, 0.5],
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.2, 16, 0.8],
      },
    }, 'admin-kelurahan-line');
    el.toggleZoning.disabled = false;
    followPublications();
    addReportPins();
    return true;
  } catch (e) {
    console.warn('zoning tiles:', e);
    return false;
  }
}

/** The public pins of reported violations (no personal data; counted in cells below zoom 14),
 *  above the zoning, from zoom 11. */
function addReportPins() {
  try {
    map.addSource('reports', {
      type: 'vector', tiles: [`${location.origin}/tiles/reports/{z}/{x}/{y}.mvt`], minzoom: 11, maxzoom: 20,
    });
    map.addLayer({
      id: 'reports-pins', type: 'circle', source: 'reports', 'source-layer': 'reports', minzoom: 11,
      paint: {
        'circle-radius': ['case', ['has', 'count'], ['interpolate', ['linear'], ['get', 'count'], 1, 6, 100, 14], 6],
        'circle-color': '#b91c1c', 'circle-opacity': 0.85, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
      },
    });
  } catch (e) {
    console.warn('report pins:', e);
  }
}

/** How often an open page asks whether a new plan version was published. */
const FOLLOW_MS = 60_000;

/** Asks the TileJSON again now and then: a publication changes the tiles' URLs (`?v=`), and the
 *  map moves on to them without a reload. */
function followPublications() {
  setInterval(async () => {
    if (document.hidden) return;
    try {
      const res = await fetch('/tiles/zoning.json', { headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      const tiles = ((await res.json()).tiles || []).map((u) => resolveTemplate(String(u), '/tiles/zoning.json'));
      if (tiles.length && tiles.join() !== zoningTiles.join()) {
        zoningTiles = tiles;
        map.getSource('zoning').setTiles(tilesOn(zoningDay));
      }
    } catch (e) {
      // Offline for a moment: the next round asks again.
    }
  }, FOLLOW_MS);
}

export function setVisible(layers, visible) {
  if (!map) return;
  for (const id of layers) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
  }
}

/** Hover read-out: the kelurahan and coordinates under the pointer. */
function watchHover() {
  let frame = 0;
  let last = null;
  map.on('mousemove', (e) => {
    last = e;
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (!last || !map.getLayer('admin-kelurahan-fill')) return;
      const hits = map.queryRenderedFeatures(last.point, { layers: ['admin-kelurahan-fill'] });
      const p = hits.length ? hits[0].properties : null;
      const where = p ? `Kel. ${p.nama}${p.kecamatan ? ` · Kec. ${p.kecamatan}` : ''} · ` : '';
      el.hoverInfo.textContent = `${where}${last.lngLat.lng.toFixed(5)}, ${last.lngLat.lat.toFixed(5)}`;
      el.hoverInfo.hidden = false;
    });
  });
  map.getCanvasContainer().addEventListener('mouseleave', () => {
    el.hoverInfo.hidden = true;
  });
}

let marker = null;

export function placeMarker(lon, lat) {
  if (!map) return;
  if (!marker) marker = new window.maplibregl.Marker({ color: '#c2410c' });
  marker.setLngLat([lon, lat]).addTo(map);
}

export function removeMarker() {
  if (marker) marker.remove();
}

/** Wires the legend's layer switches. */
export function initLayerSwitches() {
  el.toggleZoning.addEventListener('change', () => {
    setVisible(['zoning-fill', 'zoning-line'], el.toggleZoning.checked);
  });
  el.toggleAdmin.addEventListener('change', () => {
    setVisible(['admin-kelurahan-line', 'admin-kecamatan-line', 'admin-city-line'], el.toggleAdmin.checked);
  });
}

