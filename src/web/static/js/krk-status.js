// The applicant's status page of a KRK (Keterangan Rencana Kota) application, at
// /krk/status/{id}#key=KEY: the key stays in the fragment (never in a request line, a log or a
// Referer) and goes to the API only as the X-Application-Key header, or as the `key` of the PDF's
// link.
//
// This module also holds what the three KRK pages share (krk-apply.js and krk-staff.js import it):
// the elements builder, Indonesian number and date formats, the draft's tables, the map with the
// zoning tiles and a parcel, and the API calls. The status page itself runs only where its page
// marks the body (data-page="krk-status"). Everything from the API reaches the page as text
// (textContent), never as HTML.

import { ApiError, resolveTemplate } from './api.js';
import { classShade, clsKey } from './classes.js';
import { CITY_BOUNDS, EMPTY, ZONE_COLOURS, warmUpGraphics } from './map.js';

// ---------- elements ----------

/**
 * An element: `attrs` sets properties (`class`, `text`, `dataset`, `style`, event handlers as
 * `onclick`, anything else as an attribute); `children` are nodes or strings (text).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'style') node.style.cssText = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// ---------- formats (always Indonesian: 1.234,5 m²; dates in WITA, Balikpapan's time) ----------

const isNum = (v) => v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v));

/** A number in Indonesian notation (1.234,5), or an en dash. */
export function num(v, frac = 1) {
  if (!isNum(v)) return '–';
  return Number(v).toLocaleString('id-ID', { maximumFractionDigits: frac });
}

/** An area in square metres: one decimal under 100 m², whole metres above. */
export function m2(v) {
  if (!isNum(v)) return '–';
  return `${num(v, Math.abs(Number(v)) < 100 ? 1 : 0)} m²`;
}

export function pct(share) {
  return isNum(share) ? `${num(Number(share) * 100, 1)} %` : '–';
}

/** A day (YYYY-MM-DD) or an instant as `26 November 2026` (with the time in WITA for instants). */
export function date(s, withTime = false) {
  if (!s) return '–';
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
  const d = day ? new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]), 12)) : new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  const options = { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Asia/Makassar' };
  if (withTime && !day) Object.assign(options, { hour: '2-digit', minute: '2-digit' });
  const text = d.toLocaleString('id-ID', options);
  return withTime && !day ? `${text} WITA` : text;
}

export const STATUS_LABEL = { submitted: 'Diajukan, menunggu pemeriksaan', issued: 'Terbit', refused: 'Ditolak' };
export const FUNCTION_LABEL = {
  hunian: 'Hunian', keagamaan: 'Keagamaan', usaha: 'Usaha', 'sosial-budaya': 'Sosial dan budaya',
  khusus: 'Khusus', campuran: 'Campuran',
};
export const CLASS_LABEL = {
  I: 'Diizinkan', T: 'Diizinkan terbatas', B: 'Diizinkan bersyarat', TB: 'Diizinkan terbatas dan bersyarat',
  X: 'Tidak diizinkan',
};

/** The badge of an application's status (an issued certificate may since have been revoked). */
export function statusBadge(app, id) {
  const revoked = app.status === 'issued' && app.revoked;
  return h('span', {
    class: `krk-badge krk-badge-${revoked ? 'revoked' : app.status}`, id, dataset: { status: revoked ? 'revoked' : app.status },
    text: revoked ? 'Terbit, kemudian dicabut' : STATUS_LABEL[app.status] || app.status,
  });
}

/** A class badge: the ITBX code on its map shade, with its name as the title. */
export function classBadge(code) {
  if (!code) return h('span', { class: 'muted', text: 'tidak diatur' });
  return h('span', {
    class: `krk-class krk-class-${clsKey(code)}`, style: `background:${classShade(code)}`,
    title: CLASS_LABEL[code] || code, text: code,
  });
}

// ---------- API ----------

/** A JSON call; throws ApiError with the problem+json `detail` (and `status`) on failure. */
export async function call(method, url, { body, headers = {} } = {}) {
  const options = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers['content-type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(url, options);
  } catch (e) {
    throw new ApiError(0, 'Server tidak dapat dihubungi. Periksa koneksi lalu coba lagi.');
  }
  const answer = await res.json().catch(() => null);
  if (!res.ok) {
    const detail = (answer && (answer.detail || answer.title)) || `HTTP ${res.status}`;
    throw new ApiError(res.status, String(detail), answer && answer.title);
  }
  return answer;
}

/** The link of an application's certificate (the applicant's key, or none for staff). */
export function pdfLink(id, key) {
  const url = `/api/v1/krk/applications/${encodeURIComponent(id)}/certificate.pdf`;
  return key ? `${url}?key=${encodeURIComponent(key)}` : url;
}

/** The verification page of a number (its slashes kept: /verify/0001/KRK/DPPR/XI/2026). */
export function verifyLink(number, signature) {
  const path = `/verify/${String(number).split('/').map(encodeURIComponent).join('/')}`;
  return signature ? `${path}?s=${encodeURIComponent(signature)}` : path;
}

/** A same-origin path of a URL the server answered (its public base may differ from this origin). */
export function localPath(url) {
  try {
    const u = new URL(url, location.href);
    return u.pathname + u.search;
  } catch (e) {
    return url;
  }
}

/** A message box: kind is error, warn, ok or info. */
export function message(kind, ...children) {
  return h('div', { class: `krk-msg krk-msg-${kind}`, role: kind === 'error' ? 'alert' : null }, ...children);
}

// ---------- the draft ----------

function section(title, ...children) {
  return h('section', { class: 'krk-section' }, h('h3', { text: title }), ...children);
}

function table(head, rows, { className = '' } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: className },
      h('thead', {}, h('tr', {}, head.map((c) => (c instanceof Node ? c : h('th', { scope: 'col', text: c }))))),
      h('tbody', {}, rows)));
}

const cell = (content, attrs = {}) => h('td', attrs, content);

/** The limits of a part or of the whole parcel as label–value rows. */
function limitRows(limits) {
  const rows = [
    ['Luas lantai dasar (tapak) maksimum', m2(limits.max_footprint_m2), 'KDB × luas'],
    ['Luas seluruh lantai maksimum', m2(limits.max_floor_area_m2), 'KLB maks × luas'],
    ['Luas seluruh lantai minimum', m2(limits.min_floor_area_m2), 'KLB min × luas'],
    ['Ruang terbuka hijau minimum', m2(limits.min_green_m2), 'KDH × luas'],
    ['Luas basemen maksimum', m2(limits.max_basement_m2), 'KTB × luas'],
    ['Tinggi bangunan maksimum', isNum(limits.max_height_m) ? `${num(limits.max_height_m)} m` : '—', ''],
    ['Jumlah lantai maksimum', isNum(limits.max_floors) ? `${num(limits.max_floors, 0)} lantai` : '—', ''],
    ['Garis sempadan bangunan minimum', isNum(limits.gsb_m) ? `${num(limits.gsb_m)} m` : '—', 'GSB'],
  ];
  return rows.map(([label, value, note]) => h('tr', {},
    h('th', { scope: 'row', text: label }), h('td', { class: 'num', text: value }),
    h('td', { class: 'muted small', text: note })));
}

/** The plan versions the draft was computed from. */
function versionsText(versions) {
  return (versions || []).map((v) => {
    const reg = v.regulation ? ` (${v.regulation})` : '';
    return `${v.plan} versi ${v.version}, berlaku sejak ${date(v.effective_from)}${reg}`;
  }).join('; ') || '–';
}

/** The findings staff must look at (Indonesian sentences from the server). */
export function findingsBox(findings, { strong = false } = {}) {
  if (!findings || !findings.length) {
    return message('ok', h('p', { text: 'Tidak ada temuan: persil sepenuhnya diatur oleh rencana yang berlaku.' }));
  }
  return h('div', { class: `krk-msg krk-msg-warn krk-findings${strong ? ' krk-findings-strong' : ''}`, id: strong ? 'findings' : null },
    h('p', { class: 'krk-findings-title', text: `${findings.length} temuan perlu diperiksa` }),
    h('ul', {}, findings.map((f) => h('li', { text: f }))));
}

/**
 * The draft's tables: location, findings, the sub-zones of the parcel with their areas, the
 * building limits in m², the activity, road setbacks, protection zones and overlays.
 */
export function renderDraft(draft, { findings = true } = {}) {
  const d = draft || {};
  const totals = d.totals || {};
  const out = h('div', { class: 'krk-draft' });

  out.append(section('Lokasi dan rencana',
    h('dl', { class: 'facts' },
      h('dt', { text: 'Kelurahan' }), h('dd', { text: d.kelurahan || '–' }),
      h('dt', { text: 'Kecamatan' }), h('dd', { text: d.kecamatan || '–' }),
      h('dt', { text: 'Luas persil' }), h('dd', { class: 'krk-strong', text: m2(d.area_m2) }),
      h('dt', { text: 'Rencana' }), h('dd', { text: versionsText(d.versions) }),
      h('dt', { text: 'Dihitung pada' }), h('dd', { text: date(d.at, true) }))));

  // The applicant's pages: the same findings, said as what DPPR staff will look at.
  if (findings) out.append(section('Hal yang akan diperiksa petugas DPPR', findingsBox(d.findings)));

  const parts = d.parts || [];
  // The activity's class in each part, when the application names an activity.
  const withActivity = !!d.activity;
  const head = ['Sub-zona', 'Luas', 'Bagian', 'KDB', 'KLB', 'KDH', 'Tapak maks', 'Lantai maks'];
  if (withActivity) head.push('Kegiatan');
  const partRows = parts.map((p) => {
    const i = p.intensity;
    const tr = h('tr', { class: p.buildable ? '' : 'row-muted' },
      h('td', { class: 'cell-wrap' },
        h('span', { class: 'swatch', style: `background:${/^#[0-9a-fA-F]{6}$/.test(p.color || '') ? p.color : '#cccccc'}` }),
        h('b', { text: p.subzone || '–' }), ' ', p.name || '',
        p.buildable ? null : [' ', h('span', { class: 'tag tag-warn', text: 'tidak boleh dibangun' })]),
      cell(m2(p.area_m2), { class: 'num' }),
      cell(pct(p.share), { class: 'num' }),
      cell(i ? `${num(i.kdb_max)} %` : '—', { class: 'num' }),
      cell(i ? `${num(i.klb_min, 2)}–${num(i.klb_max, 2)}` : '—', { class: 'num' }),
      cell(i ? `${num(i.kdh_min)} %` : '—', { class: 'num' }),
      cell(p.limits ? m2(p.limits.max_footprint_m2) : '—', { class: 'num' }),
      cell(p.limits ? m2(p.limits.max_floor_area_m2) : '—', { class: 'num' }),
      withActivity ? cell(classBadge(p.activity_class)) : null);
    const rows = [tr];
    if (p.conditions && p.conditions.length) {
      rows.push(h('tr', { class: 'krk-conditions' }, h('td', { colspan: String(head.length), class: 'cell-wrap' },
        h('span', { class: 'muted', text: `Syarat ${p.subzone}: ` }), p.conditions.join(' · '))));
    }
    return rows;
  });
  out.append(section('Sub-zona di persil',
    parts.length
      ? table(head, partRows.flat(), { className: 'krk-parts' })
      : message('warn', h('p', { text: 'Tidak ada rencana yang berlaku di persil ini.' })),
    h('p', { class: 'hint' },
      `Dapat dibangun ${m2(totals.buildable_m2)} · tidak boleh dibangun ${m2(totals.not_buildable_m2)}`,
      ` · tidak diatur ${m2(totals.unregulated_m2)} · di luar rencana ${m2(totals.outside_plan_m2)}`)));

  out.append(section('Batas bangunan untuk seluruh persil',
    totals.limits
      ? table([h('th', { scope: 'col', text: 'Ketentuan' }), h('th', { scope: 'col', text: 'Nilai' }), h('th', { scope: 'col', text: '' })],
        limitRows(totals.limits), { className: 'krk-limits' })
      : message('warn', h('p', { text: 'Rencana tidak menetapkan batas bangunan untuk persil ini.' }))));

  if (d.activity) {
    const a = d.activity;
    out.append(section('Kegiatan yang diajukan',
      h('div', { class: `verdict cls-${clsKey(a.class)}` },
        h('div', { class: 'verdict-head' },
          h('span', { class: 'verdict-class', text: a.class || '–' }),
          h('span', { class: 'verdict-label', text: a.class ? CLASS_LABEL[a.class] || a.class : 'Tidak diatur' })),
        h('p', { text: `KBLI ${a.kbli} ${a.title || ''}` }))));
  }

  const roads = d.roads || [];
  out.append(section('Jalan dan sempadan',
    h('p', {}, 'Garis sempadan bangunan muka: ', h('b', { text: isNum(totals.front_setback_m) ? `${num(totals.front_setback_m)} m` : '—' })),
    roads.length
      ? table(['Jalan', 'Lebar', 'Panjang muka persil', 'Sempadan'], roads.map((r) => h('tr', {},
        cell(r.class || '–'), cell(`${num(r.width_m)} m`, { class: 'num' }),
        cell(`${num(r.frontage_m)} m`, { class: 'num' }), cell(`${num(r.setback_m)} m`, { class: 'num' }))))
      : h('p', { class: 'muted', text: 'Persil tidak berbatasan dengan jalan yang tercatat.' })));

  const protection = d.protection || [];
  if (protection.length) {
    out.append(section('Kawasan perlindungan',
      table(['Perlindungan', 'Sub-zona', 'Panjang batas', 'Luas di dalam'], protection.map((p) => h('tr', {},
        cell(p.what || '–', { class: 'cell-wrap' }), cell(p.subzone || '–'),
        cell(`${num(p.frontage_m)} m`, { class: 'num' }), cell(m2(p.inside_m2), { class: 'num' }))))));
  }

  const overlays = d.overlays || [];
  out.append(section('Ketentuan khusus (overlay)',
    overlays.length
      ? h('ul', { class: 'overlays' }, overlays.map((o) => h('li', {}, h('span', { class: 'ov-field', text: o.field }), ': ', o.value)))
      : h('p', { class: 'muted', text: 'Tidak ada ketentuan khusus.' })));

  return out;
}

// ---------- the map ----------

let mapLibre = null;

/** MapLibre's script and stylesheet, once per page. */
function loadMapLibre() {
  if (!mapLibre) {
    const css = h('link', { rel: 'stylesheet', href: '/static/vendor/maplibre-gl.css' });
    document.head.append(css);
    mapLibre = Promise.all([warmUpGraphics(), new Promise((resolve, reject) => {
      const script = h('script', { src: '/static/vendor/maplibre-gl.js' });
      script.onload = () => (window.maplibregl ? resolve(window.maplibregl) : reject(new Error('no maplibregl')));
      script.onerror = () => reject(new Error('maplibre-gl.js did not load'));
      document.head.append(script);
    })]).then(([, gl]) => gl);
  }
  return mapLibre;
}

/** The parcel (a GeoJSON geometry or Feature) as a FeatureCollection. */
export function parcelData(parcel) {
  if (!parcel) return EMPTY;
  const geometry = parcel.type === 'Feature' ? parcel.geometry : parcel;
  return geometry ? { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry }] } : EMPTY;
}

/** The bounds [[w, s], [e, n]] of every coordinate of a geometry. */
export function bounds(parcel) {
  const xs = [];
  const ys = [];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      xs.push(c[0]);
      ys.push(c[1]);
    } else c.forEach(walk);
  };
  const geometry = parcel && (parcel.type === 'Feature' ? parcel.geometry : parcel);
  if (!geometry || !geometry.coordinates) return null;
  walk(geometry.coordinates);
  return xs.length ? [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]] : null;
}

/**
 * A map in `container`: the kelurahan boundaries, the zoning vector tiles, and a `parcel` source
 * (outlined in blue). Settles with the map once its style has loaded; null when MapLibre cannot
 * be loaded (the container says so).
 */
export async function makeMap(container, { parcel = null, extraSources = {}, extraLayers = [] } = {}) {
  let gl;
  try {
    gl = await loadMapLibre();
  } catch (e) {
    container.replaceChildren(h('p', { class: 'krk-map-failed', text: 'Peta tidak dapat dimuat.' }));
    return null;
  }
  const box = bounds(parcel);
  const map = new gl.Map({
    container,
    style: {
      version: 8,
      sources: { admin: { type: 'geojson', data: EMPTY }, parcel: { type: 'geojson', data: parcelData(parcel) }, ...extraSources },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } },
        {
          id: 'admin-fill', type: 'fill', source: 'admin', filter: ['==', ['get', 'tingkat'], 'kelurahan'],
          paint: { 'fill-color': ['to-color', ['get', 'paper'], '#fbfaf5'], 'fill-antialias': false },
        },
        {
          id: 'admin-line', type: 'line', source: 'admin', filter: ['==', ['get', 'tingkat'], 'kelurahan'],
          paint: { 'line-color': '#9aa3ae', 'line-width': 0.8 },
        },
        { id: 'parcel-fill', type: 'fill', source: 'parcel', paint: { 'fill-color': '#1d4ed8', 'fill-opacity': 0.12 } },
        {
          id: 'parcel-line', type: 'line', source: 'parcel', layout: { 'line-join': 'round' },
          paint: { 'line-color': '#1d4ed8', 'line-width': 3 },
        },
        ...extraLayers,
      ],
    },
    ...(box ? { bounds: box, fitBoundsOptions: { padding: 50, maxZoom: 18 } } : { bounds: CITY_BOUNDS, fitBoundsOptions: { padding: 10 } }),
    maxZoom: 20,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  // The page lays itself out around the map after it is made (panels open, results appear): the
  // map follows its box, or a strip of it stays blank and the scale bar collapses.
  if (typeof ResizeObserver === 'function') new ResizeObserver(() => map.resize()).observe(container);
  map.addControl(new gl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new gl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    if (e && e.error) console.warn('map:', e.error.message || e.error);
  });
  await new Promise((resolve) => map.on('load', resolve));
  container.dataset.state = 'loaded';
  addAdmin(map);
  addZoning(map);
  return map;
}

async function addAdmin(map) {
  try {
    const res = await fetch('/data/balikpapan_admin.geojson');
    if (res.ok) map.getSource('admin').setData(await res.json());
  } catch (e) {
    // The map works without the boundaries.
  }
}

/** The zoning tiles under the parcel, when the server publishes them. */
async function addZoning(map) {
  let tilejson;
  try {
    const res = await fetch('/tiles/zoning.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) return;
    tilejson = await res.json();
  } catch (e) {
    return;
  }
  if (!tilejson || !Array.isArray(tilejson.tiles) || !tilejson.tiles.length) return;
  const source = { type: 'vector', tiles: tilejson.tiles.map((u) => resolveTemplate(String(u), '/tiles/zoning.json')) };
  for (const key of ['minzoom', 'maxzoom', 'bounds', 'scheme']) {
    if (tilejson[key] !== undefined && tilejson[key] !== null) source[key] = tilejson[key];
  }
  map.addSource('zoning', source);
  map.addLayer({
    id: 'zoning-fill', type: 'fill', source: 'zoning', 'source-layer': 'zoning',
    paint: { 'fill-color': ZONE_COLOURS, 'fill-opacity': 0.55, 'fill-antialias': false },
  }, 'admin-line');
  map.addLayer({
    id: 'zoning-line', type: 'line', source: 'zoning', 'source-layer': 'zoning',
    paint: { 'line-color': '#374151', 'line-opacity': 0.35, 'line-width': 0.6 },
  }, 'admin-line');
}

/** Puts `parcel` on the map and zooms to it. */
export function showParcel(map, parcel) {
  if (!map) return;
  map.getSource('parcel').setData(parcelData(parcel));
  const box = bounds(parcel);
  if (box) map.fitBounds(box, { padding: 50, maxZoom: 18, duration: 0 });
}

// ---------- the status page ----------

function statusPage() {
  const $ = (id) => document.getElementById(id);
  const root = $('status-body');
  const id = decodeURIComponent(location.pathname.replace(/^\/krk\/status\//, '').replace(/\/+$/, ''));
  const key = new URLSearchParams(location.hash.slice(1)).get('key');

  const fail = (text, hint) => {
    $('status-loading').hidden = true;
    root.replaceChildren(message('error', h('p', { text }), hint ? h('p', { class: 'small', text: hint }) : null));
  };

  if (!id || id.includes('/') || !key) $('status-reload').hidden = true;
  if (!id || id.includes('/')) {
    fail('Alamat halaman ini tidak lengkap: nomor permohonan tidak ada.');
    return;
  }
  if (!key) {
    fail('Tautan ini tidak memuat kunci permohonan.',
      'Buka tautan lengkap yang Anda simpan saat mengajukan (berakhiran #key=…).');
    return;
  }

  const show = async () => {
    let app;
    try {
      app = await call('GET', `/api/v1/krk/applications/${encodeURIComponent(id)}`, { headers: { 'X-Application-Key': key } });
    } catch (e) {
      if (e.status === 401 || e.status === 403 || e.status === 404) {
        fail('Permohonan tidak ditemukan atau kuncinya salah.', 'Periksa bahwa tautan disalin lengkap.');
      } else fail(`Status permohonan tidak dapat dimuat: ${e.detail || e.message}`);
      return;
    }
    $('status-loading').hidden = true;
    const badge = statusBadge(app, 'application-status');
    const facts = h('dl', { class: 'facts' },
      h('dt', { text: 'Nomor permohonan' }), h('dd', { class: 'mono', text: app.id }),
      h('dt', { text: 'Pemohon' }), h('dd', { text: app.applicant ? app.applicant.name : '–' }),
      h('dt', { text: 'Alas hak' }), h('dd', { text: app.applicant ? `${app.applicant.title_kind} ${app.applicant.title_number}` : '–' }),
      h('dt', { text: 'Fungsi bangunan' }), h('dd', { text: FUNCTION_LABEL[app.building_function] || app.building_function }),
      h('dt', { text: 'Kegiatan (KBLI)' }), h('dd', { text: app.activity || '–' }),
      h('dt', { text: 'Luas persil' }), h('dd', { text: m2(app.parcel_area_m2) }),
      h('dt', { text: 'Diajukan' }), h('dd', { text: date(app.submitted_at, true) }),
      app.decided_at ? [h('dt', { text: 'Diputuskan' }), h('dd', { text: date(app.decided_at, true) })] : null);

    const outcome = [];
    if (app.status === 'submitted') {
      outcome.push(message('info', h('p', { text: 'Permohonan Anda sedang diperiksa petugas DPPR. Buka kembali tautan ini untuk melihat hasilnya.' })));
    } else if (app.status === 'refused') {
      outcome.push(message('error', h('p', { class: 'krk-strong', text: 'Permohonan ditolak.' }),
        h('p', {}, 'Alasan: ', h('span', { id: 'refusal-reason', text: app.refusal_reason || '–' }))));
    } else if (app.status === 'issued') {
      const box = message(app.revoked ? 'error' : 'ok',
        h('p', {}, 'KRK nomor ', h('b', { id: 'certificate-number', class: 'mono', text: app.number || '–' }), ' telah terbit.'),
        app.revoked ? h('p', { class: 'krk-strong', text: 'KRK ini telah DICABUT oleh DPPR dan tidak berlaku lagi.' }) : null,
        h('p', { class: 'krk-actions' },
          h('a', { class: 'btn btn-primary', id: 'certificate-pdf', href: pdfLink(app.id, key), download: '', text: 'Unduh KRK (PDF)' }),
          app.number ? h('a', { class: 'btn', id: 'certificate-verify', href: verifyLink(app.number), text: 'Halaman verifikasi' }) : null));
      outcome.push(box);
    }

    const mapBox = h('div', { class: 'krk-map krk-map-small', id: 'status-map', role: 'img', 'aria-label': 'Peta persil di atas zonasi' });
    root.replaceChildren(
      h('div', { class: 'krk-status-head' }, h('h2', { text: 'Status' }), badge),
      ...outcome,
      h('div', { class: 'krk-two' }, h('div', {}, facts), mapBox),
      h('h2', { class: 'krk-h2', text: app.status === 'issued' ? 'Ketentuan rencana pada persil (sesuai KRK)' : 'Rancangan ketentuan (sementara)' }),
      ...(app.status === 'issued' ? [] : [h('p', { class: 'hint', text: 'Rancangan dihitung saat pengajuan; ketentuan yang mengikat adalah yang tercantum dalam KRK yang terbit.' })]),
      renderDraft(app.draft));
    makeMap(mapBox, { parcel: app.parcel });
  };
  $('status-reload').addEventListener('click', () => {
    $('status-loading').hidden = false;
    show();
  });
  show();
}

/** Styles of what the KRK pages share (the pages' layouts are in their own documents). */
const SHARED_CSS = `
body.krk [hidden] { display: none !important; }
.krk-section { margin: 1.1rem 0; }
.krk-section > h3 { font-size: 0.82em; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; margin: 0 0 6px; }
.krk-draft table td.num, .krk-draft table th.num { text-align: right; }
.krk-draft .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; border: 1px solid rgba(0,0,0,.25); margin-right: 5px; vertical-align: -1px; }
.krk-draft .table-wrap:has(> table.krk-limits) { display: inline-block; max-width: 100%; }
.krk-draft table.krk-limits th[scope=row] { text-align: left; font-weight: 500; background: none; }
.krk-draft tr.krk-conditions td { font-size: 0.92em; background: #fffdf5; }
.krk-class { display: inline-block; min-width: 2.2em; padding: 0 5px; border-radius: 4px; text-align: center; font-weight: 700; color: #111; }
.krk-class-I, .krk-class-X { color: #fff; }
.krk-msg { border: 1px solid var(--line); border-left-width: 5px; border-radius: var(--radius); padding: 8px 12px; margin: 10px 0; background: var(--soft); }
.krk-msg p { margin: 4px 0; }
.krk-msg ul { margin: 4px 0; padding-left: 20px; }
.krk-msg-error { border-color: #f2a8a8; border-left-color: var(--bad); background: var(--bad-soft); }
.krk-msg-warn { border-color: #f1c98a; border-left-color: var(--warn); background: var(--warn-soft); }
.krk-msg-ok { border-color: #9fd8b3; border-left-color: var(--ok); background: var(--ok-soft); }
.krk-msg-info { border-left-color: var(--accent); background: var(--accent-soft); }
.krk-findings-title { font-weight: 700; color: var(--warn); }
.krk-findings-strong { border-width: 2px; border-left-width: 8px; }
.krk-findings-strong li { margin: 3px 0; font-weight: 500; }
.krk-strong { font-weight: 700; }
.krk-badge { display: inline-block; padding: 3px 10px; border-radius: 999px; font-weight: 700; font-size: 0.9em; border: 1px solid transparent; }
.krk-badge-submitted { background: var(--accent-soft); color: var(--accent); border-color: #b7c8f5; }
.krk-badge-issued { background: var(--ok-soft); color: var(--ok); border-color: #9fd8b3; }
.krk-badge-refused { background: var(--bad-soft); color: var(--bad); border-color: #f2a8a8; }
.krk-badge-revoked { background: var(--warn-soft); color: var(--warn); border-color: #f1c98a; }
.krk-map { height: 380px; border: 1px solid var(--line); border-radius: var(--radius); background: #eef2f5; position: relative; }
.krk-map-small { height: 260px; }
.krk-map-failed { padding: 1rem; color: var(--muted); }
.krk-actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
a.btn { text-decoration: none; color: inherit; display: inline-block; }
a.btn-primary { color: #fff; }
.krk-two { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; align-items: start; margin: 12px 0; }
@media (max-width: 600px) { body.krk h1 { font-size: 1.45rem; } }
@media (max-width: 760px) { .krk-two { grid-template-columns: minmax(0, 1fr); } }
`;

document.head.append(h('style', { text: SHARED_CSS }));

if (document.body && document.body.dataset.page === 'krk-status') statusPage();
