// The applicant's KRK page (/krk): who applies, the land title, the building's function and
// activity (KBLI), and the parcel, drawn on the zoning map or uploaded as a file (the server
// converts it: POST /api/v1/parcels/convert). On submit the server answers the application with
// its draft and a private status link (/krk/status/{id}#key=KEY), shown so it can be kept.

import { api, isAbort, query } from './api.js';
import {
  FUNCTION_LABEL, bounds, call, h, m2, makeMap, message, parcelData, renderDraft, showParcel,
} from './krk-status.js';

const $ = (id) => document.getElementById(id);
const form = $('apply-form');

/** The parcel to submit (a GeoJSON Polygon or MultiPolygon), and the drawing in progress. */
const state = { parcel: null, drawing: false, coords: [], cursor: null, map: null, activity: null };

// ---------- area (for the applicant's eye only: the server measures the parcel itself) ----------

const R = 6378137;
const rad = (d) => (d * Math.PI) / 180;

/** The area of a ring of lon/lat on the sphere, m² (the formula of Chamberlain and Duquette). */
function ringArea(ring) {
  let s = 0;
  for (let i = 0; i < ring.length - 1; i += 1) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[i + 1];
    s += rad(x2 - x1) * (2 + Math.sin(rad(y1)) + Math.sin(rad(y2)));
  }
  return Math.abs((s * R * R) / 2);
}

function geometryArea(g) {
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  return polygons.reduce((sum, p) => sum + ringArea(p[0]) - p.slice(1).reduce((a, r) => a + ringArea(r), 0), 0);
}

// ---------- the map and the drawing ----------

const round6 = (v) => Math.round(v * 1e6) / 1e6;

function renderDrawing() {
  const map = state.map;
  if (!map) return;
  const c = state.coords;
  const features = [];
  if (state.drawing) {
    // The corners so far, the pointer, and back to the first corner (the ring as it would close).
    const line = state.cursor ? [...c, state.cursor] : [...c];
    if (c.length >= 2) line.push(c[0]);
    if (line.length >= 2) features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: line } });
    c.forEach((p, i) => features.push({ type: 'Feature', properties: { first: i === 0 }, geometry: { type: 'Point', coordinates: p } }));
  }
  map.getSource('draw').setData({ type: 'FeatureCollection', features });
  map.getSource('parcel').setData(parcelData(state.parcel));
}

function setInfo(text, kind = '') {
  const info = $('parcel-info');
  info.textContent = text;
  info.className = kind === 'error' ? 'krk-msg krk-msg-error' : kind === 'ok' ? '' : 'muted';
}

function updateTools() {
  const drawing = state.drawing;
  $('draw-start').setAttribute('aria-pressed', String(drawing));
  $('draw-start').textContent = drawing ? 'Batal menggambar' : state.parcel ? 'Gambar ulang' : 'Gambar persil';
  $('draw-finish').hidden = !drawing;
  $('draw-finish').disabled = state.coords.length < 3;
  $('draw-undo').hidden = !drawing;
  $('draw-undo').disabled = state.coords.length === 0;
  $('draw-clear').hidden = drawing || !state.parcel;
  $('apply-map').classList.toggle('drawing', drawing);
  if (drawing) {
    const n = state.coords.length;
    setInfo(n === 0 ? 'Klik peta untuk menambah titik sudut persil.'
      : n < 3 ? `${n} titik. Tambah minimal ${3 - n} titik lagi.`
        : `${n} titik. Klik ganda, klik titik pertama atau tekan Selesai.`);
  } else if (state.parcel) {
    setInfo(`Persil siap: ± ${m2(geometryArea(state.parcel))} (perkiraan; luas resmi dihitung server).`, 'ok');
  }
}

function startDrawing() {
  if (!state.map) return;
  state.drawing = true;
  state.coords = [];
  state.cursor = null;
  state.map.doubleClickZoom.disable();
  updateTools();
  renderDrawing();
}

function stopDrawing() {
  state.drawing = false;
  state.cursor = null;
  const map = state.map;
  if (map) setTimeout(() => map.doubleClickZoom.enable(), 0);
  updateTools();
  renderDrawing();
}

function finishDrawing() {
  const c = state.coords.filter((p, i, a) => i === 0 || p[0] !== a[i - 1][0] || p[1] !== a[i - 1][1]);
  if (c.length < 3) return;
  // RFC 7946: the exterior ring counter-clockwise.
  let s = 0;
  for (let i = 0; i < c.length; i += 1) {
    const [x1, y1] = c[i];
    const [x2, y2] = c[(i + 1) % c.length];
    s += x1 * y2 - x2 * y1;
  }
  const open = s < 0 ? [...c].reverse() : c;
  state.parcel = { type: 'Polygon', coordinates: [[...open, open[0]]] };
  state.coords = [];
  stopDrawing();
}

function addVertex(e) {
  const c = state.coords;
  if (c.length) {
    const last = state.map.project(c[c.length - 1]);
    // The second click of a double-click lands on the corner just added.
    if (Math.hypot(last.x - e.point.x, last.y - e.point.y) < 6) return;
    const first = state.map.project(c[0]);
    if (c.length >= 3 && Math.hypot(first.x - e.point.x, first.y - e.point.y) < 10) {
      finishDrawing();
      return;
    }
  }
  c.push([round6(e.lngLat.lng), round6(e.lngLat.lat)]);
  updateTools();
  renderDrawing();
}

async function initMap() {
  const map = await makeMap($('apply-map'), {
    extraSources: { draw: { type: 'geojson', data: parcelData(null) } },
    extraLayers: [
      { id: 'draw-line', type: 'line', source: 'draw', filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': '#c2410c', 'line-width': 2, 'line-dasharray': [2, 1] } },
      {
        id: 'draw-vertex', type: 'circle', source: 'draw', filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-radius': ['case', ['==', ['get', 'first'], true], 6, 4.5], 'circle-color': '#fff', 'circle-stroke-color': '#c2410c', 'circle-stroke-width': 2 },
      },
    ],
  });
  if (!map) return;
  state.map = map;
  map.on('click', (e) => { if (state.drawing) addVertex(e); });
  map.on('dblclick', (e) => {
    if (!state.drawing) return;
    e.preventDefault();
    finishDrawing();
  });
  map.on('mousemove', (e) => {
    if (!state.drawing || !state.coords.length) return;
    state.cursor = [e.lngLat.lng, e.lngLat.lat];
    renderDrawing();
  });
  if (state.parcel) showParcel(map, state.parcel);
  // For scripts and tests, as the map page exposes window.satupeta.
  window.krkApply = { map, state };
}

async function uploadParcel(file) {
  setInfo(`Membaca ${file.name}…`);
  try {
    const feature = await api(`/api/v1/parcels/convert${query({ name: file.name })}`, { method: 'POST', body: await file.arrayBuffer() });
    const geometry = feature && (feature.type === 'Feature' ? feature.geometry : feature);
    if (!geometry || !['Polygon', 'MultiPolygon'].includes(geometry.type)) throw new Error('Berkas tidak berisi poligon.');
    if (state.drawing) stopDrawing();
    state.parcel = geometry;
    showParcel(state.map, geometry);
    updateTools();
    const n = geometry.type === 'MultiPolygon' ? geometry.coordinates.length : 1;
    if (n > 1) setInfo(`${file.name}: ${n} poligon, semuanya diajukan sebagai satu persil (± ${m2(geometryArea(geometry))}).`, 'ok');
  } catch (e) {
    if (isAbort(e)) return;
    setInfo(`${file.name} tidak dapat dibaca: ${e.detail || e.message}`, 'error');
  }
}

// ---------- the activity (KBLI) search ----------

const combo = { items: [], active: -1, timer: 0, ctl: null };

function closeList() {
  $('activity-list').hidden = true;
  $('activity-input').setAttribute('aria-expanded', 'false');
  $('activity-input').removeAttribute('aria-activedescendant');
  combo.active = -1;
}

function listNote(text) {
  combo.items = [];
  $('activity-list').replaceChildren(h('li', { class: 'note', role: 'presentation', text }));
  $('activity-list').hidden = false;
}

async function searchActivities(q) {
  if (combo.ctl) combo.ctl.abort();
  combo.ctl = new AbortController();
  try {
    const data = await api(`/api/v1/activities${query({ q, limit: 40 })}`, { signal: combo.ctl.signal });
    // Only 5-digit codes (KBLI kelompok) name an activity an application can carry.
    combo.items = (Array.isArray(data.kbli) ? data.kbli : []).filter((k) => /^\d{5}$/.test(k.kbli));
    if (!combo.items.length) {
      listNote(`Tidak ada kegiatan KBLI 5 angka untuk "${q}".`);
      return;
    }
    combo.active = -1;
    $('activity-list').replaceChildren(...combo.items.map((k, i) => h('li', { role: 'option', id: `activity-opt-${i}`, 'aria-selected': 'false', dataset: { index: i } },
      h('span', { class: 'code', text: k.kbli }), h('span', { text: k.title }))));
    $('activity-list').hidden = false;
    $('activity-input').setAttribute('aria-expanded', 'true');
  } catch (e) {
    if (isAbort(e)) return;
    listNote(`Pencarian gagal: ${e.detail || e.message}`);
  }
}

function chooseActivity(i) {
  const k = combo.items[i];
  if (!k) return;
  state.activity = { kbli: k.kbli, title: k.title };
  $('activity-chosen-label').textContent = `${k.kbli} · ${k.title}`;
  $('activity-chosen').hidden = false;
  $('activity-input').value = '';
  closeList();
}

function setActive(i) {
  const options = [...$('activity-list').querySelectorAll('[role=option]')];
  if (!options.length) return;
  combo.active = (i + options.length) % options.length;
  options.forEach((o, k) => o.setAttribute('aria-selected', String(k === combo.active)));
  $('activity-input').setAttribute('aria-activedescendant', options[combo.active].id);
  options[combo.active].scrollIntoView({ block: 'nearest' });
}

function initActivity() {
  const input = $('activity-input');
  input.addEventListener('input', () => {
    clearTimeout(combo.timer);
    const q = input.value.trim();
    if (q.length < 2) {
      closeList();
      return;
    }
    combo.timer = setTimeout(() => searchActivities(q), 250);
  });
  input.addEventListener('keydown', (e) => {
    const open = !$('activity-list').hidden && combo.items.length > 0;
    if (e.key === 'ArrowDown' && open) {
      e.preventDefault();
      setActive(combo.active + 1);
    } else if (e.key === 'ArrowUp' && open) {
      e.preventDefault();
      setActive(combo.active - 1);
    } else if (e.key === 'Enter') {
      e.preventDefault(); // never submits the form
      if (open) chooseActivity(combo.active >= 0 ? combo.active : 0);
    } else if (e.key === 'Escape') {
      closeList();
    }
  });
  input.addEventListener('blur', () => setTimeout(closeList, 150));
  $('activity-list').addEventListener('mousedown', (e) => e.preventDefault());
  $('activity-list').addEventListener('click', (e) => {
    const li = e.target.closest('[role=option]');
    if (li) chooseActivity(Number(li.dataset.index));
  });
  $('activity-clear').addEventListener('click', () => {
    state.activity = null;
    $('activity-chosen').hidden = true;
    input.focus();
  });
}

// ---------- submitting ----------

/** The form's field of a problem's `detail` (the server names the field it refuses). */
const FIELDS = [
  ['id_number', 'applicant-id'], ['title_number', 'title-number'], ['title_kind', 'title-kind'],
  ['address', 'applicant-address'], ['phone', 'phone'], ['email', 'email'], ['name', 'applicant-name'],
  ['building_function', 'building-function'], ['activity', 'activity-input'], ['parcel', 'apply-map'],
];

function showError(text, fieldId) {
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  $('apply-error').replaceChildren(text ? message('error', h('p', { text })) : '');
  if (fieldId) {
    const field = $(fieldId);
    if (field.matches('input, select, textarea')) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    } else field.scrollIntoView({ block: 'center' });
  }
}

/** Checks in the browser what the server would refuse anyway, so the applicant hears it at once. */
function localProblem() {
  const v = (id) => $(id).value.trim();
  if (!v('applicant-name')) return ['Isi nama pemohon.', 'applicant-name'];
  if (!/^(\d{16}|\d{13})$/.test(v('applicant-id'))) return ['NIK harus 16 angka atau NIB 13 angka.', 'applicant-id'];
  if (!v('applicant-address')) return ['Isi alamat pemohon.', 'applicant-address'];
  if (!v('title-number')) return ['Isi nomor alas hak.', 'title-number'];
  if (v('email') && !$('email').checkValidity()) return ['Alamat email tidak valid.', 'email'];
  if (state.drawing) return ['Selesaikan gambar persil dulu (tekan Selesai).', 'apply-map'];
  if (!state.parcel) return ['Gambar atau unggah batas persil.', 'apply-map'];
  return null;
}

async function submit(event) {
  event.preventDefault();
  const problem = localProblem();
  if (problem) {
    showError(...problem);
    return;
  }
  showError('');
  const v = (id) => $(id).value.trim();
  const applicant = {
    name: v('applicant-name'), id_number: v('applicant-id'), address: v('applicant-address'),
    title_kind: v('title-kind'), title_number: v('title-number'),
  };
  if (v('phone')) applicant.phone = v('phone');
  if (v('email')) applicant.email = v('email');
  const body = { applicant, building_function: v('building-function'), parcel: state.parcel };
  if (state.activity) body.activity = state.activity.kbli;
  const button = $('apply-submit');
  button.disabled = true;
  button.textContent = 'Mengirim dan menghitung…';
  try {
    const answer = await call('POST', '/api/v1/krk/applications', { body });
    showResult(answer);
  } catch (e) {
    const detail = e.detail || e.message;
    const field = FIELDS.find(([name]) => detail.includes(name));
    showError(`Permohonan belum dapat diterima: ${detail}`, field ? field[1] : null);
  } finally {
    button.disabled = false;
    button.textContent = 'Ajukan permohonan';
  }
}

function showResult({ application: app, status_url: statusUrl }) {
  const link = new URL(statusUrl, location.origin).href;
  $('status-link').value = link;
  $('open-status').href = link;
  $('result-facts').replaceChildren(h('dl', { class: 'facts' },
    h('dt', { text: 'Nomor permohonan' }), h('dd', { class: 'mono', text: app.id }),
    h('dt', { text: 'Pemohon' }), h('dd', { text: app.applicant.name }),
    h('dt', { text: 'Alas hak' }), h('dd', { text: `${app.applicant.title_kind} ${app.applicant.title_number}` }),
    h('dt', { text: 'Fungsi bangunan' }), h('dd', { text: FUNCTION_LABEL[app.building_function] || app.building_function }),
    h('dt', { text: 'Kegiatan (KBLI)' }), h('dd', { text: state.activity ? `${state.activity.kbli} ${state.activity.title}` : app.activity || '–' }),
    h('dt', { text: 'Luas persil' }), h('dd', { text: m2(app.parcel_area_m2) })));
  $('result-draft').replaceChildren(renderDraft(app.draft));
  form.hidden = true;
  $('result').hidden = false;
  window.scrollTo(0, 0);
  $('status-link').focus();
  $('status-link').select();
  const box = bounds(app.parcel);
  if (box) makeMap($('result-map'), { parcel: app.parcel });
}

async function copyLink() {
  const input = $('status-link');
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (e) {
    input.select();
    document.execCommand('copy');
  }
  $('copy-note').textContent = 'Tautan disalin.';
}

function init() {
  form.addEventListener('submit', submit);
  for (const node of form.querySelectorAll('input, select, textarea')) {
    node.addEventListener('input', () => {
      if (node.hasAttribute('aria-invalid')) showError('');
    });
  }
  $('draw-start').addEventListener('click', () => {
    if (state.drawing) {
      state.coords = [];
      stopDrawing();
      if (!state.parcel) setInfo('Belum ada persil.');
    } else startDrawing();
  });
  $('draw-finish').addEventListener('click', finishDrawing);
  $('draw-undo').addEventListener('click', () => {
    state.coords.pop();
    updateTools();
    renderDrawing();
  });
  $('draw-clear').addEventListener('click', () => {
    state.parcel = null;
    renderDrawing();
    updateTools();
    setInfo('Belum ada persil.');
  });
  document.addEventListener('keydown', (e) => {
    if (!state.drawing || e.target.matches('input, textarea, select')) return;
    if (e.key === 'Escape') {
      state.coords = [];
      stopDrawing();
    } else if (e.key === 'Backspace') {
      e.preventDefault();
      state.coords.pop();
      updateTools();
      renderDrawing();
    }
  });
  $('parcel-file').addEventListener('change', () => {
    const file = $('parcel-file').files[0];
    $('parcel-file').value = '';
    if (file) uploadParcel(file);
  });
  $('copy-link').addEventListener('click', copyLink);
  $('apply-again').addEventListener('click', () => location.reload());
  initActivity();
  initMap();
}

init();
