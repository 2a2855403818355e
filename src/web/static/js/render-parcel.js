// The answer for a parcel: its area, the activity's strictest class, the parts by sub-zone with
// their limits in m² and metres, the totals over the buildable parts, overlaps and tiers used.

import { clsKey } from './classes.js';
import { esc, fmt, fmtArea, fmtDate, fmtOpt, fmtPct, isNum, safeColor } from './format.js';
import { t } from './i18n.js';
import { messageHtml } from './panel.js';
import {
  conditionsHtml, heightText, intensityTable, labelOf, planText, selectedTitle, tableWrap, th,
  tierRange, unregulatedHtml, verdictHtml, word,
} from './render.js';

const codeOf = (p) => (p.subzone && typeof p.subzone === 'object' && p.subzone.code) || '?';
// Older answers have no `regulated` / `buildable`: only an explicit false marks a part.
const isUnregulated = (p) => p.regulated === false;
const isNotBuildable = (p) => p.buildable === false && !isUnregulated(p);

function regulationHtml(d, parts) {
  const plans = new Map();
  for (const p of parts) {
    if (p.plan && typeof p.plan === 'object') plans.set(p.plan.version_id ?? planText(p.plan), p.plan);
  }
  return [
    d.at ? `<p class="muted small">${esc(t('parcel.at', { day: fmtDate(d.at) }))}</p>` : '',
    ...[...plans.values()].map((pl) => `<p class="muted small">${esc(planText(pl))}</p>`),
  ].join('');
}

function areaHtml(d, parts) {
  return `<section class="section">
    <p class="section-title">${esc(t('parcel.area'))}</p>
    <p class="big-number">${esc(fmtArea(d.area_m2))} m²</p>
    <p class="muted small">${esc(t('parcel.parts.count', { ha: fmt(Number(d.area_m2) / 10000, 4), n: parts.length }))}</p>
    ${regulationHtml(d, parts)}
    <p class="no-print"><button type="button" class="btn" id="print-parcel" title="${esc(t('parcel.print.title'))}">${esc(t('parcel.print'))}</button></p>
  </section>`;
}

function parcelVerdict(d, parts, sel, activityError) {
  if (d.activity_class) {
    const conditions = [];
    const seen = new Set();
    for (const p of parts) {
      for (const c of (p.activity && p.activity.conditions) || []) {
        if (!seen.has(c.code)) { seen.add(c.code); conditions.push(c); }
      }
    }
    const first = parts.find((p) => p.activity);
    return verdictHtml({
      cls: d.activity_class,
      label: labelOf(d.activity_class),
      title: first && first.activity.kbli
        ? `KBLI ${first.activity.kbli} ${first.activity.kbli_title || ''}` : selectedTitle(sel),
      detail: parts.length > 1 ? t('parcel.strictest') : '',
      conditions,
      note: parts.some((p) => p.activity && !p.activity.class) ? t('parcel.partlyunregulated') : '',
    });
  }
  if (activityError) {
    return verdictHtml({ cls: null, label: t('activity.cannot'), title: selectedTitle(sel), detail: activityError });
  }
  if (sel.kbli && parts.some((p) => p.activity)) {
    // Asked about, but no part of the parcel is regulated: no class anywhere.
    const first = parts.find((p) => p.activity);
    return verdictHtml({
      cls: null,
      noBadge: true,
      label: t('unregulated.short'),
      title: first.activity.kbli ? `KBLI ${first.activity.kbli} ${first.activity.kbli_title || ''}` : selectedTitle(sel),
      detail: first.activity.message || t('parcel.noregulated'),
    });
  }
  if (!sel.kbli) {
    return verdictHtml({ cls: null, label: t('parcel.needkbli'), title: selectedTitle(sel), detail: t('parcel.needkbli.detail') });
  }
  return '';
}

function floorCell(l) {
  if (!l) return '–';
  const min = Number(l.min_floor_area_m2) > 0
    ? ` <span class="muted small">(min ${esc(fmtArea(l.min_floor_area_m2))})</span>` : '';
  return `${esc(fmtArea(l.max_floor_area_m2))}${min}`;
}

function limitCells(l) {
  return l && typeof l === 'object'
    ? `<td>${esc(fmtArea(l.max_footprint_m2))}</td>
       <td>${floorCell(l)}</td>
       <td>${esc(fmtArea(l.min_green_m2))}</td>
       <td>${esc(fmtArea(l.max_basement_m2))}</td>
       <td>${esc(heightText(l.max_height_m, l.max_floors))}</td>
       <td>${esc(fmtOpt(l.gsb_m, 1))}</td>`
    : '<td>–</td><td>–</td><td>–</td><td>–</td><td>–</td><td>–</td>';
}

function activityCell(a, asked) {
  if (!a) return asked ? '<td>–</td>' : '';
  if (!a.class) {
    return `<td><span class="tag" title="${esc(a.message || '')}">${esc(t('unregulated.tag'))}</span></td>`;
  }
  return `<td><span class="badge cls-${clsKey(a.class)}" title="${esc(labelOf(a.class))}">${esc(a.class)}</span></td>`;
}

function partRow(p, asked) {
  const sz = p.subzone && typeof p.subzone === 'object' ? p.subzone : {};
  const tags = [
    isUnregulated(p) ? `<span class="tag tag-warn" title="${esc(t('unregulated.tag.title'))}">${esc(t('unregulated.tag'))}</span>` : '',
    isNotBuildable(p) ? `<span class="tag" title="${esc(t('parcel.notbuildable.title'))}">${esc(t('parcel.notbuildable.tag'))}</span>` : '',
  ].filter(Boolean).join(' ');
  const zoneArea = isNum(p.zone_area_m2) && Number(p.zone_area_m2) - (Number(p.area_m2) || 0) >= 0.5
    ? `<div class="muted small" title="${esc(t('parcel.zonearea.title'))}">${esc(t('parcel.zonearea', { area: fmtArea(p.zone_area_m2) }))}</div>`
    : '';
  const limits = isUnregulated(p) && !p.limits
    ? `<td colspan="6" class="muted">${esc(t('parcel.unregulated.cells'))}</td>`
    : limitCells(p.limits);
  return `<tr${isUnregulated(p) || isNotBuildable(p) ? ' class="row-muted"' : ''}>
    <th scope="row"><span class="swatch" style="background:${safeColor(sz.color)}" aria-hidden="true"></span>
      <span class="mono" title="${esc(sz.name || '')}">${esc(sz.code || '?')}</span>
      ${p.block ? `<span class="muted small">${esc(t('parcel.block', { block: p.block }))}</span>` : ''}
      ${tags ? `<div>${tags}</div>` : ''}</th>
    <td>${esc(fmtArea(p.area_m2))}${zoneArea}</td>
    <td>${esc(fmtPct(p.share))}</td>
    ${limits}
    ${activityCell(p.activity, asked)}
  </tr>`;
}

/** The parts table with the totals (over the buildable parts) and the rows not counted in them. */
function partsHtml(d, parts, asked) {
  const outside = d.outside_plan || { area_m2: 0, share: 0 };
  const colspan = asked ? 10 : 9;
  const head = `<tr>
    <th scope="col">${esc(t('col.subzone'))}</th>
    ${th('parcel.col.area')}
    <th scope="col">${esc(t('parcel.col.share'))}</th>
    ${th('parcel.col.footprint')}${th('parcel.col.floor')}${th('parcel.col.green')}${th('parcel.col.basement')}
    <th scope="col">${esc(t('col.height'))}</th>
    <th scope="col">${esc(t('col.gsb'))}</th>
    ${asked ? `<th scope="col">${esc(t('parcel.col.activity'))}</th>` : ''}
  </tr>`;
  // Totals: an object {rule, buildable, buildable_m2, not_buildable_m2, unregulated_m2}; older
  // servers sent the Limits object itself (or null).
  const tot = d.totals && typeof d.totals === 'object' ? d.totals : null;
  const newTotals = !!tot && ('buildable' in tot || 'rule' in tot || 'buildable_m2' in tot);
  const insideArea = parts.reduce((s, p) => s + (Number(p.area_m2) || 0), 0);
  const insideShare = parts.reduce((s, p) => s + (Number(p.share) || 0), 0);
  const parcelArea = Number(d.area_m2);
  const shareOf = (a) => (isNum(a) && parcelArea > 0 ? Number(a) / parcelArea : null);
  const totalArea = newTotals && isNum(tot.buildable_m2) ? Number(tot.buildable_m2) : insideArea;
  const totalShare = newTotals && isNum(tot.buildable_m2) ? shareOf(tot.buildable_m2) : insideShare;
  const totals = `<tr class="row-total">
      <td class="cell-wrap">${esc(t(newTotals ? 'parcel.total.buildable' : 'parcel.total'))}</td>
      <td>${esc(fmtArea(totalArea))}</td>
      <td>${esc(fmtPct(totalShare))}</td>
      ${limitCells(newTotals ? tot.buildable : tot)}
      ${asked ? `<td>${d.activity_class ? `<span class="badge cls-${clsKey(d.activity_class)}">${esc(d.activity_class)}</span>` : '–'}</td>` : ''}
    </tr>`;
  const extraRow = (label, area, text) => (isNum(area) && Number(area) > 0
    ? `<tr class="row-outside"><td class="cell-wrap">${esc(label)}</td><td>${esc(fmtArea(area))}</td>
        <td>${esc(fmtPct(shareOf(area)))}</td><td colspan="${colspan - 3}">${esc(text)}</td></tr>`
    : '');
  const rows = [
    ...parts.map((p) => partRow(p, asked)),
    totals,
    newTotals ? extraRow(t('parcel.notbuildable'), tot.not_buildable_m2, t('parcel.notbuildable.text')) : '',
    newTotals ? extraRow(t('parcel.unregulated'), tot.unregulated_m2, t('parcel.unregulated.text')) : '',
    Number(outside.area_m2) > 0
      ? `<tr class="row-outside"><td>${esc(t('parcel.outsideplan'))}</td><td>${esc(fmtArea(outside.area_m2))}</td>
          <td>${esc(fmtPct(outside.share))}</td><td colspan="${colspan - 3}">${esc(t('parcel.outsideplan.text'))}</td></tr>`
      : '',
  ].join('');
  return `<section class="section"><h4>${esc(t('parcel.parts'))}</h4>
    ${tableWrap(`<table><thead>${head}</thead><tbody>${rows}</tbody></table>`)}
    <p class="small muted">${esc(t(newTotals ? 'parcel.totals.note.new' : 'parcel.totals.note.old'))}
      ${esc(t('parcel.outside.note', { area: fmtArea(outside.area_m2), share: fmtPct(outside.share) }))}</p>
    ${newTotals && tot.rule ? `<p class="small muted">${esc(t('parcel.rule', { rule: t('parcel.rule.text') }))}</p>` : ''}
  </section>`;
}

/** Where zones overlap inside the parcel: each area counted once, for the ruling zone. */
function parcelOverlapsHtml(overlaps, precedence, parts) {
  if (!Array.isArray(overlaps) || overlaps.length === 0) return '';
  const codes = new Map(parts.map((p) => [p.feature_id, codeOf(p)]));
  const name = (id) => `${t('overlaps.feature', { id: id ?? '?' })}${codes.get(id) ? ` (${codes.get(id)})` : ''}`;
  const items = overlaps.filter((o) => o && typeof o === 'object').map((o) => `<li>${esc(t('overlaps.rules', {
    ruling: name(o.ruling_feature_id), overruled: name(o.overruled_feature_id), area: fmtArea(o.area_m2),
  }))}</li>`).join('');
  return `<section class="section"><h4>${esc(t('overlaps.title'))}</h4>
    <div class="message warn"><p>${esc(t('overlaps.parcel'))}</p>
      <ul class="activity-list">${items}</ul></div>
    ${precedence ? `<p class="small muted">${esc(t('overlaps.order', { order: precedence }))}</p>` : ''}
  </section>`;
}

/** What changed in each part since the version compared with (`compare_to`). */
function partChangesHtml(d, parts) {
  if (!d.compared_to) return '';
  const items = parts.filter((p) => p.changes && !p.changes.unchanged).map((p) => {
    const before = (p.changes.before || []).map((b) => {
      const code = b.subzone && b.subzone.code ? b.subzone.code : t('changes.outside');
      const differs = (b.differs || []).map((d) => word('differs', d));
      return differs.length ? `${code} (${differs.join(', ')})` : code;
    }).join('; ') || t('changes.outside');
    return `<li><span class="mono">${esc(codeOf(p))}</span> ← ${esc(before)}</li>`;
  });
  const a = d.compared_to.version;
  const b = parts[0] && parts[0].plan ? parts[0].plan.version : '?';
  const body = items.length
    ? `<p class="small">${esc(t('changes.differs', { a, b }))}</p><ul class="activity-list">${items.join('')}</ul>`
    : `<p class="small muted">${esc(t('changes.same', { a, b }))}</p>`;
  return `<section class="section"><h4>${esc(t('changes.title'))}</h4>${body}</section>`;
}

/** The whole answer for a parcel. */
export function renderParcel(d, sel, activityError) {
  const parts = (Array.isArray(d.parts) ? d.parts : []).filter((p) => p && typeof p === 'object');
  const asked = parts.some((p) => p.activity) || d.activity_class !== undefined;
  const html = [areaHtml(d, parts)];
  if (sel) html.push(parcelVerdict(d, parts, sel, activityError));
  if (!parts.length) {
    html.push(messageHtml(t('parcel.outside'), 'warn'));
    return html.join('');
  }
  if (parts.every(isUnregulated)) {
    html.push(unregulatedHtml(parts.map((p) => p.activity && p.activity.message).find(Boolean)));
  }
  html.push(partsHtml(d, parts, asked));
  html.push(partChangesHtml(d, parts));
  html.push(parcelOverlapsHtml(d.overlaps, d.precedence, parts));
  // The tier each part was measured with (chosen by the whole parcel's area).
  html.push(`<section class="section"><details class="group">
    <summary>${esc(t('parcel.tiers'))}</summary>
    <div class="group-body">${intensityTable(parts.map((p) => [
      `${esc(codeOf(p))}${p.intensity ? ` <span class="muted small">${esc(tierRange(p.intensity))} m²</span>` : ''}`,
      p.intensity || null,
      isUnregulated(p) ? t('parcel.unregulated.cells') : '',
    ]), t('col.subzone'))}</div>
  </details></section>`);
  const conds = parts.filter((p) => p.activity && p.activity.conditions && p.activity.conditions.length);
  if (conds.length) {
    html.push(`<section class="section"><h4>${esc(t('parcel.conditions'))}</h4>${conds.map((p) =>
      `<p class="small"><span class="mono">${esc(codeOf(p))}</span>: ${esc(labelOf(p.activity.class, p.activity.class_label))}</p>${conditionsHtml(p.activity.conditions)}`).join('')}</section>`);
  }
  return html.join('');
}
