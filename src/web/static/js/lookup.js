// Lookups: what applies at a point, and on a parcel; each answer is kept so that a change of
// language renders it again without asking the server.

import { ApiError, api, isAbort, query } from './api.js';
import { coord, fmtArea } from './format.js';
import { t } from './i18n.js';
import { placeMarker, removeMarker } from './map.js';
import { showLoading, showPanel } from './panel.js';
import { openPrintView } from './print.js';
import { attachPointChanges } from './regulation.js';
import { errorTitle, renderError } from './render.js';
import { renderParcel } from './render-parcel.js';
import { renderPoint } from './render-point.js';
import { state } from './state.js';
import { clearParcelShape, showParcelShape } from './draw.js';
import { writeHash } from './url-state.js';

/** Starts a lookup: cancels the previous one, returns its abort signal and sequence number. */
function beginLookup() {
  if (state.lookupCtl) state.lookupCtl.abort();
  state.lookupCtl = new AbortController();
  state.seq += 1;
  return { signal: state.lookupCtl.signal, seq: state.seq };
}

/**
 * Runs `request(kbli)` with the selected activity's KBLI; if the server refuses because of the
 * activity (a 400/404 when asked with one), asks again without it and reports why.
 */
async function withActivity(request) {
  const sel = state.selected;
  const kbli = sel && sel.kbli ? sel.kbli : null;
  try {
    return { data: await request(kbli), activityError: null };
  } catch (e) {
    if (!kbli || isAbort(e) || !(e instanceof ApiError) || (e.status !== 400 && e.status !== 404)) throw e;
    const data = await request(null);
    return { data, activityError: e.detail };
  }
}

/** What applies at a point, from the API (`/api/v1/zoning`). */
export function fetchPoint(lon, lat, { kbli, at, version, signal } = {}) {
  return api(`/api/v1/zoning${query({ lon: coord(lon), lat: coord(lat), activity: kbli, at, version })}`, { signal });
}

export async function lookupPoint(lon, lat) {
  state.last = { kind: 'point', lon, lat };
  writeHash();
  clearParcelShape();
  placeMarker(lon, lat);
  const { signal, seq } = beginLookup();
  showLoading(t('panel.title'), t('lookup.loading'));
  try {
    const { data, activityError } = await withActivity((kbli) => fetchPoint(lon, lat, { kbli, at: state.at, signal }));
    if (seq !== state.seq) return;
    // The answer describes the zone, not the point: the point asked is added here.
    state.answer = { kind: 'point', data: { ...data, lon, lat }, activityError };
    showAnswer();
  } catch (e) {
    if (isAbort(e) || seq !== state.seq) return;
    state.answer = null;
    showPanel(t('panel.title'), renderError(e, lon, lat), e.status ? errorTitle(e.status) : (e.detail || e.message));
  }
}

export async function lookupParcel(ring) {
  state.last = { kind: 'parcel', ring };
  writeHash();
  removeMarker();
  const { signal, seq } = beginLookup();
  showLoading(t('parcel.title'), t('parcel.loading'));
  try {
    const { data, activityError } = await withActivity((kbli) => {
      const body = { geometry: { type: 'Polygon', coordinates: [ring] } };
      if (kbli) body.activity = kbli;
      return api(`/api/v1/zoning/parcel${query({ at: state.at, compare_to: state.compareTo })}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    });
    if (seq !== state.seq) return;
    state.answer = { kind: 'parcel', data, activityError, ring };
    showAnswer();
  } catch (e) {
    if (isAbort(e) || seq !== state.seq) return;
    state.answer = null;
    showPanel(t('parcel.title'), renderError(e), e.status ? errorTitle(e.status) : (e.detail || e.message));
  }
}

/** Shows the kept answer (again, after a change of language). */
export function showAnswer() {
  const answer = state.answer;
  if (!answer) return;
  const { data, activityError } = answer;
  if (answer.kind === 'point') {
    const sz = data.subzone || {};
    showPanel(t('panel.title'), renderPoint(data, state.selected, activityError),
      t('lookup.status', { code: sz.code || '?', name: sz.name ? ` (${sz.name})` : '' }));
    attachPointChanges(data);
  } else {
    showPanel(t('parcel.title'), renderParcel(data, state.selected, activityError),
      t('parcel.status', { area: fmtArea(data.area_m2) }));
    const button = document.getElementById('print-parcel');
    if (button) button.addEventListener('click', () => openPrintView(answer));
  }
}

/** Asks the last question again (the activity, the day or the version compared with changed). */
export function rerunLast() {
  const last = state.last;
  if (!last) return;
  if (last.kind === 'point') lookupPoint(last.lon, last.lat);
  else if (last.kind === 'parcel') {
    showParcelShape(last.ring);
    lookupParcel(last.ring);
  }
}
