// The answer for a point: sub-zone, the chosen activity's verdict, facts, overlays, intensity,
// activities by class, overlapping features and the source attributes.

import { CLASS_ORDER, classLabel, clsKey } from './classes.js';
import { esc, fmt, fmtValue, safeColor } from './format.js';
import { t } from './i18n.js';
import {
  conditionsHtml, intensityTable, labelOf, planHtml, planText, section, selectedTitle, tableWrap,
  tierRange, unregulated, unregulatedHtml, verdictHtml, word,
} from './render.js';

/** Short descriptions of Permen ATR/BPN 14/2021 overlay fields (proper names: one language). */
const OVERLAY_NAMES = {
  KKOP_1: 'Kawasan Keselamatan Operasi Penerbangan',
  LP2B_2: 'Lahan Pertanian Pangan Berkelanjutan',
  KRB_03: 'Kawasan Rawan Bencana',
  TOD_04: 'Kawasan Berorientasi Transit (TOD)',
  TEB_05: 'Tempat Evakuasi Bencana',
  CAGBUD: 'Cagar Budaya',
  KSMPDN: 'Kawasan Sempadan',
  HANKAM: 'Pertahanan dan Keamanan',
  KKARST: 'Kawasan Karst',
  RESAIR: 'Kawasan Resapan Air',
  TPZ_00: 'Teknik Pengaturan Zonasi',
};
const NO_VALUE = /^(tidak\s*ada|-|none|null|n\/?a)?$/i;

/** The verdict of the selected activity at the point, or '' when none is chosen. */
function pointVerdict(d, sel, activityError) {
  const sz = d.subzone || {};
  const code = sz.code || '?';
  const notRuled = unregulated(d.rules);
  const a = d.activity;
  if (a && !a.class && (a.message || notRuled)) {
    return verdictHtml({
      cls: null,
      noBadge: true,
      label: t('unregulated.short'),
      title: a.kbli ? `KBLI ${a.kbli} ${a.kbli_title || ''}` : selectedTitle(sel),
      detail: a.message || t('unregulated.subzone', { code }),
    });
  }
  if (a) {
    return verdictHtml({
      cls: a.class,
      label: labelOf(a.class, a.class_label),
      title: `KBLI ${a.kbli} ${a.kbli_title || ''}`,
      detail: t('activity.verdict.detail', { name: a.name, id: a.id, code }),
      conditions: a.conditions,
    });
  }
  if (activityError) {
    return verdictHtml({ cls: null, label: t('activity.cannot'), title: selectedTitle(sel), detail: activityError });
  }
  if (sel.activityId && notRuled) {
    return verdictHtml({
      cls: null,
      noBadge: true,
      label: t('unregulated.short'),
      title: selectedTitle(sel),
      detail: t('unregulated.subzone', { code }),
    });
  }
  if (sel.activityId) {
    // An activity without a KBLI code (housing types): find it in this sub-zone's lists.
    let found = null;
    for (const [cls, group] of Object.entries(d.activities || {})) {
      const hit = ((group && group.activities) || []).find((x) => x.id === sel.activityId);
      if (hit) { found = { ...hit, class: hit.class || cls }; break; }
    }
    return found
      ? verdictHtml({
        cls: found.class,
        label: labelOf(found.class, found.class_label),
        title: `${found.name} (${found.id})`,
        detail: t('activity.in', { code }),
        conditions: found.conditions,
      })
      : verdictHtml({
        cls: null,
        label: t('activity.notinmatrix'),
        title: selectedTitle(sel),
        detail: t('activity.notinmatrix.detail', { code }),
      });
  }
  return '';
}

function headHtml(sz) {
  const zone = sz.zone || {};
  const meta = [zone.name || zone.code, zone.kind ? word('kind', zone.kind) : '', sz.catalog_code ? t('fact.code', { code: sz.catalog_code }) : '']
    .filter(Boolean).join(' · ');
  return `<header class="result-head">
    <span class="swatch swatch-lg" style="background:${safeColor(sz.color)}" aria-hidden="true"></span>
    <div>
      <h3><span class="code">${esc(sz.code || '?')}</span>${esc(sz.name || '')}</h3>
      <p class="muted small">${esc(meta)}</p>
    </div>
  </header>`;
}

function factsHtml(d) {
  const block = [d.block, d.subblock].filter((x) => x !== null && x !== undefined && x !== '');
  return `<section class="section"><dl class="facts">
    <dt>${esc(t('fact.kelurahan'))}</dt><dd>${esc(d.kelurahan || '–')}</dd>
    <dt>${esc(t('fact.kecamatan'))}</dt><dd>${esc(d.kecamatan || '–')}</dd>
    <dt>${esc(t('fact.block'))}</dt><dd>${esc(block.length ? block.join(' / ') : '–')}</dd>
    <dt>${esc(t('fact.plan'))}</dt><dd>${planHtml(d.plan)}</dd>
    <dt>${esc(t('fact.coordinates'))}</dt><dd class="mono">${esc(fmt(d.lon, 6))}, ${esc(fmt(d.lat, 6))}</dd>
  </dl></section>`;
}

function overlaysHtml(overlays) {
  const entries = overlays && typeof overlays === 'object' && !Array.isArray(overlays)
    ? Object.entries(overlays) : [];
  const active = entries.filter(([, v]) => !(v === null || v === undefined || v === false
    || (typeof v === 'string' && NO_VALUE.test(v.trim()))));
  const body = active.length
    ? `<ul class="overlays">${active.map(([k, v]) => `<li>
        <span class="ov-field">${esc(k)}</span>: ${esc(fmtValue(v))}
        ${OVERLAY_NAMES[k] ? `<div class="ov-desc">${esc(OVERLAY_NAMES[k])}</div>` : ''}
      </li>`).join('')}</ul>`
    : `<p class="muted small">${esc(t('overlays.none'))}</p>`;
  return section(t('overlays.title'), body);
}

function kbliList(codes) {
  if (!Array.isArray(codes) || codes.length === 0) return '';
  const shown = codes.slice(0, 8).map(esc).join(', ');
  const more = codes.length > 8 ? t('activities.more', { n: codes.length - 8 }) : '';
  return `<div class="act-kbli">KBLI ${shown}${esc(more)}</div>`;
}

function activitiesHtml(groups, selectedId) {
  if (!groups || typeof groups !== 'object') return '';
  const keys = [...CLASS_ORDER, ...Object.keys(groups).filter((k) => !CLASS_ORDER.includes(k))];
  const sections = keys.filter((k) => groups[k] && Array.isArray(groups[k].activities)).map((k) => {
    const list = groups[k].activities;
    const hasSelected = selectedId && list.some((a) => a.id === selectedId);
    const items = list.map((a) => `<li${a.id === selectedId ? ' class="is-selected"' : ''}>
        <div><span class="act-id">${esc(a.id)}</span> ${esc(a.name)}</div>
        ${kbliList(a.kbli)}
        ${conditionsHtml(a.conditions)}
      </li>`).join('');
    const title = CLASS_ORDER.includes(k) ? classLabel(k) : (groups[k].label || k);
    return `<details class="group"${hasSelected ? ' open' : ''}>
      <summary><span class="badge cls-${clsKey(k)}">${esc(k)}</span> ${esc(title)}
        <span class="count">(${esc(list.length)})</span></summary>
      <div class="group-body"><ul class="activity-list">${items}</ul></div>
    </details>`;
  });
  if (!sections.length) return '';
  return `<section class="section"><h4>${esc(t('activities.title'))}</h4>${sections.join('')}</section>`;
}

function overlapsHtml(overlaps, precedence) {
  if (!Array.isArray(overlaps) || overlaps.length === 0) return '';
  const items = overlaps.filter((o) => o && typeof o === 'object').map((o) => {
    // The sub-zone is an object {code, name, color, …} (a plain code in older answers; null if unknown).
    const sz = o.subzone && typeof o.subzone === 'object' ? o.subzone : { code: o.subzone, name: o.subzone_name };
    return `<li>
      ${sz.color ? `<span class="swatch" style="background:${safeColor(sz.color)}" aria-hidden="true"></span>` : ''}
      <span class="mono">${esc(sz.code || '?')}</span> ${esc(sz.name || '')}
      <div class="small muted">${esc(planText(o.plan))} · ${esc(t('overlaps.feature', { id: o.feature_id ?? '?' }))}</div>
    </li>`;
  }).join('');
  const note = precedence
    ? `<p class="small muted">${esc(t('overlaps.precedence', { order: precedence }))}</p>` : '';
  return `<section class="section"><h4>${esc(t('overlaps.title'))}</h4>
    <div class="message warn"><p>${esc(t('overlaps.point'))}</p>
    <ul class="activity-list">${items}</ul></div>${note}</section>`;
}

function attributesHtml(attrs) {
  if (!attrs || typeof attrs !== 'object') return '';
  const entries = Object.entries(attrs);
  if (!entries.length) return '';
  const rows = entries.map(([k, v]) =>
    `<tr><th scope="row">${esc(k)}</th><td>${esc(fmtValue(v))}</td></tr>`).join('');
  return `<section class="section"><details class="group">
    <summary>${esc(t('attributes.title'))} <span class="count">(${esc(entries.length)})</span></summary>
    <div class="group-body">${tableWrap(`<table class="kv"><tbody>${rows}</tbody></table>`)}</div>
  </details></section>`;
}

/** The whole answer for a point (`d` is the API's answer with the point asked, lon and lat). */
export function renderPoint(d, sel, activityError) {
  const sz = d.subzone || {};
  const notRuled = unregulated(d.rules);
  const parts = [headHtml(sz)];
  if (notRuled) parts.push(unregulatedHtml(d.rules.message));
  if (sel) parts.push(pointVerdict(d, sel, activityError));
  parts.push(factsHtml(d));
  // "What changed here": filled in by the regulation module once the plan's versions are known.
  parts.push('<section class="section changes" id="changes-section" hidden></section>');
  parts.push(overlaysHtml(d.overlays));
  const tiers = Array.isArray(d.intensity) ? d.intensity.filter((x) => x && typeof x === 'object') : [];
  const noIntensity = `<p class="muted small">${esc(t(notRuled ? 'unregulated.short' : 'intensity.empty'))}</p>`;
  parts.push(section(t('intensity.title'),
    tiers.length ? intensityTable(tiers.map((x) => [esc(tierRange(x)), x]), t('col.parcelsize')) : noIntensity));
  if (notRuled) {
    parts.push(section(t('activities.title'), `<p class="muted small">${esc(t('activities.unregulated'))}</p>`));
  } else {
    parts.push(activitiesHtml(d.activities, d.activity ? d.activity.id : (sel && sel.activityId)));
  }
  parts.push(overlapsHtml(d.overlaps, d.precedence));
  parts.push(attributesHtml(d.attributes));
  parts.push(reportLink(d));
  return parts.join('');
}

/** The way from the answer to a report of a violation at the same point (the form opens with the
 *  point and shows the plan's answer again). */
function reportLink(d) {
  if (!Number.isFinite(Number(d.lon)) || !Number.isFinite(Number(d.lat))) return '';
  // Plain decimals (the page's number format writes Indonesian commas).
  const href = `/lapor?lon=${Number(d.lon).toFixed(6)}&lat=${Number(d.lat).toFixed(6)}`;
  return `<section class="section"><p><a class="btn" id="report-here" href="${esc(href)}">${esc(t('report.here'))}</a></p>
    <p class="muted small">${esc(t('report.why'))}</p></section>`;
}
