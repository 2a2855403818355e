// Formatting of numbers, dates and text for the page. Every string that comes from the API or from
// an uploaded file goes through esc() before it reaches innerHTML; colours go through safeColor().

import { locale } from './i18n.js';

/** Escapes text for HTML element content and attribute values. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

/** A `#RRGGBB` colour, or grey for anything else (the value ends up in a style attribute). */
export function safeColor(c) {
  return typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '#cccccc';
}

export function isNum(v) {
  return v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v));
}

/** A number in the page's notation (1.234,5 in Indonesian), or an en dash. */
export function fmt(v, maxFrac = 0) {
  if (!isNum(v)) return '–';
  return Number(v).toLocaleString(locale(), { maximumFractionDigits: maxFrac });
}

export function fmtArea(v) {
  if (!isNum(v)) return '–';
  return fmt(v, Math.abs(Number(v)) < 10 ? 1 : 0);
}

export function fmtPct(share) {
  if (!isNum(share)) return '–';
  return `${fmt(Number(share) * 100, 1)} %`;
}

/** A dash for limits the rule set does not set (null), where 0 would read as a limit. */
export const NOT_SET = '—';

/** A number, or NOT_SET when the value is null/absent. */
export function fmtOpt(v, maxFrac = 0) {
  return isNum(v) ? fmt(v, maxFrac) : NOT_SET;
}

/** A day or an instant as a long date in the page's language. */
export function fmtDate(s) {
  if (!s) return '';
  // A plain day (YYYY-MM-DD) is a calendar day, not UTC midnight: read it in local time.
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
  const d = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return d.toLocaleDateString(locale(), { day: 'numeric', month: 'long', year: 'numeric' });
}

export function fmtValue(v) {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'number') return fmt(v, 6);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A coordinate with six decimals and a point, as typed and shared (not localised). */
export function coord(v) {
  return Number(v).toFixed(6);
}
