// The report form (/lapor?lon=&lat=, opened from the map's lookup panel with the point): the point
// on a small map (click or drag to move it), what the plan says there, the services and their
// extra questions (from Open311's service definitions), the open reports of the same kind within
// 250 m (follow one instead of filing it again), photos and an optional email. Sent as
// multipart/form-data to /api/v1/reports; the answer links to the report's public page.

import { call, h, makeMap, message } from './krk-status.js';

const $ = (id) => document.getElementById(id);
const state = { lon: null, lat: null, services: [], definition: null, marker: null, map: null };

function coord(v) {
  return Number(v).toFixed(6);
}

/** The point from the query (`lon`, `lat`), if both are numbers. */
function pointFromQuery() {
  const q = new URLSearchParams(location.search);
  const [lonText, latText] = [(q.get('lon') || '').trim(), (q.get('lat') || '').trim()];
  const lon = Number(lonText);
  const lat = Number(latText);
  return lonText && latText && Number.isFinite(lon) && Number.isFinite(lat) ? [lon, lat] : null;
}

/** What the plan says at the point: sub-zone, plan version, intensity in a line. */
async function showPlan() {
  const box = $('lapor-plan');
  if (state.lon === null) return;
  $('lapor-point').textContent = `${coord(state.lat)}, ${coord(state.lon)}`;
  try {
    const d = await call('GET', `/api/v1/zoning?lon=${coord(state.lon)}&lat=${coord(state.lat)}`);
    const sz = d.subzone || {};
    // Every tier, each with the parcel sizes it is for.
    const tiers = Array.isArray(d.intensity) ? d.intensity : [];
    const size = (t) => `persil ${t.min_parcel_m2 ?? 0}${t.max_parcel_m2 ? `–${t.max_parcel_m2}` : '+'} m²`;
    const line = (t) => `${size(t)}: KDB ${t.kdb_max ?? '–'} · KLB ${t.klb_max ?? '–'} · tinggi maks. ${t.max_height_m ?? '–'} m · KDH min. ${t.kdh_min ?? '–'}`;
    box.replaceChildren(
      h('p', {}, h('strong', { text: `${sz.code || '?'} ${sz.name || ''}` })),
      h('p', { class: 'small muted', text: d.plan ? `${d.plan.plan}, versi ${d.plan.version}` : '' }),
      ...tiers.map((t) => h('p', { class: 'small', text: line(t) })),
    );
  } catch (e) {
    box.replaceChildren(h('p', { class: 'muted', text: e.status === 404 ? 'Tidak ada zona rencana di titik ini.' : `Rencana di titik ini tidak dapat dibaca: ${e.detail || e.message}` }));
  }
}

/** Open reports of the chosen service near the point. */
async function showNearby() {
  const code = $('lapor-service').value;
  if (state.lon === null || !code) return;
  let answer;
  try {
    answer = await call('GET', `/api/v1/reports/nearby?lon=${coord(state.lon)}&lat=${coord(state.lat)}&service_code=${encodeURIComponent(code)}`);
  } catch (e) {
    return;
  }
  const list = answer.reports || [];
  $('lapor-near-section').hidden = list.length === 0;
  $('lapor-near').replaceChildren(...list.map((r) => {
    const email = h('input', { type: 'email', placeholder: 'surel Anda', 'aria-label': `Surel untuk mengikuti laporan ${r.id}`, maxlength: 254 });
    const result = h('span', { class: 'small' });
    const follow = h('button', {
      type: 'button', class: 'btn', text: 'Ikuti laporan ini',
      onclick: async () => {
        try {
          const a = await call('POST', `/api/v1/reports/${r.id}/follow`, { body: { email: email.value.trim() } });
          result.textContent = ` Anda mengikuti laporan #${r.id} (${a.followers} pengikut).`;
        } catch (e) {
          result.textContent = ` ${e.detail || e.message}`;
        }
      },
    });
    return h('li', {},
      h('a', { href: `/lapor/${r.id}`, text: `#${r.id}` }), ` · ${Math.round(r.distance_m)} m · `,
      h('span', { text: r.description.slice(0, 120) }), h('br'), email, ' ', follow, result);
  }));
}

function setPoint(lon, lat) {
  state.lon = lon;
  state.lat = lat;
  if (state.marker) state.marker.setLngLat([lon, lat]).addTo(state.map);
  showPlan();
  showNearby();
}

/** The extra questions of the chosen service. */
async function showService() {
  const code = $('lapor-service').value;
  const service = state.services.find((s) => s.service_code === code);
  $('lapor-service-desc').textContent = service ? service.description : '';
  const box = $('lapor-attributes');
  box.replaceChildren();
  if (service && service.metadata) {
    const def = await call('GET', `/open311/v2/services/${encodeURIComponent(code)}.json`);
    for (const a of (def.attributes || []).filter((x) => x.variable).sort((x, y) => x.order - y.order)) {
      const id = `attr-${a.code}`;
      let input;
      if (a.datatype === 'singlevaluelist') {
        input = h('select', { id, name: `attribute[${a.code}]` },
          h('option', { value: '', text: a.required ? 'Pilih…' : '(tidak tahu)' }),
          ...a.values.map((v) => h('option', { value: v.key, text: v.name })));
      } else {
        input = h('input', { id, name: `attribute[${a.code}]`, type: a.datatype === 'number' ? 'number' : 'text' });
      }
      if (a.required) input.required = true;
      box.append(h('label', { for: id, text: a.description + (a.required ? '' : ' (opsional)') }), input,
        a.datatype_description ? h('p', { class: 'hint', text: a.datatype_description }) : '');
    }
  }
  showNearby();
}

function showPreviews() {
  const files = [...$('lapor-photos').files];
  $('lapor-previews').replaceChildren(...files.slice(0, 3).map((f) => h('img', { src: URL.createObjectURL(f), alt: f.name })));
}

async function submit(event) {
  event.preventDefault();
  const result = $('lapor-result');
  for (const el of document.querySelectorAll('.invalid')) el.classList.remove('invalid');
  const description = $('lapor-description');
  if (!description.value.trim()) {
    description.classList.add('invalid');
    result.replaceChildren(message('error', h('p', { text: 'Tuliskan apa yang Anda lihat.' })));
    description.focus();
    return;
  }
  if (state.lon === null) {
    result.replaceChildren(message('error', h('p', { text: 'Pilih lokasi pelanggaran: klik peta atau geser penanda.' })));
    return;
  }
  if ($('lapor-photos').files.length > 3) {
    result.replaceChildren(message('error', h('p', { text: 'Paling banyak 3 foto.' })));
    return;
  }
  const form = new FormData($('lapor-form'));
  form.set('lat', coord(state.lat));
  form.set('long', coord(state.lon));
  for (const [k, v] of [...form.entries()]) {
    if (v === '' || (v instanceof File && v.size === 0)) form.delete(k);
  }
  $('lapor-submit').disabled = true;
  result.replaceChildren(h('p', { class: 'muted', text: 'Mengirim…' }));
  try {
    const res = await fetch('/api/v1/reports', { method: 'POST', body: form, credentials: 'same-origin' });
    const answer = await res.json().catch(() => null);
    if (!res.ok) throw new Error((answer && answer.detail) || `HTTP ${res.status}`);
    result.replaceChildren(message('ok',
      h('p', {}, h('strong', { text: `Laporan #${answer.id} diterima.` })),
      h('p', { text: answer.notice }),
      h('p', {}, h('a', { href: answer.status_url, id: 'lapor-status-link', text: 'Ikuti status laporan ini' }))));
    $('lapor-form').reset();
    showPreviews();
    // The reset picks the first service again: its questions, not the last one's.
    await showService();
  } catch (e) {
    const field = /description/.test(e.message) ? description : /email/.test(e.message) ? $('lapor-email') : /photo|foto/.test(e.message) ? $('lapor-photos') : null;
    if (field) field.classList.add('invalid');
    result.replaceChildren(message('error', h('p', { text: `Laporan belum terkirim: ${e.message}` })));
  } finally {
    $('lapor-submit').disabled = false;
  }
}

async function init() {
  state.services = await call('GET', '/open311/v2/services.json');
  $('lapor-service').replaceChildren(...state.services.map((s) => h('option', { value: s.service_code, text: s.service_name })));
  $('lapor-service').addEventListener('change', showService);
  $('lapor-photos').addEventListener('change', showPreviews);
  $('lapor-form').addEventListener('submit', submit);
  const point = pointFromQuery();
  const map = await makeMap($('lapor-map'));
  state.map = map;
  if (map) {
    const gl = window.maplibregl;
    // Without a point, no marker until one is chosen: a marker would look like a choice.
    state.marker = new gl.Marker({ draggable: true, color: '#b91c1c' }).setLngLat(point || [0, 0]);
    if (point) state.marker.addTo(map);
    else $('lapor-plan').replaceChildren(h('p', { class: 'muted', text: 'Klik peta di lokasi pelanggaran.' }));
    state.marker.on('dragend', () => { const p = state.marker.getLngLat(); setPoint(p.lng, p.lat); });
    map.on('click', (e) => setPoint(e.lngLat.lng, e.lngLat.lat));
    if (point) map.jumpTo({ center: point, zoom: 16 });
  }
  if (point) setPoint(point[0], point[1]);
  await showService();
  window.lapor = { state };
}

init();
