// Which regulation answers: the day selector ("in force on"), and "what changed here" between the
// version that answered and another version of its plan (at the point, and where in the city).
//
// On another day the zoning tiles draw the plans in force that day (`?at=` on the tiles), and the
// areas that differ from today are outlined; comparing two versions outlines the areas in view that
// changed (`/api/v1/plans/{id}/changes?bbox=`).

import { api, isAbort, query } from './api.js';
import { esc, fmt, fmtDate } from './format.js';
import { t } from './i18n.js';
import { EMPTY, getMap, mapReady, setZoningDay } from './map.js';
import { setStatus } from './panel.js';
import { el, state } from './state.js';
import { fetchPoint, rerunLast } from './lookup.js';
import { errorTitle } from './render.js';
import { writeHash } from './url-state.js';

let versions = null;

/** Every published version of every plan (asked once). */
async function planVersions() {
  if (!versions) {
    versions = api('/api/v1/plans').then((d) => (Array.isArray(d.versions) ? d.versions : []))
      .catch((e) => { versions = null; throw e; });
  }
  return versions;
}

/** The versions of one plan, newest first. */
async function versionsOf(planId) {
  const all = await planVersions();
  return all.filter((v) => v.plan_id === planId)
    .sort((a, b) => b.version - a.version);
}

/** The version of a plan in force on `day` (YYYY-MM-DD), or undefined. */
function inForceOn(list, day) {
  return list.find((v) => v.effective_from <= day && (!v.in_force_until || day < v.in_force_until));
}

let changesCtl = null;
/** The comparison outlined on the map ({planId, from, to}), refreshed as the view moves. */
let outlined = null;
/** Below this zoom the view holds too much of the city to outline its changes. */
const OUTLINE_MIN_ZOOM = 15;

/** The view's envelope, a little larger than the view. */
function viewBox(map) {
  const b = map.getBounds();
  const [dx, dy] = [(b.getEast() - b.getWest()) * 0.1, (b.getNorth() - b.getSouth()) * 0.1];
  return [b.getWest() - dx, b.getSouth() - dy, b.getEast() + dx, b.getNorth() + dy].map((v) => v.toFixed(6)).join(',');
}

/** Outlines on the map the areas in view that differ between two versions; returns the changes
 *  (null when the view is too wide to ask). */
async function showChangedAreas(planId, from, to) {
  outlined = { planId, from, to };
  if (changesCtl) changesCtl.abort();
  changesCtl = new AbortController();
  const map = getMap() || (await mapReady);
  if (map.getZoom() < OUTLINE_MIN_ZOOM) {
    map.getSource('changes').setData(EMPTY);
    state.changedAreas = null;
    return null;
  }
  const data = await api(`/api/v1/plans/${encodeURIComponent(planId)}/changes${query({ from, to, bbox: viewBox(map) })}`,
    { signal: changesCtl.signal });
  map.getSource('changes').setData(data);
  state.changedAreas = Array.isArray(data.features) ? data.features.length : 0;
  return data;
}

function hideChangedAreas() {
  outlined = null;
  state.changedAreas = null;
  if (changesCtl) changesCtl.abort();
  const map = getMap();
  if (map && map.getSource('changes')) map.getSource('changes').setData(EMPTY);
}

/** Asks again for the changes in view once the map stops moving. */
export function watchOutline(map) {
  map.on('moveend', () => {
    if (!outlined) return;
    showChangedAreas(outlined.planId, outlined.from, outlined.to).catch((e) => {
      if (!isAbort(e)) setStatus(e.detail || e.message);
    });
  });
}

/** What differs at the point between two answers (the one shown and the other version's). */
function pointDifferences(now, then) {
  const lines = [];
  const code = (d) => (d && d.subzone && d.subzone.code) || t('changes.outside');
  const redrawn = code(now) !== code(then);
  if (redrawn) lines.push(t('changes.subzone', { before: code(then), after: code(now) }));
  // Another sub-zone has other rules: only the same sub-zone's rules are worth naming.
  if (!redrawn && JSON.stringify(now.intensity ?? null) !== JSON.stringify(then.intensity ?? null)) lines.push(t('changes.intensity'));
  if (now.activity || then.activity) {
    const cls = (d) => (d.activity && d.activity.class) || '—';
    if (cls(now) !== cls(then)) {
      lines.push(t('changes.activity', { kbli: (now.activity || then.activity).kbli, before: cls(then), after: cls(now) }));
    }
  }
  if (!redrawn && JSON.stringify(now.activities ?? null) !== JSON.stringify(then.activities ?? null)) lines.push(t('changes.activities'));
  return lines;
}

async function comparePoint(section, data, other) {
  const out = section.querySelector('.changes-result');
  out.innerHTML = `<p class="loading small">${esc(t('changes.loading'))}</p>`;
  const plan = data.plan;
  try {
    const kbli = state.selected && state.selected.kbli;
    const [then, areas] = await Promise.all([
      fetchPoint(data.lon, data.lat, { kbli, version: other }).catch((e) => (e.status === 404 ? {} : Promise.reject(e))),
      showChangedAreas(plan.plan_id, other, plan.version_id),
    ]);
    const otherVersion = versionNumber(other);
    const lines = pointDifferences(data, then);
    const head = lines.length
      ? `<p class="small">${esc(t('changes.differs', { a: otherVersion, b: plan.version }))}</p>
         <ul class="changes-list">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`
      : `<p class="small">${esc(t('changes.same', { a: otherVersion, b: plan.version }))}</p>`;
    let note = t('changes.zoomin');
    if (areas) {
      const n = Array.isArray(areas.features) ? areas.features.length : 0;
      note = t('changes.map', { n: fmt(n) }) + (areas.truncated ? ` (${t('changes.map.truncated', { n: fmt(n) })})` : '');
    }
    out.innerHTML = `${head}<p class="small muted">${esc(note)}</p>`;
  } catch (e) {
    if (isAbort(e)) return;
    out.innerHTML = `<p class="small">${esc(e.status ? `${errorTitle(e.status)}: ${e.detail}` : (e.detail || e.message))}</p>`;
  }
}

let known = [];
function versionNumber(id) {
  const v = known.find((x) => x.version_id === id);
  return v ? v.version : id;
}

/** Fills the point answer's "what changed here" section with the other versions of its plan. */
export async function attachPointChanges(data) {
  const section = document.getElementById('changes-section');
  const plan = data.plan;
  if (!section || !plan || plan.plan_id === undefined) return;
  let list;
  try {
    list = await versionsOf(plan.plan_id);
  } catch (e) {
    return;
  }
  if (!section.isConnected) return;
  known = list;
  const others = list.filter((v) => v.version_id !== plan.version_id);
  section.hidden = false;
  if (!others.length) {
    section.innerHTML = `<h4>${esc(t('changes.title'))}</h4><p class="small muted">${esc(t('changes.none'))}</p>`;
    return;
  }
  const options = others.map((v) => `<option value="${esc(v.version_id)}"${v.version_id === state.compareTo ? ' selected' : ''}>${esc(t('changes.option', {
    version: v.version, from: fmtDate(v.effective_from),
  }))}</option>`).join('');
  section.innerHTML = `<h4>${esc(t('changes.title'))}</h4>
    <label class="compare-field"><span>${esc(t('changes.compare'))}</span>
      <select id="compare-select"><option value="">${esc(t('changes.choose'))}</option>${options}</select></label>
    <div class="changes-result" aria-live="polite"></div>`;
  const select = section.querySelector('#compare-select');
  select.addEventListener('change', () => {
    state.compareTo = select.value ? Number(select.value) : null;
    writeHash();
    if (state.compareTo) comparePoint(section, data, state.compareTo);
    else {
      hideChangedAreas();
      section.querySelector('.changes-result').innerHTML = '';
    }
  });
  if (state.compareTo && others.some((v) => v.version_id === state.compareTo)) comparePoint(section, data, state.compareTo);
}

/** On a day other than today, outlines where the plans then differ from today's. */
async function outlineDay(day) {
  hideChangedAreas();
  if (!day) return;
  try {
    const all = await planVersions();
    const plans = [...new Set(all.map((v) => v.plan_id))];
    const today = new Date().toISOString().slice(0, 10);
    for (const planId of plans) {
      const list = await versionsOf(planId);
      const then = inForceOn(list, day);
      const now = list.find((v) => v.in_force) || inForceOn(list, today);
      if (then && now && then.version_id !== now.version_id) {
        await showChangedAreas(planId, then.version_id, now.version_id);
        return;
      }
    }
  } catch (e) {
    if (!isAbort(e)) setStatus(e.detail || e.message);
  }
}

/** Sets the day whose regulations answer (null: today). */
export function setDay(day, { rerun = true } = {}) {
  state.at = day;
  el.atInput.value = day || '';
  setZoningDay(day);
  writeHash();
  outlineDay(day);
  if (rerun) {
    setStatus(day ? t('at.status.day', { day: fmtDate(day) }) : t('at.status.today'));
    rerunLast();
  }
}

export function initDaySelector() {
  el.atInput.addEventListener('change', () => {
    setDay(/^\d{4}-\d{2}-\d{2}$/.test(el.atInput.value) ? el.atInput.value : null);
  });
}
