// HTML pieces shared by the point and parcel answers.

import { classLabel, clsKey } from './classes.js';
import { NOT_SET, esc, fmt, fmtDate, fmtOpt, isNum } from './format.js';
import { t } from './i18n.js';
import { messageHtml } from './panel.js';

/** What a failed request means, in the page's language (the server's own detail, in English,
 *  follows it). */
export function errorTitle(status) {
  if ([400, 404, 413, 415, 422, 429, 503].includes(status)) return t(`error.${status}`);
  if (status >= 500) return t('error.server');
  return t('error.generic');
}

export function renderError(e, lon, lat) {
  const where = isNum(lon) && isNum(lat)
    ? `<p class="small muted">${esc(t('error.point', { lon: fmt(lon, 6), lat: fmt(lat, 6) }))}</p>` : '';
  if (!e.status) return messageHtml(e.detail || e.message || t('error.generic'), 'error', where);
  const detail = `<p class="small">${esc(t('error.detail', { detail: e.detail || e.message || '' }))}</p>
    <p class="small muted">HTTP ${esc(e.status)}</p>`;
  return messageHtml(errorTitle(e.status), 'error', detail + where);
}

export function conditionsHtml(conditions) {
  if (!Array.isArray(conditions) || conditions.length === 0) return '';
  return `<ul class="conditions">${conditions.map((c) =>
    `<li><span class="cond-code">${esc(c.code)}</span>${esc(c.text || '')}</li>`).join('')}</ul>`;
}

/** The prominent verdict box of the selected activity. */
export function verdictHtml({ cls, label, title, detail, conditions, note, noBadge }) {
  const key = clsKey(cls);
  return `<section class="verdict cls-${key}" aria-label="${esc(t('verdict'))}">
    <div class="verdict-head">
      ${noBadge ? '' : `<span class="verdict-class">${esc(key === 'none' ? '?' : key)}</span>`}
      <div>
        <div class="verdict-label">${esc(label)}</div>
        ${title ? `<div class="small">${esc(title)}</div>` : ''}
      </div>
    </div>
    ${detail ? `<p>${esc(detail)}</p>` : ''}
    ${conditions && conditions.length ? `<p><strong>${esc(t('verdict.conditions'))}</strong></p>${conditionsHtml(conditions)}` : ''}
    ${note ? `<p class="small muted">${esc(note)}</p>` : ''}
  </section>`;
}

/** The label of a class the server names: ours for the codes we know (in the page's language). */
export function labelOf(cls, serverLabel) {
  return cls ? classLabel(cls) : (serverLabel || t('unregulated.short'));
}

export function selectedTitle(sel) {
  if (!sel) return '';
  if (sel.kbli) return `KBLI ${sel.kbli} ${sel.title || ''}`.trim();
  return sel.activityName || sel.activityId || '';
}

export function tierRange(tier) {
  const min = Number(tier.min_parcel_m2) || 0;
  if (tier.max_parcel_m2 === null || tier.max_parcel_m2 === undefined) {
    return min > 0 ? `≥ ${fmt(min)}` : t('tier.all');
  }
  return `${fmt(min)} – ${fmt(tier.max_parcel_m2)}`;
}

function klbText(tier) {
  if (!isNum(tier.klb_min) || Number(tier.klb_min) === Number(tier.klb_max)) return fmt(tier.klb_max, 2);
  return `${fmt(tier.klb_min, 2)} – ${fmt(tier.klb_max, 2)}`;
}

/** Height and floors; either may be null (the rule set sets none). */
export function heightText(h, floors) {
  if (!isNum(h) && !isNum(floors)) return NOT_SET;
  return `${fmtOpt(h, 1)} m / ${fmtOpt(floors)} ${t('floors.unit')}`;
}

/** A header cell with its explanation as a tooltip. */
export function th(key) {
  return `<th scope="col" title="${esc(t(`${key}.title`))}">${esc(t(key))}</th>`;
}

export function tableWrap(table) {
  return `<div class="table-wrap" tabindex="0" role="region" aria-label="${esc(t('table.region'))}">${table}</div>`;
}

/** The intensity table; `rows` are [label html, tier or null, text when no tier]. */
export function intensityTable(rows, firstHeader) {
  const tiers = rows.map((r) => r[1]);
  const hasMinLot = tiers.some((tier) => tier && isNum(tier.min_lot_m2));
  const head = `<tr>
    <th scope="col">${esc(firstHeader)}</th>
    ${th('col.kdb')}${th('col.klb')}${th('col.kdh')}${th('col.ktb')}${th('col.height')}${th('col.gsb')}
    ${hasMinLot ? th('col.minlot') : ''}
  </tr>`;
  const body = rows.map(([label, tier, none]) => {
    if (!tier) {
      return `<tr><th scope="row">${label}</th><td colspan="${hasMinLot ? 7 : 6}" class="muted">${esc(none || t('intensity.none'))}</td></tr>`;
    }
    return `<tr>
      <th scope="row">${label}</th>
      <td>${esc(fmt(tier.kdb_max, 1))}</td>
      <td>${esc(klbText(tier))}</td>
      <td>${esc(fmt(tier.kdh_min, 1))}</td>
      <td>${esc(fmt(tier.ktb_max, 1))}</td>
      <td>${esc(heightText(tier.max_height_m, tier.max_floors))}</td>
      <td>${esc(fmtOpt(tier.gsb_m, 1))}</td>
      ${hasMinLot ? `<td>${esc(fmt(tier.min_lot_m2))}</td>` : ''}
    </tr>`;
  }).join('');
  return tableWrap(`<table><thead>${head}</thead><tbody>${body}</tbody></table>`);
}

/** "in force from <day> [until <day>]" of a plan version, or '' when the server sends no dates. */
export function inForceText(plan) {
  if (!plan || !plan.effective_from) return '';
  const until = plan.in_force_until ? t('plan.until', { until: fmtDate(plan.in_force_until) }) : '';
  return t('plan.since', { from: fmtDate(plan.effective_from) }) + until;
}

function versionText(plan) {
  return t('plan.version', { plan: plan.plan || t('plan.default'), version: plan.version ?? '?' });
}

export function planText(plan) {
  if (!plan) return '–';
  const inForce = inForceText(plan);
  const date = fmtDate(plan.published_at);
  const when = inForce || (date ? t('plan.published', { date }) : '');
  return `${versionText(plan)}${when ? ` · ${when}` : ''}`;
}

/** The regulation that answered: plan, version, in force since/until, rule set (HTML). */
export function planHtml(plan) {
  if (!plan) return '–';
  const inForce = inForceText(plan);
  const date = fmtDate(plan.published_at);
  const rules = isNum(plan.rule_set_id)
    ? `<span title="${esc(plan.rule_digest ? `digest ${plan.rule_digest}` : '')}">${esc(t('plan.rules', { id: plan.rule_set_id }))}</span>` : '';
  const meta = [date ? esc(t('plan.published', { date })) : '', rules].filter(Boolean).join(' · ');
  return `${esc(versionText(plan))}
    ${inForce ? `<div class="small">${esc(inForce)}</div>` : ''}
    ${meta ? `<div class="small muted">${meta}</div>` : ''}`;
}

/** Whether an answer's `rules` says the sub-zone is not regulated (old answers have no `rules`). */
export function unregulated(rules) {
  return !!rules && typeof rules === 'object' && rules.regulated === false;
}

/** The prominent notice of a sub-zone the plan's rule set does not regulate. */
export function unregulatedHtml(message) {
  return `<div class="message warn unregulated" role="note">
    <p><strong>${esc(t('unregulated.title'))}</strong></p>
    <p class="small">${esc(t('unregulated.body'))}</p>
    ${message ? `<p class="small muted">${esc(message)}</p>` : ''}
  </div>`;
}

/** A word the server uses (a zone kind, what differs), in the page's language when known. */
export function word(prefix, value) {
  const key = `${prefix}.${value}`;
  const text = t(key);
  return text === key ? String(value) : text;
}

export function section(title, body) {
  return `<section class="section"><h4>${esc(title)}</h4>${body}</section>`;
}
