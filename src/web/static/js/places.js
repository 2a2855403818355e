// Finding a place: a kelurahan or kecamatan by name, coordinates typed in any common notation
// (the server parses them), or the browser's own position ("my location").

import { api, isAbort, query } from './api.js';
import { esc } from './format.js';
import { t } from './i18n.js';
import { getMap, mapReady } from './map.js';
import { setStatus } from './panel.js';
import { el } from './state.js';
import { lookupPoint } from './lookup.js';

let ctl = null;

function placeNote(text) {
  el.placeList.innerHTML = `<li class="combo-note">${esc(text)}</li>`;
  el.placeList.hidden = false;
}

function closePlaces() {
  el.placeList.hidden = true;
  el.placeList.innerHTML = '';
}

function levelName(level) {
  const key = `level.${level}`;
  const text = t(key);
  return text === key ? level : text;
}

/** Shows a point typed as coordinates and asks what applies there. */
async function goToPoint(c) {
  closePlaces();
  if (!c.in_city) setStatus(t('place.outside', { lon: c.lon.toFixed(6), lat: c.lat.toFixed(6) }));
  lookupPoint(c.lon, c.lat);
  const map = getMap() || (await mapReady);
  map.flyTo({ center: [c.lon, c.lat], zoom: Math.max(map.getZoom(), 16) });
}

async function goToPlace(p) {
  closePlaces();
  setStatus(`${p.name} (${levelName(p.level)}${p.kecamatan ? `, ${p.kecamatan}` : ''}).`);
  const map = getMap() || (await mapReady);
  const [w, s, e, n] = p.bbox;
  map.fitBounds([[w, s], [e, n]], { padding: 24, maxZoom: 16 });
}

function renderPlaces(data) {
  const places = Array.isArray(data.places) ? data.places : [];
  if (!places.length) {
    placeNote(t('place.none'));
    return;
  }
  el.placeList.innerHTML = places.map((p, i) => `<li class="place-list-item"><button type="button" data-i="${i}">${esc(p.name)}
    <span class="muted small">${esc(levelName(p.level))}${p.kecamatan ? ` · ${esc(p.kecamatan)}` : ''}</span></button></li>`).join('');
  el.placeList.hidden = false;
  el.placeList.querySelectorAll('button').forEach((b) => {
    b.addEventListener('click', () => goToPlace(places[Number(b.dataset.i)]));
  });
  if (places.length === 1) goToPlace(places[0]);
}

async function findPlace(q) {
  if (ctl) ctl.abort();
  ctl = new AbortController();
  try {
    const data = await api(`/api/v1/places${query({ q })}`, { signal: ctl.signal });
    if (data.coordinates) goToPoint(data.coordinates);
    else renderPlaces(data);
  } catch (e) {
    if (isAbort(e)) return;
    placeNote(e.detail || e.message);
  }
}

/** "My location": the browser's position (it asks the person first), answered like a click. */
function locate() {
  if (!navigator.geolocation) {
    placeNote(t('place.nogeo'));
    return;
  }
  setStatus(t('place.finding'));
  navigator.geolocation.getCurrentPosition(
    (pos) => goToPoint({ lon: pos.coords.longitude, lat: pos.coords.latitude, in_city: true }),
    (err) => placeNote(t(err.code === 1 ? 'place.denied' : 'place.unavailable')),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

export function initPlaces() {
  el.placeForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = el.placeInput.value.trim();
    if (q) findPlace(q);
    else closePlaces();
  });
  el.locate.addEventListener('click', locate);
  el.placeInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closePlaces();
  });
}
