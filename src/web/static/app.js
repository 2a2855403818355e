// satupeta map page: zoning lookups on a MapLibre map. Plain ES2020, no build step.
// Every string that comes from the API or from imported files goes through esc() before it
// reaches innerHTML; colours go through safeColor().
'use strict';

(() => {
  // ------------------------------------------------------------------ constants

  const CITY_BOUNDS = [[116.729, -1.282], [117.023, -1.013]];
  const EMPTY = { type: 'FeatureCollection', features: [] };
  const CLASS_ORDER = ['I', 'T', 'B', 'TB', 'X'];
  /** Section titles of the ITBX classes. */
  const CLASS_TITLES = {
    I: 'Diizinkan',
    T: 'Terbatas',
    B: 'Bersyarat',
    TB: 'Terbatas bersyarat',
    X: 'Tidak diizinkan',
  };
  /** Full labels, as the server writes them (used when only a class code is known). */
  const CLASS_LABELS = {
    I: 'Diizinkan',
    T: 'Diizinkan terbatas',
    B: 'Diizinkan bersyarat',
    TB: 'Diizinkan terbatas dan bersyarat',
    X: 'Tidak diizinkan',
  };
  const CLASS_HINTS = {
    I: 'permitted',
    T: 'permitted with limits',
    B: 'permitted with conditions',
    TB: 'limited and conditional',
    X: 'not permitted',
  };
  /** Map shading of an activity's classes (B and TB share a colour), and sub-zones it has none in. */
  const CLASS_SHADES = { I: '#1a9850', T: '#fee08b', B: '#f46d43', TB: '#f46d43', X: '#d73027' };
  const NO_CLASS_SHADE = '#9e9e9e';
  /** Short descriptions of Permen ATR/BPN 14/2021 overlay fields. */
  const OVERLAY_NAMES = {
    KKOP_1: 'Kawasan Keselamatan Operasi Penerbangan (airport safety surface)',
    LP2B_2: 'Lahan Pertanian Pangan Berkelanjutan (protected farmland)',
    KRB_03: 'Kawasan Rawan Bencana (hazard area)',
    TOD_04: 'Kawasan Berorientasi Transit (TOD)',
    TEB_05: 'Tempat Evakuasi Bencana (evacuation site)',
    CAGBUD: 'Cagar Budaya (heritage)',
    KSMPDN: 'Kawasan Sempadan (setback corridor)',
    HANKAM: 'Pertahanan dan Keamanan (defence)',
    KKARST: 'Kawasan Karst',
    RESAIR: 'Kawasan Resapan Air (water recharge)',
    TPZ_00: 'Teknik Pengaturan Zonasi (zoning technique)',
  };
  const NO_VALUE = /^(tidak\s*ada|-|none|null|n\/?a)?$/i;

  // ------------------------------------------------------------------ helpers

  /** Escapes text for HTML element content and attribute values. */
  function esc(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    })[c]);
  }

  /** A `#RRGGBB` colour, or grey for anything else (the value ends up in a style attribute). */
  function safeColor(c) {
    return typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '#cccccc';
  }

  /** An ITBX class code usable as a CSS class suffix. */
  function clsKey(c) {
    return CLASS_ORDER.includes(c) ? c : 'none';
  }

  function isNum(v) {
    return v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v));
  }

  /** A number in Indonesian notation (1.234,5), or an en dash. */
  function fmt(v, maxFrac = 0) {
    if (!isNum(v)) return '–';
    return Number(v).toLocaleString('id-ID', { maximumFractionDigits: maxFrac });
  }

  function fmtArea(v) {
    if (!isNum(v)) return '–';
    return fmt(v, Math.abs(Number(v)) < 10 ? 1 : 0);
  }

  function fmtPct(share) {
    if (!isNum(share)) return '–';
    return `${fmt(Number(share) * 100, 1)} %`;
  }

  /** A dash for limits the rule set does not set (null), where 0 would read as a limit. */
  const NOT_SET = '—';

  /** A number, or NOT_SET when the value is null/absent. */
  function fmtOpt(v, maxFrac = 0) {
    return isNum(v) ? fmt(v, maxFrac) : NOT_SET;
  }

  function fmtDate(s) {
    if (!s) return '';
    // A plain day (YYYY-MM-DD) is a calendar day, not UTC midnight: read it in local time.
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
    const d = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : new Date(s);
    if (Number.isNaN(d.getTime())) return String(s);
    return d.toLocaleDateString('id-ID', { day: 'numeric', month: 'long', year: 'numeric' });
  }

  function fmtValue(v) {
    if (v === null || v === undefined || v === '') return '–';
    if (typeof v === 'number') return fmt(v, 6);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function $(id) {
    return document.getElementById(id);
  }

  /** An API failure with the problem+json `detail`. */
  class ApiError extends Error {
    constructor(status, detail, title) {
      super(detail);
      this.status = status;
      this.detail = detail;
      this.title = title || '';
    }
  }

  function isAbort(e) {
    return e && e.name === 'AbortError';
  }

  /** Fetches JSON; throws ApiError with the problem `detail` on HTTP errors. */
  async function api(url, options = {}) {
    let res;
    try {
      res = await fetch(url, {
        ...options,
        headers: { Accept: 'application/json, application/problem+json', ...(options.headers || {}) },
      });
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new ApiError(0, 'Server tidak dapat dihubungi (network error).', 'Network error');
    }
    const type = res.headers.get('content-type') || '';
    let body = null;
    if (type.includes('json')) {
      try {
        body = await res.json();
      } catch (e) {
        if (isAbort(e)) throw e;
        body = null;
      }
    }
    if (!res.ok) {
      const detail = (body && (body.detail || body.title)) || `HTTP ${res.status} ${res.statusText || ''}`.trim();
      throw new ApiError(res.status, String(detail), body && body.title);
    }
    if (body === null) throw new ApiError(res.status, 'Jawaban server bukan JSON (response is not JSON).');
    return body;
  }

  /** Resolves a tile URL template without percent-encoding its `{z}/{x}/{y}` placeholders. */
  function resolveTemplate(url, base) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
    if (url.startsWith('//')) return location.protocol + url;
    if (url.startsWith('/')) return location.origin + url;
    const dir = base.slice(0, base.lastIndexOf('/') + 1);
    return location.origin + dir + url;
  }

  // ------------------------------------------------------------------ DOM

  const el = {
    map: $('map'),
    panel: $('panel'),
    panelTitle: $('panel-title'),
    panelBody: $('panel-body'),
    panelToggle: $('panel-toggle'),
    status: $('status'),
    input: $('activity-input'),
    list: $('activity-list'),
    chip: $('activity-chip'),
    chipLabel: $('activity-chip-label'),
    chipClear: $('activity-clear'),
    drawToggle: $('draw-toggle'),
    drawBar: $('draw-bar'),
    drawHint: $('draw-hint'),
    drawFinish: $('draw-finish'),
    drawUndo: $('draw-undo'),
    drawCancel: $('draw-cancel'),
    legend: $('legend'),
    legendToggle: $('legend-toggle'),
    legendClose: $('legend-close'),
    legendTitle: $('legend-title'),
    legendBody: $('legend-body'),
    toggleZoning: $('toggle-zoning'),
    toggleAdmin: $('toggle-admin'),
    hoverInfo: $('hover-info'),
    crosshair: $('crosshair'),
  };

  const state = {
    /** The chosen activity: {kbli, title, activityId, activityName}. */
    selected: null,
    /** The day whose regulations answer (YYYY-MM-DD), or null: today. */
    at: null,
    /** The last lookup, re-run when the activity changes. */
    last: null,
    seq: 0,
    lookupCtl: null,
    marker: null,
    parcelRing: null,
    draw: { active: false, coords: [], cursor: null },
    legendLoaded: false,
    zoning: false,
  };

  // ------------------------------------------------------------------ panel

  const narrow = window.matchMedia('(max-width: 760px)');

  function setPanelOpen(open) {
    el.panel.dataset.state = open ? 'open' : 'collapsed';
    el.panelToggle.setAttribute('aria-expanded', String(open));
  }

  function setStatus(text) {
    el.status.textContent = text || '';
  }

  function showPanel(title, html, status) {
    el.panelTitle.textContent = title;
    el.panelBody.innerHTML = html;
    el.panelBody.scrollTop = 0;
    setStatus(status);
    setPanelOpen(true);
  }

  function showLoading(title, text) {
    showPanel(title, `<p class="loading">${esc(text)}</p>`, text);
  }

  function messageHtml(text, kind = 'error', extra = '') {
    return `<div class="message ${esc(kind)}"><p>${esc(text)}</p>${extra}</div>`;
  }

  el.panelToggle.addEventListener('click', (e) => {
    e.stopPropagation();
    setPanelOpen(el.panel.dataset.state !== 'open');
  });
  el.panel.querySelector('.panel-head').addEventListener('click', () => {
    if (narrow.matches) setPanelOpen(el.panel.dataset.state !== 'open');
  });
  setPanelOpen(!narrow.matches);
  setStatus(narrow.matches ? 'Klik peta untuk cek zonasi (tap the map).' : '');

  // ------------------------------------------------------------------ map

  if (typeof maplibregl === 'undefined') {
    showPanel('Cek zonasi', messageHtml('MapLibre GL JS tidak termuat (/static/vendor/maplibre-gl.js).'), '');
    return;
  }

  const lineWidth = (lo, hi) => ['interpolate', ['linear'], ['zoom'], 10, lo, 16, hi];

  const style = {
    version: 8,
    name: 'satupeta-light',
    sources: {
      admin: { type: 'geojson', data: EMPTY },
      draw: { type: 'geojson', data: EMPTY },
      'draw-guide': { type: 'geojson', data: EMPTY },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#e6ecf1' } },
      {
        id: 'admin-city-fill', type: 'fill', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kota'],
        paint: { 'fill-color': '#fbfaf5', 'fill-opacity': 1 },
      },
      {
        // Invisible, only for the hover read-out of the kelurahan under the cursor.
        id: 'admin-kelurahan-hit', type: 'fill', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kelurahan'],
        paint: { 'fill-color': '#000000', 'fill-opacity': 0 },
      },
      {
        id: 'admin-kelurahan-line', type: 'line', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kelurahan'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#9aa3ae', 'line-width': lineWidth(0.5, 1.3) },
      },
      {
        id: 'admin-kecamatan-line', type: 'line', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kecamatan'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#4b5563', 'line-width': lineWidth(1.6, 3.2) },
      },
      {
        id: 'admin-city-line', type: 'line', source: 'admin',
        filter: ['==', ['get', 'tingkat'], 'kota'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#374151', 'line-width': lineWidth(1.4, 2.6) },
      },
      {
        id: 'draw-fill', type: 'fill', source: 'draw',
        filter: ['==', ['geometry-type'], 'Polygon'],
        paint: { 'fill-color': '#1d4ed8', 'fill-opacity': 0.15 },
      },
      {
        id: 'draw-line', type: 'line', source: 'draw',
        filter: ['in', ['geometry-type'], ['literal', ['Polygon', 'LineString']]],
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#1d4ed8', 'line-width': 2.2 },
      },
      {
        id: 'draw-guide', type: 'line', source: 'draw-guide',
        paint: { 'line-color': '#1d4ed8', 'line-width': 1.5, 'line-dasharray': [2, 2] },
      },
      {
        id: 'draw-vertex', type: 'circle', source: 'draw',
        filter: ['==', ['geometry-type'], 'Point'],
        paint: {
          'circle-radius': ['case', ['==', ['get', 'first'], true], 6, 4.5],
          'circle-color': '#ffffff',
          'circle-stroke-color': '#1d4ed8',
          'circle-stroke-width': 2,
        },
      },
    ],
  };

  const map = new maplibregl.Map({
    container: el.map,
    style,
    bounds: CITY_BOUNDS,
    fitBoundsOptions: { padding: 20 },
    maxZoom: 20,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');

  const mapReady = new Promise((resolve) => map.on('load', resolve));

  map.on('error', (e) => {
    // Keep map errors (a tile failing, say) out of the user's way but visible to developers.
    if (e && e.error) console.warn('map:', e.error.message || e.error);
  });

  /** Administrative boundaries. */
  async function loadAdmin() {
    try {
      const data = await api('/data/balikpapan_admin.geojson');
      await mapReady;
      map.getSource('admin').setData(data);
    } catch (e) {
      setStatus(`Batas administrasi gagal dimuat: ${e.detail || e.message}`);
    }
  }

  /** The zoning vector tiles, when the server publishes a TileJSON; silently skipped otherwise. */
  async function loadZoningTiles() {
    let tilejson;
    try {
      const res = await fetch('/tiles/zoning.json', { headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      tilejson = await res.json();
    } catch (e) {
      return;
    }
    if (!tilejson || !Array.isArray(tilejson.tiles) || tilejson.tiles.length === 0) return;
    await mapReady;
    const source = {
      type: 'vector',
      tiles: tilejson.tiles.map((t) => resolveTemplate(String(t), '/tiles/zoning.json')),
    };
    for (const key of ['minzoom', 'maxzoom', 'bounds', 'scheme', 'attribution']) {
      if (tilejson[key] !== undefined && tilejson[key] !== null) source[key] = tilejson[key];
    }
    try {
      map.addSource('zoning', source);
      map.addLayer({
        id: 'zoning-fill', type: 'fill', source: 'zoning', 'source-layer': 'zoning',
        paint: {
          'fill-color': ['to-color', ['get', 'color'], '#cccccc'],
          'fill-opacity': 0.6,
        },
      }, 'admin-kelurahan-line');
      map.addLayer({
        id: 'zoning-line', type: 'line', source: 'zoning', 'source-layer': 'zoning',
        paint: {
          'line-color': '#374151',
          'line-opacity': ['interpolate', ['linear'], ['zoom'], 11, 0.15, 16, 0.5],
          'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.2, 16, 0.8],
        },
      }, 'admin-kelurahan-line');
      state.zoning = true;
      el.toggleZoning.disabled = false;
    } catch (e) {
      console.warn('zoning tiles:', e);
    }
  }

  loadAdmin();
  /** Settles when the zoning layer is on the map (or could not be). */
  const zoningReady = loadZoningTiles();

  function setVisible(layers, visible) {
    for (const id of layers) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
  }

  el.toggleZoning.addEventListener('change', () => {
    setVisible(['zoning-fill', 'zoning-line'], el.toggleZoning.checked);
  });
  el.toggleAdmin.addEventListener('change', () => {
    setVisible(['admin-kelurahan-line', 'admin-kecamatan-line', 'admin-city-line'], el.toggleAdmin.checked);
  });

  // Hover read-out: kelurahan and coordinates under the pointer.
  let hoverFrame = 0;
  let hoverEvent = null;
  map.on('mousemove', (e) => {
    hoverEvent = e;
    if (hoverFrame) return;
    hoverFrame = requestAnimationFrame(() => {
      hoverFrame = 0;
      const ev = hoverEvent;
      if (!ev || !map.getLayer('admin-kelurahan-hit')) return;
      const hits = map.queryRenderedFeatures(ev.point, { layers: ['admin-kelurahan-hit'] });
      const p = hits.length ? hits[0].properties : null;
      const where = p ? `Kel. ${p.nama}${p.kecamatan ? ` · Kec. ${p.kecamatan}` : ''} · ` : '';
      el.hoverInfo.textContent = `${where}${ev.lngLat.lng.toFixed(5)}, ${ev.lngLat.lat.toFixed(5)}`;
      el.hoverInfo.hidden = false;
    });
  });
  map.getCanvasContainer().addEventListener('mouseleave', () => {
    el.hoverInfo.hidden = true;
  });

  // ------------------------------------------------------------------ marker

  function placeMarker(lon, lat) {
    if (!state.marker) {
      state.marker = new maplibregl.Marker({ color: '#c2410c' });
    }
    state.marker.setLngLat([lon, lat]).addTo(map);
  }

  function removeMarker() {
    if (state.marker) state.marker.remove();
  }

  // ------------------------------------------------------------------ lookups

  /** Starts a lookup: cancels the previous one, returns its abort signal and sequence number. */
  function beginLookup() {
    if (state.lookupCtl) state.lookupCtl.abort();
    state.lookupCtl = new AbortController();
    state.seq += 1;
    return { signal: state.lookupCtl.signal, seq: state.seq };
  }

  /**
   * Runs `request(kbli)` with the selected activity's KBLI; if the server refuses because of the
   * activity (a 400/404 when asked with one), asks again without it and reports why.
   */
  async function withActivity(request) {
    const sel = state.selected;
    const kbli = sel && sel.kbli ? sel.kbli : null;
    try {
      return { data: await request(kbli), activityError: null };
    } catch (e) {
      if (!kbli || isAbort(e) || !(e instanceof ApiError) || (e.status !== 400 && e.status !== 404)) throw e;
      const data = await request(null);
      return { data, activityError: e.detail };
    }
  }

  async function lookupPoint(lon, lat) {
    state.last = { kind: 'point', lon, lat };
    writeHash();
    clearParcelShape();
    placeMarker(lon, lat);
    const { signal, seq } = beginLookup();
    showLoading('Cek zonasi', 'Mencari zonasi di titik ini…');
    try {
      const { data, activityError } = await withActivity((kbli) => {
        const params = new URLSearchParams({ lon: lon.toFixed(6), lat: lat.toFixed(6) });
        if (kbli) params.set('activity', kbli);
        if (state.at) params.set('at', state.at);
        return api(`/api/v1/zoning?${params}`, { signal });
      });
      if (seq !== state.seq) return;
      const sz = data.subzone || {};
      // The answer describes the zone, not the point: the point asked is added here.
      showPanel('Cek zonasi', renderPoint({ ...data, lon, lat }, activityError),
        `Sub-zona ${sz.code || '?'}${sz.name ? ` (${sz.name})` : ''}.`);
    } catch (e) {
      if (isAbort(e) || seq !== state.seq) return;
      showPanel('Cek zonasi', renderError(e, lon, lat), e.detail || e.message);
    }
  }

  async function lookupParcel(ring) {
    state.last = { kind: 'parcel', ring };
    writeHash();
    removeMarker();
    const { signal, seq } = beginLookup();
    showLoading('Persil', 'Menghitung persil…');
    try {
      const { data, activityError } = await withActivity((kbli) => {
        const body = { geometry: { type: 'Polygon', coordinates: [ring] } };
        if (kbli) body.activity = kbli;
        return api(`/api/v1/zoning/parcel${state.at ? `?${new URLSearchParams({ at: state.at })}` : ''}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
          signal,
        });
      });
      if (seq !== state.seq) return;
      showPanel('Persil', renderParcel(data, activityError),
        `Luas persil ${fmtArea(data.area_m2)} m².`);
    } catch (e) {
      if (isAbort(e) || seq !== state.seq) return;
      showPanel('Persil', renderError(e), e.detail || e.message);
    }
  }

  function rerunLast() {
    const last = state.last;
    if (!last) return;
    if (last.kind === 'point') lookupPoint(last.lon, last.lat);
    else if (last.kind === 'parcel') {
      state.parcelRing = last.ring;
      renderDraw();
      lookupParcel(last.ring);
    }
  }

  // ------------------------------------------------------------------ rendering: shared

  function renderError(e, lon, lat) {
    const where = isNum(lon) && isNum(lat)
      ? `<p class="small muted">Titik: ${esc(fmt(lon, 6))}, ${esc(fmt(lat, 6))}</p>` : '';
    const status = e.status ? `<p class="small muted">HTTP ${esc(e.status)}${e.title ? ` · ${esc(e.title)}` : ''}</p>` : '';
    return messageHtml(e.detail || e.message || 'Terjadi kesalahan.', 'error', status + where);
  }

  function conditionsHtml(conditions) {
    if (!Array.isArray(conditions) || conditions.length === 0) return '';
    return `<ul class="conditions">${conditions.map((c) =>
      `<li><span class="cond-code">${esc(c.code)}</span>${esc(c.text || '')}</li>`).join('')}</ul>`;
  }

  /** The prominent verdict box of the selected activity. */
  function verdictHtml({ cls, label, title, detail, conditions, note, noBadge }) {
    const key = clsKey(cls);
    const hint = CLASS_HINTS[key] ? ` <span class="hint">(${esc(CLASS_HINTS[key])})</span>` : '';
    return `<section class="verdict cls-${key}" aria-label="Penilaian kegiatan">
      <div class="verdict-head">
        ${noBadge ? '' : `<span class="verdict-class">${esc(key === 'none' ? '?' : key)}</span>`}
        <div>
          <div class="verdict-label">${esc(label)}${hint}</div>
          ${title ? `<div class="small">${esc(title)}</div>` : ''}
        </div>
      </div>
      ${detail ? `<p>${esc(detail)}</p>` : ''}
      ${conditions && conditions.length ? `<p><strong>Syarat / ketentuan:</strong></p>${conditionsHtml(conditions)}` : ''}
      ${note ? `<p class="small muted">${esc(note)}</p>` : ''}
    </section>`;
  }

  function selectedTitle(sel) {
    if (!sel) return '';
    if (sel.kbli) return `KBLI ${sel.kbli} ${sel.title || ''}`.trim();
    return sel.activityName || sel.activityId || '';
  }

  function tierRange(t) {
    const min = Number(t.min_parcel_m2) || 0;
    if (t.max_parcel_m2 === null || t.max_parcel_m2 === undefined) {
      return min > 0 ? `≥ ${fmt(min)}` : 'semua luas';
    }
    return `${fmt(min)} – ${fmt(t.max_parcel_m2)}`;
  }

  function klbText(t) {
    if (!isNum(t.klb_min) || Number(t.klb_min) === Number(t.klb_max)) return fmt(t.klb_max, 2);
    return `${fmt(t.klb_min, 2)} – ${fmt(t.klb_max, 2)}`;
  }

  /** Height and floors; either may be null (the rule set sets none). */
  function heightText(h, floors) {
    if (!isNum(h) && !isNum(floors)) return NOT_SET;
    return `${fmtOpt(h, 1)} m / ${fmtOpt(floors)} lt`;
  }

  /** The intensity table; `rows` are [label html or null, tier, optional text when no tier]. */
  function intensityTable(rows, firstHeader) {
    const tiers = rows.map((r) => r[1]);
    const hasMinLot = tiers.some((t) => t && isNum(t.min_lot_m2));
    const head = `<tr>
      <th scope="col">${esc(firstHeader)}</th>
      <th scope="col" title="Koefisien Dasar Bangunan maksimum">KDB %</th>
      <th scope="col" title="Koefisien Lantai Bangunan minimum–maksimum">KLB</th>
      <th scope="col" title="Koefisien Dasar Hijau minimum">KDH %</th>
      <th scope="col" title="Koefisien Tapak Basemen maksimum">KTB %</th>
      <th scope="col" title="Tinggi bangunan maksimum / jumlah lantai">Tinggi</th>
      <th scope="col" title="Garis Sempadan Bangunan minimum">GSB m</th>
      ${hasMinLot ? '<th scope="col" title="Luas persil minimum">Persil min m²</th>' : ''}
    </tr>`;
    const body = rows.map(([label, t, none]) => {
      if (!t) {
        return `<tr><th scope="row">${label}</th><td colspan="${hasMinLot ? 7 : 6}" class="muted">${esc(none || 'tidak ada ketentuan intensitas')}</td></tr>`;
      }
      return `<tr>
        <th scope="row">${label}</th>
        <td>${esc(fmt(t.kdb_max, 1))}</td>
        <td>${esc(klbText(t))}</td>
        <td>${esc(fmt(t.kdh_min, 1))}</td>
        <td>${esc(fmt(t.ktb_max, 1))}</td>
        <td>${esc(heightText(t.max_height_m, t.max_floors))}</td>
        <td>${esc(fmtOpt(t.gsb_m, 1))}</td>
        ${hasMinLot ? `<td>${esc(fmt(t.min_lot_m2))}</td>` : ''}
      </tr>`;
    }).join('');
    return `<div class="table-wrap" tabindex="0" role="region" aria-label="Tabel (table; scroll sideways)"><table><thead>${head}</thead><tbody>${body}</tbody></table></div>`;
  }

  /** "berlaku sejak <day> [hingga <day>]" of a plan version, or '' when the server sends no dates. */
  function inForceText(plan) {
    if (!plan || !plan.effective_from) return '';
    const until = plan.in_force_until ? ` hingga ${fmtDate(plan.in_force_until)}` : '';
    return `berlaku sejak ${fmtDate(plan.effective_from)}${until}`;
  }

  function planText(plan) {
    if (!plan) return '–';
    const inForce = inForceText(plan);
    const date = fmtDate(plan.published_at);
    const when = inForce || (date ? `terbit ${date}` : '');
    return `${plan.plan || 'Rencana'} · versi ${plan.version ?? '?'}${when ? ` · ${when}` : ''}`;
  }

  /** The regulation that answered: plan, version, in force since/until, rule set (HTML). */
  function planHtml(plan) {
    if (!plan) return '–';
    const inForce = inForceText(plan);
    const date = fmtDate(plan.published_at);
    const rules = isNum(plan.rule_set_id)
      ? `<span title="${esc(plan.rule_digest ? `digest ${plan.rule_digest}` : '')}">aturan #${esc(plan.rule_set_id)}</span>` : '';
    const meta = [date ? esc(`terbit ${date}`) : '', rules].filter(Boolean).join(' · ');
    return `${esc(`${plan.plan || 'Rencana'} · versi ${plan.version ?? '?'}`)}
      ${inForce ? `<div class="small">${esc(inForce)} <span class="hint">(in force)</span></div>` : ''}
      ${meta ? `<div class="small muted">${meta}</div>` : ''}`;
  }

  /** Whether an answer's `rules` says the sub-zone is not regulated (old answers have no `rules`). */
  function unregulated(rules) {
    return !!rules && typeof rules === 'object' && rules.regulated === false;
  }

  /** The prominent notice of a sub-zone the plan's rule set does not regulate. */
  function unregulatedHtml(message) {
    return `<div class="message warn unregulated" role="note">
      <p><strong>Rencana ini tidak menetapkan aturan untuk sub-zona ini</strong>
        <span class="hint">(this plan sets no rules for this sub-zone)</span></p>
      <p class="small">Intensitas bangunan dan kegiatan tidak diatur oleh rencana ini; tanyakan ke DPPR.</p>
      ${message ? `<p class="small muted">${esc(message)}</p>` : ''}
    </div>`;
  }

  // ------------------------------------------------------------------ rendering: point

  function renderPoint(d, activityError) {
    const sz = d.subzone || {};
    const zone = sz.zone || {};
    const sel = state.selected;
    const parts = [];
    // The plan's rule set sets no rules for this sub-zone: intensity and activities are null.
    const notRuled = unregulated(d.rules);

    parts.push(`<header class="result-head">
      <span class="swatch swatch-lg" style="background:${safeColor(sz.color)}" aria-hidden="true"></span>
      <div>
        <h3><span class="code">${esc(sz.code || '?')}</span>${esc(sz.name || '')}</h3>
        <p class="muted small">${esc([zone.name || zone.code, zone.kind, sz.catalog_code ? `kode ${sz.catalog_code}` : '']
          .filter(Boolean).join(' · '))}</p>
      </div>
    </header>`);

    if (notRuled) parts.push(unregulatedHtml(d.rules.message));

    // The selected activity's verdict, prominently.
    if (sel) {
      if (d.activity && !d.activity.class && (d.activity.message || notRuled)) {
        // Asked about, but the sub-zone is not regulated: no class to show.
        const a = d.activity;
        parts.push(verdictHtml({
          cls: null,
          noBadge: true,
          label: a.class_label || 'Tidak diatur oleh rencana ini (not regulated by this plan)',
          title: a.kbli ? `KBLI ${a.kbli} ${a.kbli_title || ''}` : selectedTitle(sel),
          detail: a.message || `Rencana ini tidak menetapkan aturan untuk sub-zona ${sz.code || '?'}.`,
        }));
      } else if (d.activity) {
        const a = d.activity;
        parts.push(verdictHtml({
          cls: a.class,
          label: a.class_label || CLASS_LABELS[a.class] || a.class,
          title: `KBLI ${a.kbli} ${a.kbli_title || ''}`,
          detail: `Kegiatan: ${a.name} (${a.id}) di sub-zona ${sz.code || '?'}.`,
          conditions: a.conditions,
        }));
      } else if (activityError) {
        parts.push(verdictHtml({
          cls: null,
          label: 'Kegiatan tidak dapat dinilai',
          title: selectedTitle(sel),
          detail: activityError,
        }));
      } else if (sel.activityId && notRuled) {
        parts.push(verdictHtml({
          cls: null,
          noBadge: true,
          label: 'Tidak diatur oleh rencana ini (not regulated by this plan)',
          title: selectedTitle(sel),
          detail: `Rencana ini tidak menetapkan aturan untuk sub-zona ${sz.code || '?'}.`,
        }));
      } else if (sel.activityId) {
        // An activity without a KBLI code (housing types): find it in this sub-zone's lists.
        let found = null;
        for (const [cls, group] of Object.entries(d.activities || {})) {
          const a = ((group && group.activities) || []).find((x) => x.id === sel.activityId);
          if (a) { found = { ...a, class: a.class || cls }; break; }
        }
        parts.push(found
          ? verdictHtml({
            cls: found.class,
            label: found.class_label || CLASS_LABELS[found.class] || found.class,
            title: `${found.name} (${found.id})`,
            detail: `Di sub-zona ${sz.code || '?'}.`,
            conditions: found.conditions,
          })
          : verdictHtml({
            cls: null,
            label: 'Tidak ada dalam matriks ITBX',
            title: selectedTitle(sel),
            detail: `Matriks ITBX tidak memuat kegiatan ini untuk sub-zona ${sz.code || '?'}.`,
          }));
      }
    }

    const block = [d.block, d.subblock].filter((x) => x !== null && x !== undefined && x !== '');
    parts.push(`<section class="section"><dl class="facts">
      <dt>Kelurahan</dt><dd>${esc(d.kelurahan || '–')}</dd>
      <dt>Kecamatan</dt><dd>${esc(d.kecamatan || '–')}</dd>
      <dt>Blok / sub-blok</dt><dd>${esc(block.length ? block.join(' / ') : '–')}</dd>
      <dt>Rencana</dt><dd>${planHtml(d.plan)}</dd>
      <dt>Koordinat</dt><dd class="mono">${esc(fmt(d.lon, 6))}, ${esc(fmt(d.lat, 6))}</dd>
    </dl></section>`);

    parts.push(overlaysHtml(d.overlays));

    const tiers = Array.isArray(d.intensity) ? d.intensity.filter((t) => t && typeof t === 'object') : [];
    const noIntensity = notRuled
      ? '<p class="muted small">Tidak diatur oleh rencana ini (not regulated by this plan).</p>'
      : '<p class="muted small">Tidak ada ketentuan intensitas untuk sub-zona ini.</p>';
    parts.push(`<section class="section"><h4>Intensitas bangunan <span class="hint">(building intensity)</span></h4>
      ${tiers.length ? intensityTable(tiers.map((t) => [esc(tierRange(t)), t]), 'Luas persil m²') : noIntensity}
    </section>`);

    if (notRuled) {
      parts.push(`<section class="section"><h4>Kegiatan menurut kelas ITBX <span class="hint">(activities)</span></h4>
        <p class="muted small">Tidak diatur oleh rencana ini: tidak ada daftar kegiatan
          <span class="hint">(not regulated by this plan: no activity list)</span>.</p></section>`);
    } else {
      parts.push(activitiesHtml(d.activities, d.activity ? d.activity.id : (sel && sel.activityId)));
    }
    parts.push(overlapsHtml(d.overlaps, d.precedence));
    parts.push(attributesHtml(d.attributes));
    return parts.join('');
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
      : '<p class="muted small">Tidak ada ketentuan khusus (no overlays).</p>';
    return `<section class="section"><h4>Ketentuan khusus / overlay</h4>${body}</section>`;
  }

  function kbliList(codes) {
    if (!Array.isArray(codes) || codes.length === 0) return '';
    const shown = codes.slice(0, 8).map(esc).join(', ');
    const more = codes.length > 8 ? ` +${codes.length - 8} lainnya` : '';
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
      return `<details class="group"${hasSelected ? ' open' : ''}>
        <summary><span class="badge cls-${clsKey(k)}">${esc(k)}</span> ${esc(CLASS_TITLES[k] || groups[k].label || k)}
          <span class="count">(${esc(list.length)})</span></summary>
        <div class="group-body"><ul class="activity-list">${items}</ul></div>
      </details>`;
    });
    if (!sections.length) return '';
    return `<section class="section"><h4>Kegiatan menurut kelas ITBX <span class="hint">(activities)</span></h4>${sections.join('')}</section>`;
  }

  function overlapsHtml(overlaps, precedence) {
    if (!Array.isArray(overlaps) || overlaps.length === 0) return '';
    const items = overlaps.filter((o) => o && typeof o === 'object').map((o) => {
      // The sub-zone is an object {code, name, color, …} (a plain code in older answers; null if unknown).
      const sz = o.subzone && typeof o.subzone === 'object' ? o.subzone : { code: o.subzone, name: o.subzone_name };
      return `<li>
        ${sz.color ? `<span class="swatch" style="background:${safeColor(sz.color)}" aria-hidden="true"></span>` : ''}
        <span class="mono">${esc(sz.code || '?')}</span> ${esc(sz.name || '')}
        <div class="small muted">${esc(planText(o.plan))} · fitur ${esc(o.feature_id ?? '?')}</div>
      </li>`;
    }).join('');
    const note = precedence
      ? `<p class="small muted">Zona yang berlaku dipilih menurut urutan prioritas <span class="hint">(precedence)</span>: ${esc(precedence)}.</p>`
      : '';
    return `<section class="section"><h4>Tumpang tindih <span class="hint">(overlapping features)</span></h4>
      <div class="message warn"><p>Titik ini juga tercakup fitur lain:</p>
      <ul class="activity-list">${items}</ul></div>${note}</section>`;
  }

  function attributesHtml(attrs) {
    if (!attrs || typeof attrs !== 'object') return '';
    const entries = Object.entries(attrs);
    if (!entries.length) return '';
    const rows = entries.map(([k, v]) =>
      `<tr><th scope="row">${esc(k)}</th><td>${esc(fmtValue(v))}</td></tr>`).join('');
    return `<section class="section"><details class="group">
      <summary>Atribut sumber <span class="count">(${esc(entries.length)})</span></summary>
      <div class="group-body"><div class="table-wrap" tabindex="0" role="region" aria-label="Tabel (table; scroll sideways)"><table class="kv"><tbody>${rows}</tbody></table></div></div>
    </details></section>`;
  }

  // ------------------------------------------------------------------ rendering: parcel

  function renderParcel(d, activityError) {
    const parts = (Array.isArray(d.parts) ? d.parts : []).filter((p) => p && typeof p === 'object');
    const outside = d.outside_plan || { area_m2: 0, share: 0 };
    const asked = parts.some((p) => p.activity) || d.activity_class !== undefined;
    const sel = state.selected;
    const html = [];
    const codeOf = (p) => (p.subzone && typeof p.subzone === 'object' && p.subzone.code) || '?';
    // Older answers have no `regulated` / `buildable`: only an explicit false marks a part.
    const isUnregulated = (p) => p.regulated === false;
    const isNotBuildable = (p) => p.buildable === false && !isUnregulated(p);

    // The regulations that answered: the day, and each plan version used.
    const plans = new Map();
    for (const p of parts) {
      if (p.plan && typeof p.plan === 'object') plans.set(p.plan.version_id ?? planText(p.plan), p.plan);
    }
    const regulation = [
      d.at ? `<p class="muted small">Peraturan yang berlaku pada ${esc(fmtDate(d.at))} <span class="hint">(regulations in force on that day)</span></p>` : '',
      ...[...plans.values()].map((pl) => `<p class="muted small">${esc(planText(pl))}</p>`),
    ].join('');

    html.push(`<section class="section">
      <p class="section-title">Luas persil <span class="hint">(parcel area)</span></p>
      <p class="big-number">${esc(fmtArea(d.area_m2))} m²</p>
      <p class="muted small">≈ ${esc(fmt(Number(d.area_m2) / 10000, 4))} ha · ${esc(parts.length)} bagian sub-zona</p>
      ${regulation}
    </section>`);

    if (sel) {
      if (d.activity_class) {
        const conditions = [];
        const seen = new Set();
        for (const p of parts) {
          for (const c of (p.activity && p.activity.conditions) || []) {
            if (!seen.has(c.code)) { seen.add(c.code); conditions.push(c); }
          }
        }
        const first = parts.find((p) => p.activity);
        const someUnregulated = parts.some((p) => p.activity && !p.activity.class);
        html.push(verdictHtml({
          cls: d.activity_class,
          label: CLASS_LABELS[d.activity_class] || d.activity_class,
          title: first && first.activity.kbli
            ? `KBLI ${first.activity.kbli} ${first.activity.kbli_title || ''}` : selectedTitle(sel),
          detail: parts.length > 1 ? 'Kelas paling ketat di seluruh persil (most restrictive over the parcel).' : '',
          conditions,
          note: someUnregulated
            ? 'Sebagian persil tidak diatur oleh rencana ini; kelas hanya dari bagian yang diatur (only the regulated parts are classed).'
            : '',
        }));
      } else if (activityError) {
        html.push(verdictHtml({ cls: null, label: 'Kegiatan tidak dapat dinilai', title: selectedTitle(sel), detail: activityError }));
      } else if (sel.kbli && parts.some((p) => p.activity)) {
        // Asked about, but no part of the parcel is regulated: no class anywhere.
        const first = parts.find((p) => p.activity);
        html.push(verdictHtml({
          cls: null,
          noBadge: true,
          label: first.activity.class_label || 'Tidak diatur oleh rencana ini (not regulated by this plan)',
          title: first.activity.kbli ? `KBLI ${first.activity.kbli} ${first.activity.kbli_title || ''}` : selectedTitle(sel),
          detail: first.activity.message
            || 'Rencana ini tidak menetapkan aturan untuk sub-zona persil ini (this plan sets no rules for these sub-zones).',
        }));
      } else if (!sel.kbli) {
        html.push(verdictHtml({
          cls: null,
          label: 'Penilaian per persil perlu kode KBLI',
          title: selectedTitle(sel),
          detail: 'Kegiatan ini tidak punya kode KBLI; klik peta di dalam persil untuk melihat kelasnya per titik.',
        }));
      }
    }

    if (!parts.length) {
      html.push(messageHtml('Persil ini berada di luar rencana yang diterbitkan (outside every published plan).', 'warn'));
      return html.join('');
    }

    if (parts.every(isUnregulated)) {
      const msg = parts.map((p) => p.activity && p.activity.message).find(Boolean);
      html.push(unregulatedHtml(msg));
    }

    const colspan = asked ? 10 : 9;
    const head = `<tr>
      <th scope="col">Sub-zona</th>
      <th scope="col" title="Luas yang diatur zona ini (tumpang tindih dihitung sekali)">Luas m²</th>
      <th scope="col">Porsi</th>
      <th scope="col" title="KDB × luas">Tapak maks m²</th>
      <th scope="col" title="KLB × luas (minimum dalam kurung)">Lantai maks m²</th>
      <th scope="col" title="KDH × luas">Hijau min m²</th>
      <th scope="col" title="KTB × luas">Basemen maks m²</th>
      <th scope="col">Tinggi</th>
      <th scope="col">GSB m</th>
      ${asked ? '<th scope="col">Kegiatan</th>' : ''}
    </tr>`;

    const floorCell = (l) => {
      if (!l) return '–';
      const min = Number(l.min_floor_area_m2) > 0
        ? ` <span class="muted small">(min ${esc(fmtArea(l.min_floor_area_m2))})</span>` : '';
      return `${esc(fmtArea(l.max_floor_area_m2))}${min}`;
    };
    const limitCells = (l) => l && typeof l === 'object'
      ? `<td>${esc(fmtArea(l.max_footprint_m2))}</td>
         <td>${floorCell(l)}</td>
         <td>${esc(fmtArea(l.min_green_m2))}</td>
         <td>${esc(fmtArea(l.max_basement_m2))}</td>
         <td>${esc(heightText(l.max_height_m, l.max_floors))}</td>
         <td>${esc(fmtOpt(l.gsb_m, 1))}</td>`
      : '<td>–</td><td>–</td><td>–</td><td>–</td><td>–</td><td>–</td>';
    const activityCell = (a) => {
      if (!a) return asked ? '<td>–</td>' : '';
      if (!a.class) {
        return `<td><span class="tag" title="${esc(a.message || a.class_label || '')}">tidak diatur</span></td>`;
      }
      return `<td><span class="badge cls-${clsKey(a.class)}" title="${esc(a.class_label || '')}">${esc(a.class)}</span></td>`;
    };

    const rows = parts.map((p) => {
      const sz = p.subzone && typeof p.subzone === 'object' ? p.subzone : {};
      const tags = [
        isUnregulated(p) ? '<span class="tag tag-warn" title="Rencana ini tidak menetapkan aturan untuk sub-zona ini (this plan sets no rules for this sub-zone)">tidak diatur</span>' : '',
        isNotBuildable(p) ? '<span class="tag" title="KDB 0: rencana tidak mengizinkan bangunan di sini, mis. badan jalan (the plan allows no building here)">tidak boleh dibangun</span>' : '',
      ].filter(Boolean).join(' ');
      const zoneArea = isNum(p.zone_area_m2) && Number(p.zone_area_m2) - (Number(p.area_m2) || 0) >= 0.5
        ? `<div class="muted small" title="Luas zona di dalam persil, termasuk bagian yang tumpang tindih (zone area inside the parcel, overlaps included)">zona ${esc(fmtArea(p.zone_area_m2))}</div>`
        : '';
      const limits = isUnregulated(p) && !p.limits
        ? '<td colspan="6" class="muted">tidak diatur oleh rencana ini <span class="hint">(not regulated)</span></td>'
        : limitCells(p.limits);
      return `<tr${isUnregulated(p) || isNotBuildable(p) ? ' class="row-muted"' : ''}>
        <th scope="row"><span class="swatch" style="background:${safeColor(sz.color)}" aria-hidden="true"></span>
          <span class="mono" title="${esc(sz.name || '')}">${esc(sz.code || '?')}</span>
          ${p.block ? `<span class="muted small">blok ${esc(p.block)}</span>` : ''}
          ${tags ? `<div>${tags}</div>` : ''}</th>
        <td>${esc(fmtArea(p.area_m2))}${zoneArea}</td>
        <td>${esc(fmtPct(p.share))}</td>
        ${limits}
        ${activityCell(p.activity)}
      </tr>`;
    }).join('');

    // Totals: an object {rule, buildable, buildable_m2, not_buildable_m2, unregulated_m2}; older
    // servers sent the Limits object itself (or null).
    const t = d.totals && typeof d.totals === 'object' ? d.totals : null;
    const newTotals = !!t && ('buildable' in t || 'rule' in t || 'buildable_m2' in t);
    const insideArea = parts.reduce((s, p) => s + (Number(p.area_m2) || 0), 0);
    const insideShare = parts.reduce((s, p) => s + (Number(p.share) || 0), 0);
    const parcelArea = Number(d.area_m2);
    const shareOf = (a) => (isNum(a) && parcelArea > 0 ? Number(a) / parcelArea : null);
    const totalArea = newTotals && isNum(t.buildable_m2) ? Number(t.buildable_m2) : insideArea;
    const totalShare = newTotals && isNum(t.buildable_m2) ? shareOf(t.buildable_m2) : insideShare;
    const totalLabel = newTotals
      ? 'Total bagian yang boleh dibangun <span class="hint">(buildable parts)</span>'
      : 'Total';
    const totals = `<tr class="row-total">
        <td class="cell-wrap">${totalLabel}</td>
        <td>${esc(fmtArea(totalArea))}</td>
        <td>${esc(fmtPct(totalShare))}</td>
        ${limitCells(newTotals ? t.buildable : t)}
        ${asked ? `<td>${d.activity_class ? `<span class="badge cls-${clsKey(d.activity_class)}">${esc(d.activity_class)}</span>` : '–'}</td>` : ''}
      </tr>`;
    const extraRow = (label, area, text) => (isNum(area) && Number(area) > 0
      ? `<tr class="row-outside"><td class="cell-wrap">${label}</td><td>${esc(fmtArea(area))}</td>
          <td>${esc(fmtPct(shareOf(area)))}</td><td colspan="${colspan - 3}">${text}</td></tr>`
      : '');
    const notBuildableRow = newTotals
      ? extraRow('Tidak boleh dibangun <span class="hint">(not buildable)</span>', t.not_buildable_m2,
        'tanpa bangunan (KDB 0, mis. badan jalan)')
      : '';
    const unregulatedRow = newTotals
      ? extraRow('Tidak diatur <span class="hint">(not regulated)</span>', t.unregulated_m2,
        'rencana ini tidak menetapkan aturan')
      : '';
    const outsideRow = Number(outside.area_m2) > 0
      ? `<tr class="row-outside"><td>Di luar rencana</td><td>${esc(fmtArea(outside.area_m2))}</td>
          <td>${esc(fmtPct(outside.share))}</td><td colspan="${colspan - 3}">tanpa ketentuan</td></tr>`
      : '';
    const totalsNote = newTotals
      ? 'Baris Total hanya memuat bagian yang boleh dibangun; tinggi, lantai dan GSB mengikuti bagian yang paling ketat.'
      : 'Tinggi, lantai dan GSB pada baris Total mengikuti bagian yang paling ketat.';

    html.push(`<section class="section"><h4>Bagian persil per sub-zona <span class="hint">(parts)</span></h4>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Tabel (table; scroll sideways)"><table><thead>${head}</thead>
        <tbody>${rows}${totals}${notBuildableRow}${unregulatedRow}${outsideRow}</tbody></table></div>
      <p class="small muted">${esc(totalsNote)}
        Di luar rencana: ${esc(fmtArea(outside.area_m2))} m² (${esc(fmtPct(outside.share))}).</p>
      ${newTotals && t.rule ? `<p class="small muted">Aturan total <span class="hint">(rule)</span>: ${esc(t.rule)}</p>` : ''}
    </section>`);

    html.push(parcelOverlapsHtml(d.overlaps, d.precedence, parts));

    // The tier each part was measured with (chosen by the whole parcel's area).
    html.push(`<section class="section"><details class="group">
      <summary>Ketentuan intensitas yang dipakai</summary>
      <div class="group-body">${intensityTable(parts.map((p) => [
        `${esc(codeOf(p))}${p.intensity ? ` <span class="muted small">${esc(tierRange(p.intensity))} m²</span>` : ''}`,
        p.intensity || null,
        isUnregulated(p) ? 'tidak diatur oleh rencana ini (not regulated)' : '',
      ]), 'Sub-zona')}</div>
    </details></section>`);

    const conds = parts.filter((p) => p.activity && p.activity.conditions && p.activity.conditions.length);
    if (conds.length) {
      html.push(`<section class="section"><h4>Syarat kegiatan per bagian</h4>${conds.map((p) =>
        `<p class="small"><span class="mono">${esc(codeOf(p))}</span>: ${esc(p.activity.class_label || p.activity.class)}</p>${conditionsHtml(p.activity.conditions)}`).join('')}</section>`);
    }
    return html.join('');
  }

  /** Where zones overlap inside the parcel: each area counted once, for the ruling zone. */
  function parcelOverlapsHtml(overlaps, precedence, parts) {
    if (!Array.isArray(overlaps) || overlaps.length === 0) return '';
    const codes = new Map(parts.map((p) => [p.feature_id,
      (p.subzone && typeof p.subzone === 'object' && p.subzone.code) || null]));
    const name = (id) => `fitur ${id ?? '?'}${codes.get(id) ? ` (${codes.get(id)})` : ''}`;
    const items = overlaps.filter((o) => o && typeof o === 'object').map((o) => `<li>
        ${esc(name(o.ruling_feature_id))} berlaku atas ${esc(name(o.overruled_feature_id))}:
        ${esc(fmtArea(o.area_m2))} m²</li>`).join('');
    return `<section class="section"><h4>Tumpang tindih <span class="hint">(overlapping zones)</span></h4>
      <div class="message warn"><p>Zona tumpang tindih di persil ini; luasnya dihitung sekali, untuk zona yang berlaku
        <span class="hint">(overlaps are counted once, for the ruling zone)</span>.</p>
        <ul class="activity-list">${items}</ul></div>
      ${precedence ? `<p class="small muted">Urutan prioritas <span class="hint">(precedence)</span>: ${esc(precedence)}.</p>` : ''}
    </section>`;
  }

  // ------------------------------------------------------------------ map clicks

  map.on('click', (e) => {
    if (state.draw.active) {
      addVertex(e.lngLat, e.point);
      return;
    }
    lookupPoint(e.lngLat.lng, e.lngLat.lat);
  });

  map.on('dblclick', (e) => {
    if (!state.draw.active) return;
    e.preventDefault();
    finishDraw();
  });

  // Keyboard: with the map focused, Enter checks (or, while drawing, adds) the centre point.
  const canvas = map.getCanvas();
  canvas.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const c = map.getCenter();
    if (state.draw.active) addVertex(c, map.project(c));
    else lookupPoint(c.lng, c.lat);
  });
  canvas.addEventListener('focus', () => { el.crosshair.hidden = false; });
  canvas.addEventListener('blur', () => { el.crosshair.hidden = true; });
  canvas.addEventListener('mousedown', () => { el.crosshair.hidden = true; });

  // ------------------------------------------------------------------ drawing a parcel

  const round6 = (v) => Math.round(v * 1e6) / 1e6;

  function feature(geometry, properties = {}) {
    return { type: 'Feature', properties, geometry };
  }

  function renderDraw() {
    if (!map.getSource('draw')) return;
    const d = state.draw;
    const features = [];
    if (d.active) {
      const c = d.coords;
      if (c.length >= 3) features.push(feature({ type: 'Polygon', coordinates: [[...c, c[0]]] }));
      else if (c.length === 2) features.push(feature({ type: 'LineString', coordinates: c }));
      c.forEach((p, i) => features.push(feature({ type: 'Point', coordinates: p }, { first: i === 0 })));
    } else if (state.parcelRing) {
      features.push(feature({ type: 'Polygon', coordinates: [state.parcelRing] }));
    }
    map.getSource('draw').setData({ type: 'FeatureCollection', features });
    renderGuide();
  }

  function renderGuide() {
    const src = map.getSource('draw-guide');
    if (!src) return;
    const d = state.draw;
    const c = d.coords;
    if (!d.active || !c.length || !d.cursor) {
      src.setData(EMPTY);
      return;
    }
    const line = [c[c.length - 1], d.cursor];
    if (c.length >= 2) line.push(c[0]);
    src.setData({ type: 'FeatureCollection', features: [feature({ type: 'LineString', coordinates: line })] });
  }

  function updateDrawUi(message) {
    const n = state.draw.coords.length;
    el.drawFinish.disabled = n < 3;
    el.drawUndo.disabled = n === 0;
    el.drawHint.textContent = message || (n === 0
      ? 'Klik peta untuk menambah titik sudut persil (click to add corners).'
      : n < 3
        ? `${n} titik. Tambah minimal ${3 - n} titik lagi.`
        : `${n} titik. Klik ganda, klik titik pertama atau tekan Selesai untuk menghitung.`);
  }

  function startDraw() {
    if (state.draw.active) return;
    closeLegend(false);
    state.draw = { active: true, coords: [], cursor: null };
    state.parcelRing = null;
    map.doubleClickZoom.disable();
    el.map.classList.add('drawing');
    el.drawBar.hidden = false;
    el.drawToggle.setAttribute('aria-pressed', 'true');
    updateDrawUi();
    renderDraw();
    setStatus('Mode gambar persil aktif. Esc untuk batal.');
  }

  function stopDraw() {
    state.draw.active = false;
    state.draw.cursor = null;
    el.map.classList.remove('drawing');
    el.drawBar.hidden = true;
    el.drawToggle.setAttribute('aria-pressed', 'false');
    // Re-enable after the current double-click has been handled, so it does not zoom.
    setTimeout(() => map.doubleClickZoom.enable(), 0);
  }

  function cancelDraw() {
    if (!state.draw.active) return;
    state.draw.coords = [];
    stopDraw();
    renderDraw();
    setStatus('Gambar persil dibatalkan.');
    el.drawToggle.focus();
  }

  function addVertex(lngLat, point) {
    const c = state.draw.coords;
    if (c.length) {
      const last = map.project(c[c.length - 1]);
      // The second click of a double-click lands on the vertex just added: ignore it.
      if (Math.hypot(last.x - point.x, last.y - point.y) < 6) return;
      if (c.length >= 3) {
        const first = map.project(c[0]);
        if (Math.hypot(first.x - point.x, first.y - point.y) < 10) {
          finishDraw();
          return;
        }
      }
    }
    c.push([round6(lngLat.lng), round6(lngLat.lat)]);
    updateDrawUi();
    renderDraw();
  }

  function undoVertex() {
    if (!state.draw.active || !state.draw.coords.length) return;
    state.draw.coords.pop();
    updateDrawUi();
    renderDraw();
  }

  /** Twice the signed area of a ring (positive when counter-clockwise). */
  function signedArea(ring) {
    let s = 0;
    for (let i = 0; i < ring.length; i += 1) {
      const [x1, y1] = ring[i];
      const [x2, y2] = ring[(i + 1) % ring.length];
      s += x1 * y2 - x2 * y1;
    }
    return s;
  }

  function finishDraw() {
    if (!state.draw.active) return;
    // Drop consecutive duplicates.
    const c = state.draw.coords.filter((p, i, a) => i === 0 || p[0] !== a[i - 1][0] || p[1] !== a[i - 1][1]);
    if (c.length < 3) {
      updateDrawUi('Persil perlu minimal 3 titik (at least 3 corners).');
      return;
    }
    const open = signedArea(c) < 0 ? [...c].reverse() : c; // RFC 7946: exterior ring counter-clockwise
    const ring = [...open, open[0]];
    state.draw.coords = [];
    stopDraw();
    state.parcelRing = ring;
    renderDraw();
    lookupParcel(ring);
  }

  // ------------------------------------------------------------------ parcel upload

  /** A parcel uploaded as a file: the server reads it through GDAL; its first polygon is measured. */
  const parcelFile = $('parcel-file');
  parcelFile.addEventListener('change', async () => {
    const file = parcelFile.files && parcelFile.files[0];
    parcelFile.value = '';
    if (!file) return;
    showLoading('Persil', `Membaca ${file.name}…`);
    try {
      const feature = await api(`/api/v1/parcels/convert?${new URLSearchParams({ name: file.name })}`, {
        method: 'POST',
        body: await file.arrayBuffer(),
      });
      const polygons = (feature.geometry && feature.geometry.coordinates) || [];
      const ring = polygons[0] && polygons[0][0];
      if (!ring) throw new ApiError(422, 'Berkas tidak berisi poligon (no polygon in the file).');
      if (state.draw.active) stopDraw();
      state.parcelRing = ring;
      renderDraw();
      const lons = ring.map((p) => p[0]);
      const lats = ring.map((p) => p[1]);
      map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
        { padding: 60, maxZoom: 18 });
      await lookupParcel(ring);
      if (polygons.length > 1) setStatus(`${file.name}: ${polygons.length} poligon; yang pertama diukur (the first polygon is measured).`);
    } catch (e) {
      if (isAbort(e)) return;
      showPanel('Persil', messageHtml(e.detail || e.message), e.detail || e.message);
    }
  });

  function clearParcelShape() {
    if (state.parcelRing) {
      state.parcelRing = null;
      renderDraw();
    }
  }

  map.on('mousemove', (e) => {
    if (!state.draw.active || !state.draw.coords.length) return;
    state.draw.cursor = [e.lngLat.lng, e.lngLat.lat];
    renderGuide();
  });

  el.drawToggle.addEventListener('click', () => {
    if (state.draw.active) cancelDraw();
    else startDraw();
  });
  el.drawFinish.addEventListener('click', finishDraw);
  el.drawUndo.addEventListener('click', undoVertex);
  el.drawCancel.addEventListener('click', cancelDraw);

  // ------------------------------------------------------------------ activity search

  const combo = { items: [], active: -1, timer: 0, ctl: null, seq: 0 };

  function openList() {
    el.list.hidden = false;
    el.input.setAttribute('aria-expanded', 'true');
  }

  function closeList() {
    el.list.hidden = true;
    el.input.setAttribute('aria-expanded', 'false');
    el.input.removeAttribute('aria-activedescendant');
    combo.active = -1;
  }

  function listNote(text) {
    combo.items = [];
    el.list.innerHTML = `<li class="combo-note" role="presentation">${esc(text)}</li>`;
    openList();
  }

  function renderHits(data, q) {
    const items = [];
    const rows = [];
    const kbli = Array.isArray(data.kbli) ? data.kbli : [];
    for (const h of kbli) {
      const i = items.length;
      items.push({
        kbli: h.kbli, title: h.title,
        activityId: h.activity ? h.activity.id : null,
        activityName: h.activity ? h.activity.name : null,
      });
      const level = h.level && h.level !== 'kelompok' ? ` <span class="kbli-level">${esc(h.level.replace(/_/g, ' '))}</span>` : '';
      const arrow = h.activity
        ? `<span class="kbli-arrow">→ ${esc(h.activity.name)}</span>`
        : '<span class="kbli-arrow none">tidak tercakup</span>';
      rows.push(`<li role="option" id="activity-opt-${i}" data-index="${i}" aria-selected="false">
        <span class="kbli-code">${esc(h.kbli)}</span><span class="kbli-title">${esc(h.title)}${level}</span>${arrow}</li>`);
    }
    // Activities that have no KBLI code (housing types) can only be found by name.
    const noKbli = (Array.isArray(data.activities) ? data.activities : [])
      .filter((a) => !Array.isArray(a.kbli) || a.kbli.length === 0);
    if (noKbli.length) {
      rows.push('<li class="combo-sep" role="presentation">Kegiatan tanpa KBLI</li>');
      for (const a of noKbli) {
        const i = items.length;
        items.push({ kbli: null, title: null, activityId: a.id, activityName: a.name });
        rows.push(`<li role="option" id="activity-opt-${i}" data-index="${i}" aria-selected="false">
          <span class="kbli-code">${esc(a.id)}</span><span class="kbli-title">${esc(a.name)}</span></li>`);
      }
    }
    if (!items.length) {
      listNote(`Tidak ada hasil untuk “${q}”.`);
      return;
    }
    combo.items = items;
    combo.active = -1;
    el.list.innerHTML = rows.join('');
    openList();
  }

  async function searchActivities(q) {
    if (combo.ctl) combo.ctl.abort();
    combo.ctl = new AbortController();
    const seq = ++combo.seq;
    try {
      const params = new URLSearchParams({ q, limit: '40' });
      const data = await api(`/api/v1/activities?${params}`, { signal: combo.ctl.signal });
      if (seq !== combo.seq || document.activeElement !== el.input) return;
      renderHits(data, q);
    } catch (e) {
      if (isAbort(e) || seq !== combo.seq) return;
      listNote(`Gagal mencari: ${e.detail || e.message}`);
    }
  }

  function setActive(i) {
    const options = el.list.querySelectorAll('[role="option"]');
    if (!options.length) return;
    combo.active = (i + options.length) % options.length;
    options.forEach((o, k) => o.setAttribute('aria-selected', String(k === combo.active)));
    const opt = options[combo.active];
    el.input.setAttribute('aria-activedescendant', opt.id);
    opt.scrollIntoView({ block: 'nearest' });
  }

  function choose(i) {
    const item = combo.items[i];
    if (!item) return;
    selectActivity(item);
  }

  /** Makes `item` ({kbli, title, activityId, activityName}) the chosen activity. */
  function selectActivity(item) {
    state.selected = item;
    shadeActivity();
    el.input.value = '';
    closeList();
    const label = item.kbli
      ? `${item.kbli} ${item.title || ''}${item.activityName ? ` → ${item.activityName}` : ''}`
      : `${item.activityName} (tanpa KBLI)`;
    el.chipLabel.textContent = label;
    el.chip.title = label;
    el.chip.hidden = false;
    setStatus(`Kegiatan dipilih: ${label}.`);
    writeHash();
    rerunLast();
  }

  function clearActivity() {
    if (!state.selected) return;
    state.selected = null;
    shadeActivity();
    el.chip.hidden = true;
    el.chipLabel.textContent = '';
    setStatus('Kegiatan dihapus.');
    el.input.focus();
    writeHash();
    rerunLast();
  }

  el.input.addEventListener('input', () => {
    clearTimeout(combo.timer);
    const q = el.input.value.trim();
    if (q.length < 2) {
      combo.seq += 1;
      if (combo.ctl) combo.ctl.abort();
      closeList();
      return;
    }
    combo.timer = setTimeout(() => searchActivities(q), 250);
  });

  el.input.addEventListener('keydown', (e) => {
    const visible = !el.list.hidden && combo.items.length > 0;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (visible) setActive(combo.active + 1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      if (visible) setActive(combo.active - 1);
    } else if (e.key === 'Enter') {
      if (visible) {
        e.preventDefault();
        choose(combo.active >= 0 ? combo.active : 0);
      }
    } else if (e.key === 'Escape') {
      if (!el.list.hidden) {
        e.preventDefault();
        e.stopPropagation();
        closeList();
      }
    }
  });

  el.input.addEventListener('blur', () => {
    setTimeout(() => {
      if (document.activeElement !== el.input) closeList();
    }, 120);
  });
  el.input.addEventListener('focus', () => {
    if (combo.items.length && el.input.value.trim().length >= 2) openList();
  });

  // Keep the focus in the input while clicking an option.
  el.list.addEventListener('mousedown', (e) => e.preventDefault());
  el.list.addEventListener('click', (e) => {
    const li = e.target.closest('[role="option"]');
    if (li) choose(Number(li.dataset.index));
  });
  el.chipClear.addEventListener('click', clearActivity);

  // ------------------------------------------------------------------ legend

  // ------------------------------------------------------------------ place search

  const place = { form: $('place-form'), input: $('place-input'), list: $('place-list'), ctl: null };

  function placeNote(text) {
    place.list.innerHTML = `<li class="combo-note">${esc(text)}</li>`;
    place.list.hidden = false;
  }

  function closePlaces() {
    place.list.hidden = true;
    place.list.innerHTML = '';
  }

  /** Shows a point typed as coordinates and asks what applies there. */
  function goToPoint(c) {
    closePlaces();
    map.flyTo({ center: [c.lon, c.lat], zoom: Math.max(map.getZoom(), 16) });
    if (!c.in_city) setStatus(`Titik di luar Kota Balikpapan (outside the city): ${c.lon.toFixed(6)}, ${c.lat.toFixed(6)}.`);
    lookupPoint(c.lon, c.lat);
  }

  function goToPlace(p) {
    closePlaces();
    const [w, s, e, n] = p.bbox;
    map.fitBounds([[w, s], [e, n]], { padding: 24, maxZoom: 16 });
    setStatus(`${p.name} (${p.level}${p.kecamatan ? `, ${p.kecamatan}` : ''}).`);
  }

  function renderPlaces(data) {
    const places = Array.isArray(data.places) ? data.places : [];
    if (!places.length) {
      placeNote('Tempat tidak ditemukan (no place found).');
      return;
    }
    place.list.innerHTML = places.map((p, i) => `<li class="place-list-item"><button type="button" data-i="${i}">${esc(p.name)}
      <span class="muted small">${esc(p.level)}${p.kecamatan ? ` · ${esc(p.kecamatan)}` : ''}</span></button></li>`).join('');
    place.list.hidden = false;
    place.list.querySelectorAll('button').forEach((b) => {
      b.addEventListener('click', () => goToPlace(places[Number(b.dataset.i)]));
    });
    if (places.length === 1) goToPlace(places[0]);
  }

  async function findPlace(q) {
    if (place.ctl) place.ctl.abort();
    place.ctl = new AbortController();
    try {
      const data = await api(`/api/v1/places?${new URLSearchParams({ q })}`, { signal: place.ctl.signal });
      if (data.coordinates) goToPoint(data.coordinates);
      else renderPlaces(data);
    } catch (e) {
      if (isAbort(e)) return;
      placeNote(e.detail || e.message);
    }
  }

  place.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = place.input.value.trim();
    if (q) findPlace(q);
    else closePlaces();
  });
  /** "My location": the browser's position (it asks the person first), answered like a click. */
  $('locate').addEventListener('click', () => {
    if (!navigator.geolocation) {
      placeNote('Peramban ini tidak memberi lokasi (this browser gives no location).');
      return;
    }
    setStatus('Mencari lokasi Anda… (finding your location)');
    navigator.geolocation.getCurrentPosition(
      (pos) => goToPoint({ lon: pos.coords.longitude, lat: pos.coords.latitude, in_city: true }),
      (err) => placeNote(err.code === 1
        ? 'Izin lokasi ditolak (location permission denied).'
        : 'Lokasi tidak dapat ditentukan (location unavailable).'),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });

  place.input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closePlaces();
  });

  function legendHtml(subzones) {
    if (!subzones.length) return '<p class="muted">Belum ada sub-zona (no sub-zones loaded).</p>';
    const groups = new Map();
    for (const s of subzones) {
      const key = s.zone || '?';
      if (!groups.has(key)) groups.set(key, { name: s.zone_name || key, kind: s.kind, items: [] });
      groups.get(key).items.push(s);
    }
    return [...groups.values()].map((g) => `<h3>${esc(g.name)}${g.kind ? ` <span class="hint">· ${esc(g.kind)}</span>` : ''}</h3>
      <ul>${g.items.map((s) => `<li><span class="swatch" style="background:${safeColor(s.color)}" aria-hidden="true"></span>
        <span><span class="mono">${esc(s.code)}</span> ${esc(s.name)}</span></li>`).join('')}</ul>`).join('');
  }

  async function loadLegend() {
    try {
      const data = await api('/api/v1/subzones');
      el.legendBody.innerHTML = legendHtml(Array.isArray(data.subzones) ? data.subzones : []);
      state.legendLoaded = true;
    } catch (e) {
      el.legendBody.innerHTML = messageHtml(`Legenda gagal dimuat: ${e.detail || e.message}`);
    }
  }

  function openLegend() {
    el.legend.hidden = false;
    el.legendToggle.setAttribute('aria-expanded', 'true');
    el.legendTitle.focus();
    if (!state.legendLoaded) {
      el.legendBody.innerHTML = '<p class="loading">Memuat…</p>';
      loadLegend();
    }
  }

  function closeLegend(returnFocus = true) {
    if (el.legend.hidden) return;
    el.legend.hidden = true;
    el.legendToggle.setAttribute('aria-expanded', 'false');
    if (returnFocus) el.legendToggle.focus();
  }

  el.legendToggle.addEventListener('click', () => {
    if (el.legend.hidden) openLegend();
    else closeLegend();
  });
  el.legendClose.addEventListener('click', () => closeLegend());

  // ------------------------------------------------------------------ global keys

  document.addEventListener('keydown', (e) => {
    const inField = e.target instanceof HTMLInputElement;
    if (e.key === 'Escape') {
      if (!el.legend.hidden && el.legend.contains(document.activeElement)) {
        closeLegend();
      } else if (state.draw.active && !inField) {
        cancelDraw();
      }
    } else if (state.draw.active && !inField
      && (e.key === 'Backspace' || ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z'))) {
      e.preventDefault();
      undoVertex();
    }
  });

  // Exposed for debugging from the console.
  // ------------------------------------------------------------------ where an activity is allowed

  const shading = { legend: $('class-legend'), ctl: null, kbli: null };

  /** Shades the zoning by the chosen activity's class in each sub-zone (from the vector tiles'
   *  sub-zone codes and the classes the API gives), or back to the sub-zone colours. */
  async function shadeActivity() {
    const kbli = state.selected && state.selected.kbli;
    if (shading.ctl) shading.ctl.abort();
    if (!kbli) {
      shading.kbli = null;
      shading.legend.hidden = true;
      if (state.zoning) map.setPaintProperty('zoning-fill', 'fill-color', ['to-color', ['get', 'color'], '#cccccc']);
      return;
    }
    shading.ctl = new AbortController();
    try {
      const data = await api(`/api/v1/activities/classes?${new URLSearchParams({ kbli })}`, { signal: shading.ctl.signal });
      await mapReady;
      await zoningReady;
      const pairs = Object.entries(data.classes || {});
      const match = ['match', ['get', 'code']];
      for (const [code, cls] of pairs) match.push(code, CLASS_SHADES[cls] || NO_CLASS_SHADE);
      match.push(NO_CLASS_SHADE);
      if (state.zoning) map.setPaintProperty('zoning-fill', 'fill-color', pairs.length ? match : NO_CLASS_SHADE);
      shading.kbli = kbli;
      const rows = [['I', CLASS_SHADES.I, CLASS_TITLES.I], ['T', CLASS_SHADES.T, CLASS_TITLES.T],
        ['B / TB', CLASS_SHADES.B, `${CLASS_TITLES.B} / ${CLASS_TITLES.TB}`], ['X', CLASS_SHADES.X, CLASS_TITLES.X],
        ['—', NO_CLASS_SHADE, 'Tidak diatur (not regulated)']];
      shading.legend.innerHTML = `<p class="class-legend-title">${esc(kbli)} ${esc(data.title || '')}</p><ul>${rows.map(([k, c, t]) =>
        `<li><span class="swatch" style="background:${safeColor(c)}"></span><b>${esc(k)}</b> ${esc(t)}</li>`).join('')}</ul>`;
      shading.legend.hidden = false;
    } catch (e) {
      if (isAbort(e)) return;
      setStatus(e.detail || e.message);
    }
  }

  // ------------------------------------------------------------------ URL state

  /** The view, the selected point and the chosen activity live in the URL's hash
   *  (`#map=zoom/lat/lon&p=lon,lat&kbli=CODE`), so a shared link opens the same view and answer. */
  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const numbers = (key, sep) => (params.get(key) || '').split(sep).filter((v) => v !== '').map(Number);
    const view = numbers('map', '/');
    const point = numbers('p', ',');
    const kbli = params.get('kbli') || '';
    const at = params.get('at') || '';
    const ring = (params.get('parcel') || '').split(';').filter((v) => v !== '')
      .map((pair) => pair.split(',').map(Number));
    const closedRing = ring.length >= 4 && ring.length <= 500
      && ring.every((c) => c.length === 2 && c.every(Number.isFinite))
      && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1];
    return {
      parcel: closedRing ? ring : null,
      at: /^\d{4}-\d{2}-\d{2}$/.test(at) ? at : null,
      view: view.length === 3 && view.every(Number.isFinite) ? { zoom: view[0], lat: view[1], lon: view[2] } : null,
      point: point.length === 2 && point.every(Number.isFinite) ? { lon: point[0], lat: point[1] } : null,
      kbli: /^[0-9A-Z]{1,5}$/.test(kbli) ? kbli : null,
    };
  }

  function writeHash() {
    const c = map.getCenter();
    const parts = [`map=${map.getZoom().toFixed(2)}/${c.lat.toFixed(6)}/${c.lng.toFixed(6)}`];
    if (state.last && state.last.kind === 'point') parts.push(`p=${state.last.lon.toFixed(6)},${state.last.lat.toFixed(6)}`);
    if (state.last && state.last.kind === 'parcel') {
      parts.push(`parcel=${state.last.ring.map((c) => `${c[0].toFixed(7)},${c[1].toFixed(7)}`).join(';')}`);
    }
    if (state.selected && state.selected.kbli) parts.push(`kbli=${encodeURIComponent(state.selected.kbli)}`);
    if (state.at) parts.push(`at=${state.at}`);
    const hash = `#${parts.join('&')}`;
    if (hash !== location.hash) history.replaceState(null, '', hash);
  }

  async function restoreFromHash() {
    const wanted = readHash();
    if (wanted.at) {
      state.at = wanted.at;
      atInput.value = wanted.at;
    }
    if (wanted.view) map.jumpTo({ center: [wanted.view.lon, wanted.view.lat], zoom: wanted.view.zoom });
    if (wanted.kbli) {
      try {
        const data = await api(`/api/v1/activities?${new URLSearchParams({ q: wanted.kbli, limit: '50' })}`);
        const hit = (Array.isArray(data.kbli) ? data.kbli : []).find((h) => h.kbli === wanted.kbli);
        if (hit) {
          selectActivity({
            kbli: hit.kbli, title: hit.title,
            activityId: hit.activity ? hit.activity.id : null,
            activityName: hit.activity ? hit.activity.name : null,
          });
        }
      } catch (e) {
        setStatus(e.detail || e.message);
      }
    }
    if (wanted.parcel) {
      state.parcelRing = wanted.parcel;
      await mapReady;
      renderDraw();
      lookupParcel(wanted.parcel);
    } else if (wanted.point) {
      lookupPoint(wanted.point.lon, wanted.point.lat);
    }
  }

  // ------------------------------------------------------------------ which regulation

  /** Answers as in force on a chosen day (`at`); empty: today. The map itself shows today's zoning. */
  const atInput = $('at-input');
  atInput.addEventListener('change', () => {
    state.at = /^\d{4}-\d{2}-\d{2}$/.test(atInput.value) ? atInput.value : null;
    setStatus(state.at ? `Jawaban menurut rencana yang berlaku pada ${state.at} (answers as in force on that day).` : 'Jawaban menurut rencana yang berlaku hari ini (as in force today).');
    writeHash();
    rerunLast();
  });

  map.on('moveend', writeHash);
  restoreFromHash();

  window.satupeta = { map, state };
})();
