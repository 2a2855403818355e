// The result panel: a side panel on wide screens, a bottom sheet on phones.

import { esc } from './format.js';
import { t } from './i18n.js';
import { el } from './state.js';

export const narrow = window.matchMedia('(max-width: 760px)');

export function setPanelOpen(open) {
  el.panel.dataset.state = open ? 'open' : 'collapsed';
  el.panelToggle.setAttribute('aria-expanded', String(open));
}

export function setStatus(text) {
  el.status.textContent = text || '';
}

export function showPanel(title, html, status) {
  el.panelTitle.textContent = title;
  el.panelBody.innerHTML = html;
  el.panelBody.scrollTop = 0;
  setStatus(status);
  setPanelOpen(true);
}

export function showLoading(title, text) {
  showPanel(title, `<p class="loading">${esc(text)}</p>`, text);
}

export function messageHtml(text, kind = 'error', extra = '') {
  return `<div class="message ${esc(kind)}"><p>${esc(text)}</p>${extra}</div>`;
}

/** The panel's toggle (on phones the whole head toggles the sheet). */
export function initPanel() {
  el.panelToggle.addEventListener('click', (e) => {
    e.stopPropagation();
    setPanelOpen(el.panel.dataset.state !== 'open');
  });
  el.panel.querySelector('.panel-head').addEventListener('click', () => {
    if (narrow.matches) setPanelOpen(el.panel.dataset.state !== 'open');
  });
  setPanelOpen(!narrow.matches);
  setStatus(narrow.matches ? t('panel.tap') : '');
}
