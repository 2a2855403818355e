// The printable summary of a parcel's answer: one page with the parcel's outline, its area, the
// regulation that answered, the parts and limits, the corners and where it came from. Shown over
// the map; the browser's print (or "save as PDF") prints only this page.

import { esc, fmt } from './format.js';
import { locale, t } from './i18n.js';
import { renderParcel } from './render-parcel.js';
import { el, state } from './state.js';

/** The ring drawn as an SVG outline (lon/lat to local metres, north up), with a scale line. */
function outlineSvg(ring) {
  const lat0 = ring.reduce((s, c) => s + c[1], 0) / ring.length;
  const kx = 111320 * Math.cos((lat0 * Math.PI) / 180);
  const ky = 110574;
  const xs = ring.map((c) => c[0] * kx);
  const ys = ring.map((c) => c[1] * ky);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const size = 220;
  const span = Math.max(maxX - minX, maxY - minY, 1);
  const scale = (size - 20) / span;
  const points = ring.map((c, i) => `${(10 + (xs[i] - minX) * scale).toFixed(1)},${(10 + (maxY - ys[i]) * scale).toFixed(1)}`).join(' ');
  // A scale line of a round length near a quarter of the drawing.
  const target = span / 4;
  const step = 10 ** Math.floor(Math.log10(target));
  const metres = [1, 2, 5, 10].map((m) => m * step).filter((m) => m <= target).pop() || step;
  const px = metres * scale;
  return `<svg class="print-outline" viewBox="0 0 ${size + 28} ${size + 24}" width="${size + 28}" height="${size + 24}" role="img"
      aria-label="${esc(t('print.heading'))}">
    <polygon points="${points}" fill="#dbeafe" stroke="#1d4ed8" stroke-width="2"/>
    <line x1="10" y1="${size + 12}" x2="${(10 + px).toFixed(1)}" y2="${size + 12}" stroke="#111" stroke-width="2"/>
    <text x="${(14 + px).toFixed(1)}" y="${size + 16}" font-size="11">${esc(fmt(metres))} m</text>
    <text x="${size + 14}" y="20" font-size="13" font-weight="bold" text-anchor="middle">N</text>
    <path d="M${size + 14} 24 l-5 14 h10 z" fill="#111"/>
  </svg>`;
}

function cornersHtml(ring) {
  const corners = ring.slice(0, -1);
  return `<details class="group" open><summary>${esc(t('print.vertices'))} (${corners.length})</summary>
    <ol class="print-corners mono">${corners.map((c) => `<li>${c[0].toFixed(7)}, ${c[1].toFixed(7)}</li>`).join('')}</ol></details>`;
}

/** Opens the summary of a parcel answer ({data, activityError, ring}). */
export function openPrintView(answer) {
  const made = new Date().toLocaleString(locale(), { dateStyle: 'long', timeStyle: 'short' });
  el.print.innerHTML = `<div class="print-page">
    <div class="print-actions no-print">
      <button type="button" class="btn btn-primary" id="print-now">${esc(t('print.print'))}</button>
      <button type="button" class="btn" id="print-close">${esc(t('print.close'))}</button>
    </div>
    <h2 id="print-title" tabindex="-1">${esc(t('print.heading'))}</h2>
    <p class="small muted print-url">${esc(t('print.made', { when: made, url: location.href }))}</p>
    <div class="print-top">${outlineSvg(answer.ring)}</div>
    <div class="print-answer">${renderParcel(answer.data, state.selected, answer.activityError)}</div>
    ${cornersHtml(answer.ring)}
    <p class="print-notice">${esc(t('print.notice'))}</p>
  </div>`;
  el.print.hidden = false;
  document.body.classList.add('printing');
  el.print.querySelector('#print-now').addEventListener('click', () => window.print());
  el.print.querySelector('#print-close').addEventListener('click', closePrintView);
  el.print.querySelector('#print-title').focus();
}

export function closePrintView() {
  if (el.print.hidden) return;
  el.print.hidden = true;
  el.print.innerHTML = '';
  document.body.classList.remove('printing');
  const button = document.getElementById('print-parcel');
  if (button) button.focus();
}
