// The public verification page of KRK certificates: /verify (look a number up, or check a PDF) and
// /verify/{number}?s=SIG (what the certificate's QR code opens: its number, with the signature
// printed on it). It asks the same URL for JSON (Accept: application/json) and shows, in
// Bahasa Indonesia or English, whether the certificate is valid, revoked or superseded, whether its
// signature verifies, and the signed content. A PDF uploaded to POST /verify is checked to be
// exactly the issued file. Everything from the server reaches the page as text.

import { h, verifyLink } from './krk-status.js';

const STRINGS = {
  id: {
    'title': 'Verifikasi Keterangan Rencana Kota (KRK)',
    'doc.title': 'Verifikasi KRK · Kota Balikpapan',
    'agency': 'Dinas Pertanahan dan Penataan Ruang Kota Balikpapan',
    'lang': 'EN', 'lang.label': 'Switch to English',
    'loading': 'Memeriksa…', 'loading.why': 'Menghubungi server DPPR.',
    'valid': 'SAH', 'valid.why': 'KRK ini diterbitkan DPPR Kota Balikpapan, tanda tangan digitalnya sah, dan masih berlaku.',
    'revoked': 'DICABUT', 'revoked.why': 'KRK ini asli, tetapi telah dicabut DPPR pada {at} dan tidak berlaku lagi.',
    'revoked.reason': 'Alasan: {reason}',
    'superseded': 'RENCANA TELAH BERUBAH', 'superseded.why': 'KRK ini asli, tetapi rencana tata ruang yang berlaku untuk persilnya telah berubah sejak KRK terbit. Mintalah KRK baru.',
    'superseded.changes': 'Yang berubah: {changes}.',
    'notauthentic': 'TIDAK OTENTIK', 'notauthentic.why': 'Tanda tangan digital isi KRK ini tidak cocok dengan kunci publik DPPR. Jangan gunakan dokumen ini.',
    'notauthentic.qr': 'Tanda tangan pada kode QR atau tautan yang Anda buka bukan tanda tangan KRK bernomor ini: dokumen yang Anda pegang kemungkinan dipalsukan.',
    'redacted': 'Nama pemohon, alas hak dan bentuk persil hanya ditampilkan bila halaman ini dibuka dari kode QR pada KRK atau bila berkas PDF-nya diunggah.',
    'notfound': 'TIDAK TERDAFTAR', 'notfound.why': 'Tidak ada KRK bernomor {number} yang diterbitkan DPPR. Periksa nomornya; bila benar, dokumen itu tidak asli.',
    'error': 'GAGAL MEMERIKSA', 'error.why': 'Verifikasi tidak dapat dilakukan: {detail}',
    'change.sub-zones': 'sub-zona', 'change.intensity': 'intensitas bangunan', 'change.activity': 'kegiatan',
    'change.setbacks': 'sempadan', 'change.overlays': 'ketentuan khusus',
    'summary': 'Isi KRK yang ditandatangani',
    'f.number': 'Nomor', 'f.date': 'Tanggal terbit', 'f.applicant': 'Pemohon', 'f.title': 'Alas hak',
    'f.function': 'Fungsi bangunan', 'f.location': 'Lokasi', 'f.area': 'Luas persil', 'f.subzones': 'Sub-zona',
    'f.limits': 'Batas bangunan', 'f.signatory': 'Penandatangan', 'f.activity': 'Kegiatan',
    'location': 'Kel. {kelurahan}, Kec. {kecamatan}',
    'l.footprint': 'Luas lantai dasar maks. {v}', 'l.floor': 'Luas seluruh lantai maks. {v}', 'l.green': 'Ruang terbuka hijau min. {v}',
    'l.height': 'Tinggi maks. {v} m', 'l.floors': 'Maks. {v} lantai', 'l.gsb': 'Garis sempadan bangunan min. {v} m',
    'l.none': 'Rencana tidak menetapkan batas bangunan.',
    'notbuildable': 'tidak boleh dibangun',
    'fn.hunian': 'Hunian', 'fn.keagamaan': 'Keagamaan', 'fn.usaha': 'Usaha', 'fn.sosial-budaya': 'Sosial dan budaya',
    'fn.khusus': 'Khusus', 'fn.campuran': 'Campuran',
    'class.I': 'diizinkan', 'class.T': 'diizinkan terbatas', 'class.B': 'diizinkan bersyarat', 'class.TB': 'diizinkan terbatas dan bersyarat', 'class.X': 'tidak diizinkan',
    'sig': 'Pemeriksaan tanda tangan',
    'sig.ok': 'Tanda tangan digital (Ed25519) atas isi KRK sah menurut kunci publik DPPR {key}.',
    'sig.bad': 'Tanda tangan digital atas isi KRK TIDAK sah menurut kunci publik DPPR {key}.',
    'sig.qr.ok': 'Tanda tangan pada kode QR cocok dengan KRK ini.',
    'sig.qr.bad': 'Tanda tangan pada kode QR TIDAK cocok dengan KRK ini.',
    'sig.qr.none': 'Halaman dibuka tanpa tanda tangan kode QR: hanya catatan DPPR yang diperiksa.',
    'sig.pdf': 'Sidik jari (SHA-256) PDF yang diterbitkan: unggah PDF Anda di bawah untuk memastikan berkas itu persis sama.',
    'sig.pdf.same': 'Berkas PDF yang Anda unggah persis sama dengan yang diterbitkan (SHA-256 di bawah).',
    'upload.title': 'Periksa berkas PDF',
    'upload.hint': 'Unggah PDF KRK yang Anda terima untuk memastikan berkas itu persis dokumen yang diterbitkan DPPR (tidak diubah sedikit pun).',
    'upload.file': 'Berkas PDF KRK', 'upload.submit': 'Periksa', 'upload.busy': 'Memeriksa berkas…',
    'upload.none': 'Pilih berkas PDF dulu.',
    'upload.ok': 'Berkas ini PERSIS KRK nomor {number} yang diterbitkan DPPR.',
    'upload.bad': 'Berkas ini BUKAN KRK asli yang diterbitkan DPPR, atau telah diubah.',
    'upload.failed': 'Berkas tidak dapat diperiksa: {detail}',
    'lookup.title': 'Cari menurut nomor', 'lookup.label': 'Nomor KRK', 'lookup.submit': 'Cari',
    'lookup.hint': 'Nomor tercetak di bagian atas KRK. Memindai kode QR pada KRK langsung membuka halaman ini.',
    'lookup.empty': 'Tulis nomor KRK, mis. 0001/KRK/DPPR/XI/2026.',
    'foot.map': 'Peta zonasi', 'foot.apply': 'Ajukan KRK', 'foot.keys': 'Kunci publik (JWKS)',
    'network': 'server tidak dapat dihubungi',
  },
  en: {
    'title': 'City plan certificate (KRK) verification',
    'doc.title': 'KRK verification · City of Balikpapan',
    'agency': 'Land and Spatial Planning Agency (DPPR), City of Balikpapan',
    'lang': 'ID', 'lang.label': 'Ganti ke Bahasa Indonesia',
    'loading': 'Checking…', 'loading.why': 'Asking the DPPR server.',
    'valid': 'VALID', 'valid.why': 'This KRK was issued by DPPR Balikpapan, its digital signature verifies, and it is in force.',
    'revoked': 'REVOKED', 'revoked.why': 'This KRK is authentic, but DPPR revoked it on {at}: it is no longer in force.',
    'revoked.reason': 'Reason: {reason}',
    'superseded': 'SUPERSEDED', 'superseded.why': 'This KRK is authentic, but the spatial plan in force for its parcel has changed since it was issued. Ask for a new one.',
    'superseded.changes': 'What changed: {changes}.',
    'notauthentic': 'NOT AUTHENTIC', 'notauthentic.why': 'The digital signature of this KRK’s content does not verify with DPPR’s public key. Do not rely on this document.',
    'notauthentic.qr': 'The signature in the QR code or link you opened is not this KRK’s: the document you hold is probably forged.',
    'redacted': 'The applicant’s name, land title and parcel outline are shown only when this page is opened from the KRK’s QR code or its PDF is uploaded.',
    'notfound': 'NOT FOUND', 'notfound.why': 'DPPR issued no KRK numbered {number}. Check the number; if it is right, the document is not genuine.',
    'error': 'CHECK FAILED', 'error.why': 'The verification could not be done: {detail}',
    'change.sub-zones': 'sub-zones', 'change.intensity': 'building intensity', 'change.activity': 'activity',
    'change.setbacks': 'setbacks', 'change.overlays': 'special provisions',
    'summary': 'Signed content of the KRK',
    'f.number': 'Number', 'f.date': 'Issued on', 'f.applicant': 'Applicant', 'f.title': 'Land title',
    'f.function': 'Building function', 'f.location': 'Location', 'f.area': 'Parcel area', 'f.subzones': 'Sub-zones',
    'f.limits': 'Building limits', 'f.signatory': 'Signed by', 'f.activity': 'Activity',
    'location': 'Kelurahan {kelurahan}, Kecamatan {kecamatan}',
    'l.footprint': 'Max. footprint {v}', 'l.floor': 'Max. total floor area {v}', 'l.green': 'Min. green open space {v}',
    'l.height': 'Max. height {v} m', 'l.floors': 'Max. {v} floors', 'l.gsb': 'Min. building setback {v} m',
    'l.none': 'The plan sets no building limits.',
    'notbuildable': 'no building allowed',
    'fn.hunian': 'Residential', 'fn.keagamaan': 'Religious', 'fn.usaha': 'Business', 'fn.sosial-budaya': 'Social and cultural',
    'fn.khusus': 'Special', 'fn.campuran': 'Mixed',
    'class.I': 'permitted', 'class.T': 'permitted with limits', 'class.B': 'permitted with conditions', 'class.TB': 'permitted with limits and conditions', 'class.X': 'not permitted',
    'sig': 'Signature check',
    'sig.ok': 'The digital signature (Ed25519) over the KRK’s content verifies with DPPR’s public key {key}.',
    'sig.bad': 'The digital signature over the KRK’s content does NOT verify with DPPR’s public key {key}.',
    'sig.qr.ok': 'The signature in the QR code matches this KRK.',
    'sig.qr.bad': 'The signature in the QR code does NOT match this KRK.',
    'sig.qr.none': 'Opened without the QR code’s signature: only DPPR’s record was checked.',
    'sig.pdf': 'Fingerprint (SHA-256) of the issued PDF: upload your PDF below to make sure it is exactly the same file.',
    'sig.pdf.same': 'The PDF you uploaded is exactly the issued file (SHA-256 below).',
    'upload.title': 'Check a PDF file',
    'upload.hint': 'Upload the KRK PDF you received to make sure it is exactly the document DPPR issued (not altered in any way).',
    'upload.file': 'KRK PDF file', 'upload.submit': 'Check', 'upload.busy': 'Checking the file…',
    'upload.none': 'Choose a PDF file first.',
    'upload.ok': 'This file is EXACTLY KRK number {number} as issued by DPPR.',
    'upload.bad': 'This file is NOT a genuine KRK issued by DPPR, or it was altered.',
    'upload.failed': 'The file could not be checked: {detail}',
    'lookup.title': 'Look up by number', 'lookup.label': 'KRK number', 'lookup.submit': 'Look up',
    'lookup.hint': 'The number is printed at the top of the KRK. Scanning the KRK’s QR code opens this page directly.',
    'lookup.empty': 'Type a KRK number, e.g. 0001/KRK/DPPR/XI/2026.',
    'foot.map': 'Zoning map', 'foot.apply': 'Apply for a KRK', 'foot.keys': 'Public keys (JWKS)',
    'network': 'the server cannot be reached',
  },
};

/** The site's remembered language (shared with the map page), else the browser's. */
const LANG_KEY = 'satupeta.lang';
let lang = (() => {
  try {
    const stored = localStorage.getItem(LANG_KEY);
    if (stored === 'id' || stored === 'en') return stored;
  } catch (e) {
    // Storage off: the browser's language decides.
  }
  return /^en\b/i.test(navigator.language || '') ? 'en' : 'id';
})();

function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

const $ = (id) => document.getElementById(id);
const locale = () => (lang === 'en' ? 'en-GB' : 'id-ID');
const isNum = (v) => v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v));
const num = (v, frac = 1) => (isNum(v) ? Number(v).toLocaleString(locale(), { maximumFractionDigits: frac }) : '–');
const m2 = (v) => (isNum(v) ? `${num(v, Math.abs(Number(v)) < 100 ? 1 : 0)} m²` : '–');

function day(s, withTime = false) {
  if (!s) return '–';
  const plain = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
  const d = plain ? new Date(Date.UTC(+plain[1], +plain[2] - 1, +plain[3], 12)) : new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  const options = { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Asia/Makassar' };
  if (withTime && !plain) Object.assign(options, { hour: '2-digit', minute: '2-digit' });
  return `${d.toLocaleString(locale(), options)}${withTime && !plain ? ' WITA' : ''}`;
}

/** What the page shows: the last verification (or failure), and the last upload's outcome. */
const shown = { kind: null, data: null, number: null, upload: null };

// ---------- the verdict ----------

/** The page's status word for a verification: not-authentic, revoked, superseded or valid. */
function verdict(v) {
  if (!v.authentic || v.presented_signature_matches === false) return 'not-authentic';
  if (v.status === 'revoked') return 'revoked';
  if (v.status === 'superseded') return 'superseded';
  if (v.status === 'valid') return 'valid';
  return 'not-authentic';
}

function banner(status, word, ...why) {
  const icon = { valid: '✓', revoked: '!', superseded: '!', loading: '…' }[status] || '✕';
  return h('section', { class: 'v-status', id: 'verify-status', dataset: { status }, role: 'status' },
    h('span', { class: 'icon', 'aria-hidden': 'true', text: icon }),
    h('div', {}, h('p', { class: 'word', text: word }), ...why.filter(Boolean).map((w) => h('p', { class: 'why', text: w }))));
}

function statusBanner(v) {
  const status = verdict(v);
  if (status === 'not-authentic') {
    return banner(status, t('notauthentic'), v.authentic ? t('notauthentic.qr') : t('notauthentic.why'));
  }
  if (status === 'revoked') {
    const r = v.revocation || {};
    return banner(status, t('revoked'), t('revoked.why', { at: day(r.at, true) }), r.reason ? t('revoked.reason', { reason: r.reason }) : null);
  }
  if (status === 'superseded') {
    const changes = ((v.superseded && v.superseded.changes) || []).map((c) => t(`change.${c}`)).join(', ');
    return banner(status, t('superseded'), t('superseded.why'), changes ? t('superseded.changes', { changes }) : null);
  }
  return banner(status, t('valid'), t('valid.why'));
}

/** A small outline of the parcel (an SVG of its rings, north up), to compare with the PDF's map. */
function shape(parcel) {
  const g = parcel && (parcel.type === 'Feature' ? parcel.geometry : parcel);
  const polygons = !g ? [] : g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  const points = polygons.flat(2);
  if (!points.length) return null;
  const lat0 = points.reduce((s, p) => s + p[1], 0) / points.length;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  const xs = points.map((p) => p[0] * kx);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const size = Math.max(x1 - x0, y1 - y0) || 1;
  const scale = 100 / size;
  const ox = (100 - (x1 - x0) * scale) / 2;
  const oy = (100 - (y1 - y0) * scale) / 2;
  const d = polygons.map((poly) => poly.map((ring) => `M${ring.map((p) => `${(ox + (p[0] * kx - x0) * scale).toFixed(2)},${(oy + (y1 - p[1]) * scale).toFixed(2)}`).join('L')}Z`).join('')).join('');
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '-8 -8 116 116');
  svg.setAttribute('class', 'v-shape');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', 'rgba(29,78,216,0.15)');
  path.setAttribute('stroke', '#1d4ed8');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('fill-rule', 'evenodd');
  path.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(path);
  return svg;
}

/** The limits on the whole parcel; the setback is the parcel's front setback (the larger of the
 * sub-zone's and the fronting road's), as the certificate states it. */
function limitsList(limits, frontSetback) {
  if (!limits) return h('span', { class: 'muted', text: t('l.none') });
  const items = [
    [limits.max_footprint_m2, 'l.footprint', m2], [limits.max_floor_area_m2, 'l.floor', m2], [limits.min_green_m2, 'l.green', m2],
    [limits.max_height_m, 'l.height', (v) => num(v)], [limits.max_floors, 'l.floors', (v) => num(v, 0)], [frontSetback, 'l.gsb', (v) => num(v)],
  ].filter(([v]) => isNum(v));
  return h('ul', { class: 'v-parts' }, items.map(([v, key, f]) => h('li', { text: t(key, { v: f(v) }) })));
}

function summary(v) {
  const p = v.payload || {};
  const d = p.draft || {};
  const applicant = p.applicant || {};
  const issuer = p.issuer || {};
  const parts = d.parts || [];
  const dd = (text, cls) => h('dd', { class: cls || null, text: text || '–' });
  return h('section', { class: 'v-card', id: 'verify-summary' },
    h('h2', { text: t('summary') }),
    shape(p.parcel),
    h('dl', { class: 'facts' },
      h('dt', { text: t('f.number') }), dd(p.number || v.number, 'v-number'),
      h('dt', { text: t('f.date') }), dd(day(p.issued_on || v.issued_on)),
      h('dt', { text: t('f.applicant') }), dd(applicant.name),
      h('dt', { text: t('f.title') }), dd(applicant.land_title),
      h('dt', { text: t('f.function') }), dd(p.building_function ? t(`fn.${p.building_function}`) : null),
      h('dt', { text: t('f.location') }), dd(t('location', { kelurahan: d.kelurahan || '–', kecamatan: d.kecamatan || '–' })),
      h('dt', { text: t('f.area') }), dd(m2(d.area_m2)),
      d.activity ? [h('dt', { text: t('f.activity') }), dd(`KBLI ${d.activity.kbli} ${d.activity.title || ''}${d.activity.class ? ` (${d.activity.class}: ${t(`class.${d.activity.class}`)})` : ''}`)] : null,
      h('dt', { text: t('f.subzones') }),
      h('dd', {}, parts.length ? h('ul', { class: 'v-parts' }, parts.map((part) => h('li', {},
        h('span', { class: 'swatch', style: `background:${/^#[0-9a-fA-F]{6}$/.test(part.color || '') ? part.color : '#cccccc'}` }),
        h('span', { class: 'name' }, h('b', { text: part.subzone }), ` ${part.name || ''}`, part.buildable === false ? ` (${t('notbuildable')})` : ''),
        h('span', { class: 'area', text: m2(part.area_m2) })))) : '–'),
      h('dt', { text: t('f.limits') }), h('dd', {}, limitsList(d.totals && d.totals.limits, d.totals && d.totals.front_setback_m)),
      h('dt', { text: t('f.signatory') }),
      h('dd', {}, h('div', { text: issuer.signatory || '–' }),
        h('div', { class: 'small', text: [issuer.position, issuer.nip ? `NIP ${issuer.nip}` : null].filter(Boolean).join(' · ') }),
        h('div', { class: 'small muted', text: issuer.agency || '' }))),
    v.redacted ? h('p', { class: 'small muted', id: 'verify-redacted', text: t('redacted') }) : null);
}

function checks(v, uploaded) {
  const item = (kind, text, extra) => h('li', {}, h('span', { class: `mark ${kind}`, 'aria-hidden': 'true', text: kind === 'ok' ? '✓' : kind === 'bad' ? '✕' : 'i' }),
    h('div', {}, h('span', { text }), extra || null));
  const key = v.key_id || (v.payload && v.payload.key_id) || '';
  const list = [item(v.authentic ? 'ok' : 'bad', t(v.authentic ? 'sig.ok' : 'sig.bad', { key }))];
  if (v.presented_signature_matches === true) list.push(item('ok', t('sig.qr.ok')));
  else if (v.presented_signature_matches === false) list.push(item('bad', t('sig.qr.bad')));
  else if (!uploaded) list.push(item('info', t('sig.qr.none')));
  list.push(item(uploaded ? 'ok' : 'info', t(uploaded ? 'sig.pdf.same' : 'sig.pdf'), h('div', { class: 'v-hash', text: v.pdf_sha256 || '' })));
  return h('section', { class: 'v-card', id: 'verify-checks' }, h('h2', { text: t('sig') }), h('ul', { class: 'v-check' }, list));
}

function render() {
  const root = $('verify-result');
  if (shown.kind === 'loading') root.replaceChildren(banner('loading', t('loading'), t('loading.why')));
  else if (shown.kind === 'verification') {
    const v = shown.data;
    root.replaceChildren(statusBanner(v), summary(v), checks(v, shown.uploaded));
  } else if (shown.kind === 'not-found') root.replaceChildren(banner('not-found', t('notfound'), t('notfound.why', { number: shown.number })));
  else if (shown.kind === 'error') root.replaceChildren(banner('not-authentic', t('error'), t('error.why', { detail: shown.data })));
  else root.replaceChildren();
  renderUpload();
}

function renderUpload() {
  const u = shown.upload;
  const box = $('upload-result');
  if (!u) {
    box.replaceChildren();
    return;
  }
  if (u.kind === 'busy') box.replaceChildren(h('div', { class: 'v-msg v-msg-info' }, h('p', { text: t('upload.busy') })));
  else if (u.kind === 'none') box.replaceChildren(h('div', { class: 'v-msg v-msg-bad' }, h('p', { text: t('upload.none') })));
  else if (u.kind === 'ok') box.replaceChildren(h('div', { class: 'v-msg v-msg-ok', id: 'upload-verdict', dataset: { authentic: 'true' } }, h('p', { class: 'krk-strong', text: t('upload.ok', { number: u.number }) })));
  else if (u.kind === 'bad') {
    box.replaceChildren(h('div', { class: 'v-msg v-msg-bad', id: 'upload-verdict', dataset: { authentic: 'false' } },
      h('p', { class: 'krk-strong', text: t('upload.bad') }), u.reason ? h('p', { class: 'small', text: u.reason }) : null));
  } else box.replaceChildren(h('div', { class: 'v-msg v-msg-bad' }, h('p', { text: t('upload.failed', { detail: u.detail }) })));
}

// ---------- asking the server ----------

/** The number in the page's path (/verify/0001/KRK/DPPR/XI/2026), or null. */
function pathNumber() {
  const rest = location.pathname.replace(/^\/verify\/?/, '').replace(/\/+$/, '');
  if (!rest) return null;
  try {
    return decodeURIComponent(rest);
  } catch (e) {
    return rest;
  }
}

async function lookUp(number) {
  shown.kind = 'loading';
  render();
  try {
    // The page's own URL, asked for JSON (with the QR code's `s` when it carries one).
    const res = await fetch(location.pathname + location.search, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    const body = await res.json().catch(() => null);
    if (res.status === 404) Object.assign(shown, { kind: 'not-found', number });
    else if (!res.ok || !body) Object.assign(shown, { kind: 'error', data: (body && (body.detail || body.title)) || `HTTP ${res.status}` });
    else Object.assign(shown, { kind: 'verification', data: body, uploaded: false });
  } catch (e) {
    Object.assign(shown, { kind: 'error', data: t('network') });
  }
  render();
}

async function upload(event) {
  event.preventDefault();
  const file = $('upload-file').files[0];
  if (!file) {
    shown.upload = { kind: 'none' };
    renderUpload();
    return;
  }
  shown.upload = { kind: 'busy' };
  renderUpload();
  $('upload-submit').disabled = true;
  try {
    const data = new FormData();
    data.append('file', file);
    const res = await fetch('/verify', { method: 'POST', body: data, headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => null);
    if (!res.ok || !body) throw new Error((body && (body.detail || body.title)) || `HTTP ${res.status}`);
    if (body.authentic && body.verification) {
      shown.upload = { kind: 'ok', number: body.verification.number };
      Object.assign(shown, { kind: 'verification', data: body.verification, uploaded: true });
      render();
      $('verify-result').scrollIntoView({ block: 'start', behavior: 'smooth' });
      return;
    }
    shown.upload = { kind: 'bad', reason: body.reason };
  } catch (e) {
    shown.upload = { kind: 'failed', detail: e.message === 'Failed to fetch' ? t('network') : e.message };
  } finally {
    $('upload-submit').disabled = false;
  }
  // An earlier upload's "exactly the issued PDF" no longer speaks for this file.
  shown.uploaded = false;
  render();
}

function lookupSubmit(event) {
  event.preventDefault();
  const number = $('lookup-number').value.trim().replace(/\s+/g, '').toUpperCase();
  if (!number) {
    $('lookup-number').setCustomValidity(t('lookup.empty'));
    $('lookup-number').reportValidity();
    return;
  }
  location.assign(verifyLink(number));
}

// ---------- language ----------

function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = t('doc.title');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  const toggle = $('lang-toggle');
  toggle.textContent = t('lang');
  toggle.lang = lang === 'id' ? 'en' : 'id';
  toggle.setAttribute('aria-label', t('lang.label'));
}

function switchLanguage() {
  lang = lang === 'id' ? 'en' : 'id';
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch (e) {
    // Switched, not remembered.
  }
  applyLanguage();
  render();
}

function init() {
  applyLanguage();
  $('lang-toggle').addEventListener('click', switchLanguage);
  $('upload-form').addEventListener('submit', upload);
  $('lookup-form').addEventListener('submit', lookupSubmit);
  $('lookup-number').addEventListener('input', () => $('lookup-number').setCustomValidity(''));
  const number = pathNumber();
  if (number) {
    $('lookup-number').value = number;
    lookUp(number);
  } else {
    $('lookup-card').parentNode.insertBefore($('lookup-card'), $('upload-card'));
  }
}

init();
