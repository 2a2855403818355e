// The legend: the sub-zones' colours (from the API) and the layer switches.

import { api } from './api.js';
import { esc, safeColor } from './format.js';
import { t } from './i18n.js';
import { messageHtml } from './panel.js';
import { word } from './render.js';
import { el } from './state.js';

let subzones = null;

function legendHtml(list) {
  if (!list.length) return `<p class="muted">${esc(t('legend.empty'))}</p>`;
  const groups = new Map();
  for (const s of list) {
    const key = s.zone || '?';
    if (!groups.has(key)) groups.set(key, { name: s.zone_name || key, kind: s.kind, items: [] });
    groups.get(key).items.push(s);
  }
  return [...groups.values()].map((g) => `<h3>${esc(g.name)}${g.kind ? ` <span class="hint">· ${esc(word('kind', g.kind))}</span>` : ''}</h3>
    <ul>${g.items.map((s) => `<li><span class="swatch" style="background:${safeColor(s.color)}" aria-hidden="true"></span>
      <span><span class="mono">${esc(s.code)}</span> ${esc(s.name)}</span></li>`).join('')}</ul>`).join('');
}

async function loadLegend() {
  try {
    const data = await api('/api/v1/subzones');
    subzones = Array.isArray(data.subzones) ? data.subzones : [];
    el.legendBody.innerHTML = legendHtml(subzones);
  } catch (e) {
    el.legendBody.innerHTML = messageHtml(t('legend.failed', { detail: e.detail || e.message }));
  }
}

function openLegend() {
  el.legend.hidden = false;
  el.legendToggle.setAttribute('aria-expanded', 'true');
  el.legendTitle.focus();
  if (!subzones) {
    el.legendBody.innerHTML = `<p class="loading">${esc(t('loading'))}</p>`;
    loadLegend();
  }
}

export function closeLegend(returnFocus = true) {
  if (el.legend.hidden) return;
  el.legend.hidden = true;
  el.legendToggle.setAttribute('aria-expanded', 'false');
  if (returnFocus) el.legendToggle.focus();
}

export function relabelLegend() {
  if (subzones) el.legendBody.innerHTML = legendHtml(subzones);
}

export function initLegend() {
  el.legendToggle.addEventListener('click', () => {
    if (el.legend.hidden) openLegend();
    else closeLegend();
  });
  el.legendClose.addEventListener('click', () => closeLegend());
}
