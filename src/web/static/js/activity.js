// The activity search (by name or KBLI code, a combobox), the chosen activity, and the map shaded
// by the activity's class in each sub-zone.

import { api, isAbort, query } from './api.js';
import { NO_CLASS_SHADE, classShade, legendRows } from './classes.js';
import { esc, safeColor } from './format.js';
import { t } from './i18n.js';
import { ZONE_COLOURS, getMap, zoningReady } from './map.js';
import { setStatus } from './panel.js';
import { el, state } from './state.js';
import { rerunLast } from './lookup.js';
import { writeHash } from './url-state.js';

const combo = { items: [], active: -1, timer: 0, ctl: null, seq: 0 };

function openList() {
  el.list.hidden = false;
  el.input.setAttribute('aria-expanded', 'true');
}

function closeList() {
  el.list.hidden = true;
  el.input.setAttribute('aria-expanded', 'false');
  el.input.removeAttribute('aria-activedescendant');
  combo.active = -1;
}

function listNote(text) {
  combo.items = [];
  el.list.innerHTML = `<li class="combo-note" role="presentation">${esc(text)}</li>`;
  openList();
}

/** An item of the list from a KBLI hit of the search. */
function itemOfHit(h) {
  return {
    kbli: h.kbli,
    title: h.title,
    activityId: h.activity ? h.activity.id : null,
    activityName: h.activity ? h.activity.name : null,
  };
}

function renderHits(data, q) {
  const items = [];
  const rows = [];
  for (const h of Array.isArray(data.kbli) ? data.kbli : []) {
    const i = items.length;
    items.push(itemOfHit(h));
    const level = h.level && h.level !== 'kelompok' ? ` <span class="kbli-level">${esc(h.level.replace(/_/g, ' '))}</span>` : '';
    const arrow = h.activity
      ? `<span class="kbli-arrow">→ ${esc(h.activity.name)}</span>`
      : `<span class="kbli-arrow none">${esc(t('search.notcovered'))}</span>`;
    rows.push(`<li role="option" id="activity-opt-${i}" data-index="${i}" aria-selected="false">
      <span class="kbli-code">${esc(h.kbli)}</span><span class="kbli-title">${esc(h.title)}${level}</span>${arrow}</li>`);
  }
  // Activities that have no KBLI code (housing types) can only be found by name.
  const noKbli = (Array.isArray(data.activities) ? data.activities : [])
    .filter((a) => !Array.isArray(a.kbli) || a.kbli.length === 0);
  if (noKbli.length) {
    rows.push(`<li class="combo-sep" role="presentation">${esc(t('search.nokbli'))}</li>`);
    for (const a of noKbli) {
      const i = items.length;
      items.push({ kbli: null, title: null, activityId: a.id, activityName: a.name });
      rows.push(`<li role="option" id="activity-opt-${i}" data-index="${i}" aria-selected="false">
        <span class="kbli-code">${esc(a.id)}</span><span class="kbli-title">${esc(a.name)}</span></li>`);
    }
  }
  if (!items.length) {
    listNote(t('search.noresult', { q }));
    return;
  }
  combo.items = items;
  combo.active = -1;
  el.list.innerHTML = rows.join('');
  openList();
}

async function searchActivities(q) {
  if (combo.ctl) combo.ctl.abort();
  combo.ctl = new AbortController();
  const seq = ++combo.seq;
  try {
    const data = await api(`/api/v1/activities${query({ q, limit: 40 })}`, { signal: combo.ctl.signal });
    if (seq !== combo.seq || document.activeElement !== el.input) return;
    renderHits(data, q);
  } catch (e) {
    if (isAbort(e) || seq !== combo.seq) return;
    listNote(t('search.failed', { detail: e.detail || e.message }));
  }
}

function setActive(i) {
  const options = el.list.querySelectorAll('[role="option"]');
  if (!options.length) return;
  combo.active = (i + options.length) % options.length;
  options.forEach((o, k) => o.setAttribute('aria-selected', String(k === combo.active)));
  const opt = options[combo.active];
  el.input.setAttribute('aria-activedescendant', opt.id);
  opt.scrollIntoView({ block: 'nearest' });
}

function choose(i) {
  const item = combo.items[i];
  if (item) selectActivity(item);
}

function chipLabel(item) {
  return item.kbli
    ? `${item.kbli} ${item.title || ''}${item.activityName ? ` → ${item.activityName}` : ''}`
    : t('activity.nokbli', { name: item.activityName });
}

/** Makes `item` ({kbli, title, activityId, activityName}) the chosen activity. */
export function selectActivity(item, { rerun = true } = {}) {
  state.selected = item;
  shadeActivity();
  el.input.value = '';
  closeList();
  const label = chipLabel(item);
  el.chipLabel.textContent = label;
  el.chip.title = label;
  el.chip.hidden = false;
  setStatus(t('activity.chosen', { label }));
  writeHash();
  if (rerun) rerunLast();
}

function clearActivity() {
  if (!state.selected) return;
  state.selected = null;
  shadeActivity();
  el.chip.hidden = true;
  el.chipLabel.textContent = '';
  setStatus(t('activity.cleared'));
  el.input.focus();
  writeHash();
  rerunLast();
}

/** Finds the KBLI code of a shared link and makes it the chosen activity (without a lookup). */
export async function selectKbli(kbli) {
  const data = await api(`/api/v1/activities${query({ q: kbli, limit: 50 })}`);
  const hit = (Array.isArray(data.kbli) ? data.kbli : []).find((h) => h.kbli === kbli);
  if (hit) selectActivity(itemOfHit(hit), { rerun: false });
}

const shading = { ctl: null, data: null };

function classLegendHtml(kbli, title) {
  return `<p class="class-legend-title">${esc(t('shade.title', { kbli, title: title || '' }))}</p><ul>${legendRows().map((r) =>
    `<li><span class="swatch" style="background:${safeColor(r.shade)}"></span><b>${esc(r.key)}</b> ${esc(r.label)}</li>`).join('')}</ul>`;
}

/** Shades the zoning by the chosen activity's class in each sub-zone (from the vector tiles'
 *  sub-zone codes and the classes the API gives), or back to the sub-zone colours. */
export async function shadeActivity() {
  const kbli = state.selected && state.selected.kbli;
  if (shading.ctl) shading.ctl.abort();
  if (!kbli) {
    shading.data = null;
    el.classLegend.hidden = true;
    if (getMap() && getMap().getLayer('zoning-fill')) getMap().setPaintProperty('zoning-fill', 'fill-color', ZONE_COLOURS);
    return;
  }
  shading.ctl = new AbortController();
  try {
    const data = await api(`/api/v1/activities/classes${query({ kbli })}`, { signal: shading.ctl.signal });
    shading.data = { kbli, title: data.title };
    el.classLegend.innerHTML = classLegendHtml(kbli, data.title);
    el.classLegend.hidden = false;
    if (!(await zoningReady)) return;
    const pairs = Object.entries(data.classes || {});
    const match = ['match', ['get', 'code']];
    for (const [code, cls] of pairs) match.push(code, classShade(cls));
    match.push(NO_CLASS_SHADE);
    getMap().setPaintProperty('zoning-fill', 'fill-color', pairs.length ? match : NO_CLASS_SHADE);
  } catch (e) {
    if (isAbort(e)) return;
    setStatus(e.detail || e.message);
  }
}

/** The chip and the class legend in the current language. */
export function relabelActivity() {
  if (state.selected) el.chipLabel.textContent = chipLabel(state.selected);
  if (shading.data) el.classLegend.innerHTML = classLegendHtml(shading.data.kbli, shading.data.title);
}

export function initActivitySearch() {
  el.input.addEventListener('input', () => {
    clearTimeout(combo.timer);
    const q = el.input.value.trim();
    if (q.length < 2) {
      combo.seq += 1;
      if (combo.ctl) combo.ctl.abort();
      closeList();
      return;
    }
    combo.timer = setTimeout(() => searchActivities(q), 250);
  });
  el.input.addEventListener('keydown', (e) => {
    const visible = !el.list.hidden && combo.items.length > 0;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (visible) setActive(combo.active + 1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      if (visible) setActive(combo.active - 1);
    } else if (e.key === 'Enter') {
      if (visible) {
        e.preventDefault();
        choose(combo.active >= 0 ? combo.active : 0);
      }
    } else if (e.key === 'Escape' && !el.list.hidden) {
      e.preventDefault();
      e.stopPropagation();
      closeList();
    }
  });
  el.input.addEventListener('blur', () => {
    setTimeout(() => {
      if (document.activeElement !== el.input) closeList();
    }, 120);
  });
  el.input.addEventListener('focus', () => {
    if (combo.items.length && el.input.value.trim().length >= 2) openList();
  });
  // Keep the focus in the input while clicking an option.
  el.list.addEventListener('mousedown', (e) => e.preventDefault());
  el.list.addEventListener('click', (e) => {
    const li = e.target.closest('[role="option"]');
    if (li) choose(Number(li.dataset.index));
  });
  el.chipClear.addEventListener('click', clearActivity);
}
