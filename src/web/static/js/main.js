// satupeta map page: the entry module. The page's panel, searches and language work at once;
// MapLibre GL JS is loaded after the first paint and the map wired to the page when it arrives.

import { initActivitySearch, relabelActivity, selectKbli } from './activity.js';
import {
  addVertex, cancelDraw, endsDrag, initDraw, redrawUi, renderDraw, showParcelShape, undoVertex,
} from './draw.js';
import { applyStatic, lang, missingKeys, onLangChange, setLang, t } from './i18n.js';
import { closeLegend, initLegend, relabelLegend } from './legend.js';
import { lookupParcel, lookupPoint, showAnswer } from './lookup.js';
import { initLayerSwitches, mapReady, placeMarker, startMap } from './map.js';
import { initPanel, setStatus } from './panel.js';
import { initPlaces } from './places.js';
import { closePrintView } from './print.js';
import { initDaySelector, setDay, watchOutline } from './regulation.js';
import { el, state } from './state.js';
import { initUpload } from './upload.js';
import { readHash, setPendingView, writeHash } from './url-state.js';

/** Clicks and the keyboard on the map: a lookup, or a corner while drawing. */
function wireMap(map) {
  map.on('click', (e) => {
    if (endsDrag()) return;
    if (state.draw.active) addVertex(e.lngLat, e.point);
    else lookupPoint(e.lngLat.lng, e.lngLat.lat);
  });
  // With the map focused, Enter checks (or, while drawing, adds) the centre point.
  const canvas = map.getCanvas();
  canvas.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const c = map.getCenter();
    if (state.draw.active) addVertex(c, map.project(c));
    else lookupPoint(c.lng, c.lat);
  });
  canvas.addEventListener('focus', () => { el.crosshair.hidden = false; });
  canvas.addEventListener('blur', () => { el.crosshair.hidden = true; });
  canvas.addEventListener('mousedown', () => { el.crosshair.hidden = true; });
  initDraw(map);
  watchOutline(map);
  map.on('moveend', writeHash);
  map.on('load', () => {
    // A point or parcel asked before the map arrived.
    renderDraw();
    if (state.last && state.last.kind === 'point') placeMarker(state.last.lon, state.last.lat);
  });
  window.satupeta.map = map;
}

function initKeys() {
  document.addEventListener('keydown', (e) => {
    const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
    if (e.key === 'Escape') {
      if (!el.print.hidden) closePrintView();
      else if (!el.legend.hidden && el.legend.contains(document.activeElement)) closeLegend();
      else if (state.draw.active && !inField) cancelDraw();
    } else if (state.draw.active && !inField
      && (e.key === 'Backspace' || ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z'))) {
      e.preventDefault();
      undoVertex();
    }
  });
}

function initLanguage() {
  const label = () => {
    el.langToggle.textContent = lang() === 'id' ? 'EN' : 'ID';
    el.langToggle.lang = lang() === 'id' ? 'en' : 'id';
    el.map.dataset.loading = t('map.loading');
  };
  el.langToggle.addEventListener('click', () => setLang(lang() === 'id' ? 'en' : 'id'));
  onLangChange(() => {
    label();
    relabelActivity();
    relabelLegend();
    redrawUi();
    showAnswer();
  });
  applyStatic();
  label();
}

/** Restores what a shared link asks for: the day, the activity, the parcel or the point. */
async function restore(wanted) {
  if (wanted.at) setDay(wanted.at, { rerun: false });
  if (wanted.compare) state.compareTo = wanted.compare;
  if (wanted.kbli) {
    try {
      await selectKbli(wanted.kbli);
    } catch (e) {
      setStatus(e.detail || e.message);
    }
  }
  if (wanted.parcel) {
    showParcelShape(wanted.parcel);
    lookupParcel(wanted.parcel);
  } else if (wanted.point) {
    lookupPoint(wanted.point.lon, wanted.point.lat);
  }
}

/** Settles once the browser has painted the page's first content (or after a second at most). */
function afterFirstPaint() {
  return new Promise((resolve) => {
    const painted = () => performance.getEntriesByName('first-contentful-paint').length > 0;
    const later = () => setTimeout(resolve, 0);
    if (painted()) {
      later();
      return;
    }
    try {
      const observer = new PerformanceObserver(() => {
        if (!painted()) return;
        observer.disconnect();
        later();
      });
      observer.observe({ type: 'paint', buffered: true });
    } catch (e) {
      requestAnimationFrame(later);
    }
    setTimeout(resolve, 1000);
  });
}

function main() {
  window.satupeta = { map: null, state, mapReady, missingKeys };
  initLanguage();
  initPanel();
  initActivitySearch();
  initPlaces();
  initLegend();
  initLayerSwitches();
  initUpload();
  initDaySelector();
  initKeys();
  const wanted = readHash();
  setPendingView(wanted.view);
  restore(wanted);
  // MapLibre after the first paint: the page and its panel do not wait for it.
  afterFirstPaint().then(() => startMap(wanted.view, wireMap));
}

main();
