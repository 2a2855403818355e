// DPPR staff's triage page (/reports/staff): sign in (a cookie session), the reports filtered by
// status, service, kecamatan and overdue, on a list and a map (the staff's tiles, hidden reports
// included), one report's plan at its point and history, and its next state with a note (public
// or internal). The allowed next states come from the API; the server checks them again.

import { call, date, h, makeMap, message } from './krk-status.js';
import { REPORT_STATUS } from './reports-common.js';
import { showSignIn, showStaff, wireSession } from './staff-session.js';

const $ = (id) => document.getElementById(id);
const view = { services: [], map: null, selected: null, next: null };
/** Reports a page of the list holds. */
const PAGE = 200;

function setStatus(text, error = false) {
  $('staff-status').textContent = text || '';
  $('staff-status').className = error ? 'error' : 'muted';
}

function serviceName(code) {
  const s = view.services.find((x) => x.service_code === code);
  return s ? s.service_name : code;
}

/** The filters as a query string. */
function filters() {
  const q = new URLSearchParams();
  if ($('f-status').value) q.set('status', $('f-status').value);
  if ($('f-service').value) q.set('service_code', $('f-service').value);
  if ($('f-kecamatan').value) q.set('kecamatan', $('f-kecamatan').value);
  if ($('f-overdue').checked) q.set('overdue', 'true');
  return q;
}

/** Whether the session is a staff member's: the sign-in form otherwise. */
async function isStaff() {
  try {
    const me = await call('GET', '/api/v1/me');
    if (me.role === 'staff' || me.role === 'admin') return true;
    showSignIn(`${me.name} bukan akun petugas DPPR: masuk dengan akun petugas.`);
  } catch (e) {
    showSignIn(e.status === 401 ? null : e.detail || e.message);
  }
  return false;
}

/** Loads the list from its start (`more`: the next page after the rows shown). */
async function loadList(more = false) {
  const q = filters();
  q.set('limit', String(PAGE));
  if (more && view.next) q.set('offset', String(view.next));
  let answer;
  try {
    answer = await call('GET', `/api/v1/reports?${q}`);
  } catch (e) {
    if (e.status === 401) showSignIn();
    else setStatus(e.detail || e.message, true);
    return false;
  }
  const reports = answer.reports || [];
  view.next = answer.next_offset;
  showStaff();
  const exportQuery = filters().toString();
  $('export-csv').href = `/api/v1/reports/export.csv${exportQuery ? `?${exportQuery}` : ''}`;
  $('export-geojson').href = `/api/v1/reports/export.geojson${exportQuery ? `?${exportQuery}` : ''}`;
  const rows = reports.map((r) => h('tr', { class: r.overdue ? 'overdue' : null, dataset: { id: r.id } },
    h('td', {}, h('button', { type: 'button', class: 'open', text: `#${r.id}`, onclick: () => openReport(r.id) })),
    h('td', { text: date(r.requested_at, true) }),
    h('td', { text: serviceName(r.service_code) }),
    h('td', { text: REPORT_STATUS[r.status] || r.status }),
    h('td', { text: r.kecamatan }),
    h('td', { text: (r.plan && r.plan.subzone && r.plan.subzone.code) || '–' }),
    h('td', {}, r.due_on || '–', r.overdue ? h('span', { class: 'tag-overdue', text: ' lewat' }) : ''),
  ));
  if (more) $('triage-rows').append(...rows);
  else $('triage-rows').replaceChildren(...rows);
  const shown = $('triage-rows').children.length;
  setStatus(view.next ? `${shown} laporan pertama ditampilkan; ada lagi` : `${shown} laporan`);
  $('triage-more').hidden = !view.next;
  return true;
}

async function openReport(id) {
  const r = await call('GET', `/api/v1/reports/${id}`);
  view.selected = r;
  const plan = r.plan || {};
  const sz = plan.subzone || {};
  const activity = plan.activity;
  const select = h('select', { id: 'next-status', 'aria-label': 'Status berikutnya' },
    ...(r.next || []).map((s) => h('option', { value: s, text: REPORT_STATUS[s] || s })));
  const note = h('textarea', { id: 'next-note', rows: 3, placeholder: 'Catatan (wajib untuk ditolak atau duplikat)' });
  const isPublic = h('input', { type: 'checkbox', id: 'next-public', checked: true });
  const duplicateOf = h('input', { type: 'number', id: 'next-duplicate', placeholder: 'nomor laporan asal (untuk duplikat)' });
  const result = h('div', { id: 'next-result', 'aria-live': 'assertive' });
  $('triage-detail').hidden = false;
  $('triage-detail').replaceChildren(
    h('h2', { text: `Laporan #${r.id} · ${REPORT_STATUS[r.status] || r.status}` }),
    h('p', { class: 'small muted', text: `${serviceName(r.service_code)} · ${r.kecamatan}, ${r.kelurahan} · ${r.source}${r.contactable ? ' · pelapor dapat dikabari' : ''}` }),
    h('p', { style: 'white-space: pre-wrap', text: r.description }),
    h('p', {}, h('strong', { text: 'Rencana di titik ini: ' }),
      sz.code ? `${sz.code} ${sz.name || ''} (${plan.plan ? `${plan.plan.plan}, versi ${plan.plan.version}` : ''})` : (plan.message || 'tidak ada zona')),
    activity ? h('p', { text: `Kegiatan KBLI ${activity.kbli} (${activity.kbli_title || ''}): kelas ${activity.class || '–'} ${activity.class_label || ''}` }) : '',
    r.photo_urls.length ? h('p', {}, ...r.photo_urls.map((p) => h('a', { href: p.url }, h('img', { src: p.thumbnail, alt: 'Foto', style: 'max-width: 96px; margin-right: 4px' })))) : '',
    h('h3', { text: 'Riwayat' }),
    h('ol', {}, ...r.events.map((e) => h('li', { text: `${date(e.at, true)} · ${REPORT_STATUS[e.status] || e.status}${e.actor ? ` · ${e.actor}` : ''}${e.note ? ` · ${e.note}${e.public ? '' : ' (internal)'}` : ''}` }))),
    h('h3', { text: 'Tindak lanjut' }),
    select, note, h('label', {}, isPublic, ' catatan publik (dikirim ke pelapor)'), duplicateOf,
    h('p', {}, h('button', {
      type: 'button', class: 'btn btn-primary', id: 'next-submit', text: 'Simpan status',
      onclick: async () => {
        const body = { status: select.value, note: note.value.trim() || null, public: isPublic.checked };
        if (select.value === 'duplicate') body.duplicate_of = Number(duplicateOf.value) || null;
        try {
          await call('POST', `/api/v1/reports/${r.id}/status`, { body });
          result.replaceChildren(message('ok', h('p', { text: `Status laporan #${r.id} disimpan.` })));
          await loadList();
          await openReport(r.id);
        } catch (e) {
          result.replaceChildren(message('error', h('p', { text: e.detail || e.message })));
        }
      },
    })),
    result,
  );
  if (view.map && Number.isFinite(r.lon)) view.map.easeTo({ center: [r.lon, r.lat], zoom: Math.max(view.map.getZoom(), 16) });
}

async function showMap() {
  const map = await makeMap($('triage-map'), {
    extraSources: { reports: { type: 'vector', tiles: [`${location.origin}/tiles/reports-staff/{z}/{x}/{y}.mvt`], minzoom: 10, maxzoom: 20 } },
    extraLayers: [{
      id: 'reports-pins', type: 'circle', source: 'reports', 'source-layer': 'reports',
      paint: {
        'circle-radius': ['case', ['has', 'count'], ['interpolate', ['linear'], ['get', 'count'], 1, 5, 100, 14], 5],
        'circle-color': ['case', ['==', ['get', 'overdue'], true], '#b91c1c', ['==', ['get', 'status'], 'hidden'], '#6b7280', '#1d4ed8'],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1,
      },
    }],
  });
  view.map = map;
  if (map) {
    // The reports' tiles start at zoom 10: the city's centre at 12.
    map.jumpTo({ center: [116.87, -1.24], zoom: 12 });
    map.on('click', 'reports-pins', (e) => {
      const f = e.features && e.features[0];
      if (f && f.properties && !('count' in f.properties)) openReport(f.id || f.properties.id);
    });
  }
}

async function init() {
  wireSession(async () => { if (await isStaff() && await loadList() && !view.map) showMap(); });
  $('triage-more').addEventListener('click', () => loadList(true));
  $('f-status').append(...Object.entries(REPORT_STATUS).map(([k, v]) => h('option', { value: k, text: v })));
  view.services = await call('GET', '/open311/v2/services.json');
  $('f-service').append(...view.services.map((s) => h('option', { value: s.service_code, text: s.service_name })));
  const areas = await call('GET', '/api/v1/reports/areas');
  $('f-kecamatan').append(...areas.kecamatan.map((k) => h('option', { value: k, text: k })));
  for (const id of ['f-status', 'f-service', 'f-kecamatan', 'f-overdue']) $(id).addEventListener('change', () => loadList());
  if (await isStaff() && await loadList()) showMap();
  window.triage = { view, openReport };
}

init();
