// DPPR staff's KRK page (/krk/staff): sign in (a cookie session, as on the publishing page), the
// queue of submitted applications (oldest first), the review of one (the parcel over the zoning,
// the draft, the findings to look at), and the decision: issue the certificate, or refuse it with
// a reason. The issued and refused lists are tabs; an issued certificate can be revoked, with a
// reason. A 401 from the list means nobody is signed in.

import {
  FUNCTION_LABEL, call, classBadge, date, findingsBox, h, localPath, m2, makeMap, message, pdfLink,
  renderDraft, showParcel, statusBadge, verifyLink,
} from './krk-status.js';
import { showSignIn, showStaff, wireSession } from './staff-session.js';

const $ = (id) => document.getElementById(id);
const LIST = '/api/v1/krk/applications';

/** The list shown, the application reviewed, and the review's map (a promise of it) and its box. */
const view = { tab: 'submitted', apps: [], selected: null, map: null, mapBox: null };

function setStatus(text, error = false) {
  $('staff-status').textContent = text || '';
  $('staff-status').className = error ? 'error' : 'muted';
}

/** The failure of a call: the sign-in form on 401, the detail otherwise. */
function failed(e, what) {
  if (e.status === 401) {
    showSignIn('Sesi berakhir: masuk kembali.');
    return;
  }
  if (e.status === 403) {
    setStatus(`${what}: akun ini bukan akun petugas DPPR.`, true);
    return;
  }
  setStatus(`${what}: ${e.detail || e.message}`, true);
}

// ---------- the lists ----------

const COLUMNS = {
  submitted: ['Diajukan', 'Pemohon', 'Luas persil', 'Kelurahan', 'Kelas kegiatan', 'Temuan'],
  issued: ['Nomor KRK', 'Diterbitkan', 'Pemohon', 'Luas persil', 'Kelurahan', 'Status', ''],
  refused: ['Ditolak', 'Pemohon', 'Luas persil', 'Kelurahan', 'Alasan'],
};

function findingsCell(app) {
  const n = ((app.draft && app.draft.findings) || []).length;
  return n ? h('span', { class: 'tag tag-warn', title: 'Temuan yang perlu diperiksa', text: `${n} temuan` }) : h('span', { class: 'muted', text: '0' });
}

function row(app) {
  const d = app.draft || {};
  const name = h('button', { type: 'button', class: 'open', text: app.applicant ? app.applicant.name : app.id, title: 'Buka pemeriksaan' });
  const td = (content, cls) => h('td', { class: cls || null }, content);
  let cells;
  if (view.tab === 'submitted') {
    cells = [td(date(app.submitted_at, true)), td(name, 'cell-wrap'), td(m2(app.parcel_area_m2), 'num'), td(d.kelurahan || '–'),
      td(d.activity ? classBadge(d.activity.class) : h('span', { class: 'muted', text: '–' })), td(findingsCell(app))];
  } else if (view.tab === 'issued') {
    const revoke = app.revoked ? null : h('button', {
      type: 'button', class: 'btn btn-danger', text: 'Cabut',
      onclick: (e) => {
        e.stopPropagation();
        openReview(app.id).then(() => { if ($('revoke-reason')) $('revoke-reason').focus(); });
      },
    });
    cells = [td(h('span', { class: 'mono', text: app.number || '–' })), td(date(app.decided_at, true)), td(name, 'cell-wrap'),
      td(m2(app.parcel_area_m2), 'num'), td(d.kelurahan || '–'),
      td(app.revoked ? h('span', { class: 'krk-badge krk-badge-revoked', text: 'dicabut' }) : h('span', { class: 'krk-badge krk-badge-issued', text: 'berlaku' })),
      td(revoke)];
  } else {
    cells = [td(date(app.decided_at, true)), td(name, 'cell-wrap'), td(m2(app.parcel_area_m2), 'num'), td(d.kelurahan || '–'),
      td(app.refusal_reason || '–', 'cell-wrap')];
  }
  const tr = h('tr', { dataset: { id: app.id }, class: view.selected && view.selected.id === app.id ? 'selected' : null }, cells);
  tr.addEventListener('click', () => openReview(app.id));
  return tr;
}

function renderList() {
  const thead = $('queue').querySelector('thead tr');
  thead.replaceChildren(...COLUMNS[view.tab].map((c) => h('th', { scope: 'col', text: c })));
  const body = $('queue').querySelector('tbody');
  if (!view.apps.length) {
    const empty = { submitted: 'Antrean kosong: tidak ada permohonan yang menunggu.', issued: 'Belum ada KRK yang terbit.', refused: 'Belum ada permohonan yang ditolak.' };
    body.replaceChildren(h('tr', { class: 'krk-empty-row' }, h('td', { colspan: String(COLUMNS[view.tab].length), class: 'krk-empty', text: empty[view.tab] })));
  } else {
    body.replaceChildren(...view.apps.map(row));
  }
  $('queue-caption').textContent = `Permohonan KRK: ${$(`tab-${view.tab}`).textContent.trim()}`;
}

/** Loads the current tab's list; true when signed in as staff. */
async function loadList() {
  let answer;
  try {
    answer = await call('GET', `${LIST}?status=${view.tab}`);
  } catch (e) {
    if (e.status === 401) {
      showSignIn();
      return false;
    }
    showStaff();
    failed(e, 'Daftar tidak dapat dimuat');
    return false;
  }
  view.apps = answer.applications || [];
  if (view.tab === 'submitted') $('count-submitted').textContent = String(view.apps.length);
  showStaff();
  renderList();
  return true;
}

async function whoami() {
  try {
    const me = await call('GET', '/api/v1/me');
    $('whoami').textContent = `Masuk sebagai ${me.name}${me.role ? ` (${me.role})` : ''}`;
  } catch (e) {
    $('whoami').textContent = '';
  }
}

function selectTab(tab) {
  view.tab = tab;
  for (const b of document.querySelectorAll('.krk-tabs [role=tab]')) b.setAttribute('aria-selected', String(b.dataset.status === tab));
  setStatus('');
  loadList();
}

// ---------- the review ----------

function facts(app) {
  const a = app.applicant || {};
  return h('dl', { class: 'facts' },
    h('dt', { text: 'Pemohon' }), h('dd', { class: 'krk-strong', text: a.name || '–' }),
    h('dt', { text: 'NIK / NIB' }), h('dd', { class: 'mono', text: a.id_number || '–' }),
    h('dt', { text: 'Alamat' }), h('dd', { text: a.address || '–' }),
    h('dt', { text: 'Kontak' }), h('dd', { text: [a.phone, a.email].filter(Boolean).join(' · ') || '–' }),
    h('dt', { text: 'Alas hak' }), h('dd', { text: `${a.title_kind || ''} ${a.title_number || ''}`.trim() || '–' }),
    h('dt', { text: 'Fungsi bangunan' }), h('dd', { text: FUNCTION_LABEL[app.building_function] || app.building_function || '–' }),
    h('dt', { text: 'Kegiatan (KBLI)' }), h('dd', { text: app.draft && app.draft.activity ? `${app.draft.activity.kbli} ${app.draft.activity.title}` : app.activity || '–' }),
    h('dt', { text: 'Luas persil' }), h('dd', { text: m2(app.parcel_area_m2) }),
    h('dt', { text: 'Lokasi' }), h('dd', { text: app.draft ? `Kel. ${app.draft.kelurahan || '–'}, Kec. ${app.draft.kecamatan || '–'}` : '–' }),
    h('dt', { text: 'Diajukan' }), h('dd', { text: date(app.submitted_at, true) }),
    app.decided_at ? [h('dt', { text: 'Diputuskan' }), h('dd', { text: date(app.decided_at, true) })] : null,
    h('dt', { text: 'Id permohonan' }), h('dd', { class: 'mono small', text: app.id }));
}

/** What changed between a draft and the certificate, in words. */
function changeName(change) {
  return { 'sub-zones': 'sub-zona', intensity: 'intensitas', activity: 'kelas kegiatan', setbacks: 'sempadan', overlays: 'overlay' }[change] || change;
}

/** The certificate's number and links (after issuing, or of an issued application). */
function issuedBox(app, issued) {
  const number = issued ? issued.number : app.number;
  const pdf = issued ? localPath(issued.pdf_url) : pdfLink(app.id);
  const verify = issued ? localPath(issued.qr || issued.verification_url) : verifyLink(number);
  return h('div', { class: `krk-msg ${app.revoked ? 'krk-msg-warn' : 'krk-msg-ok'}`, id: 'issued-box' },
    h('p', {}, issued ? 'KRK diterbitkan dan ditandatangani: ' : 'KRK terbit: ',
      h('span', { class: 'krk-number', id: 'issued-number', text: number || '' })),
    app.revoked ? h('p', { class: 'krk-strong', text: 'KRK ini telah dicabut.' }) : null,
    issued && issued.changed_since_submission && issued.changed_since_submission.length
      ? h('p', { class: 'krk-strong', id: 'issued-changed', text: `Rencana berubah sejak pengajuan (${issued.changed_since_submission.map(changeName).join(', ')}): KRK memuat ketentuan yang berlaku saat terbit, bukan rancangan di bawah.` })
      : null,
    h('p', { class: 'krk-actions' },
      h('a', { class: 'btn btn-primary', id: 'issued-pdf', href: pdf, target: '_blank', rel: 'noopener', text: 'Unduh PDF' }),
      h('a', { class: 'btn', id: 'issued-verify', href: verify, target: '_blank', rel: 'noopener', text: 'Halaman verifikasi' })),
    issued ? h('p', { class: 'small muted' },
      `PDF ${Math.round(issued.pdf_bytes / 1024).toLocaleString('id-ID')} KB · SHA-256 `, h('span', { class: 'mono', text: issued.pdf_sha256 }),
      ` · kunci ${issued.key_id}`) : null);
}

function decisionBox(app) {
  if (app.status === 'submitted') {
    const reason = h('textarea', {
      id: 'refuse-reason', rows: '3', maxlength: '2000', placeholder: 'mis. Persil berada di luar wilayah rencana; alas hak tidak sesuai.',
      oninput: (e) => e.target.removeAttribute('aria-invalid'),
    });
    return h('section', { class: 'krk-decide', id: 'decision', 'aria-label': 'Keputusan' },
      h('h3', { text: 'Keputusan' }),
      h('div', { class: 'krk-decide-grid' },
        h('div', {},
          h('p', { class: 'small', text: 'Periksa temuan, tabel sub-zona dan peta sebelum menerbitkan. KRK diterbitkan menurut rencana yang berlaku saat tombol ditekan, ditandatangani secara elektronik.' }),
          h('button', { type: 'button', class: 'btn btn-issue', id: 'issue', onclick: () => issue(app) }, 'Terbitkan KRK')),
        h('div', {},
          h('label', { for: 'refuse-reason', class: 'krk-strong', text: 'Alasan penolakan (wajib untuk menolak)' }),
          reason,
          h('button', { type: 'button', class: 'btn btn-danger', id: 'refuse', onclick: () => refuse(app) }, 'Tolak'))),
      h('div', { id: 'decision-result', 'aria-live': 'polite' }));
  }
  if (app.status === 'issued') {
    const box = h('section', { class: 'krk-decide', id: 'decision', 'aria-label': 'KRK terbit' }, issuedBox(app));
    if (!app.revoked) {
      box.append(h('h3', { text: 'Cabut KRK' }),
        h('label', { for: 'revoke-reason', class: 'small', text: 'Alasan pencabutan (wajib; tampil di halaman verifikasi)' }),
        h('textarea', { id: 'revoke-reason', rows: '2', maxlength: '2000', oninput: (e) => e.target.removeAttribute('aria-invalid') }),
        h('button', { type: 'button', class: 'btn btn-danger', id: 'revoke', onclick: () => revoke(app) }, 'Cabut'));
    }
    box.append(h('div', { id: 'decision-result', 'aria-live': 'polite' }));
    return box;
  }
  return h('section', { class: 'krk-decide', id: 'decision' },
    message('error', h('p', { class: 'krk-strong', text: 'Permohonan ditolak.' }), h('p', { text: `Alasan: ${app.refusal_reason || '–'}` })));
}

function renderReview(app) {
  const review = $('review');
  const mapBox = view.mapBox || h('div', { id: 'review-map', class: 'krk-map', role: 'img', 'aria-label': 'Persil di atas peta zonasi' });
  view.mapBox = mapBox;
  const findings = (app.draft && app.draft.findings) || [];
  review.replaceChildren(
    h('div', { class: 'krk-review-head' },
      h('h2', { id: 'review-title', text: `Pemeriksaan: ${app.applicant ? app.applicant.name : app.id}` }),
      statusBadge(app, 'review-status'),
      h('button', { type: 'button', class: 'btn', id: 'review-close', text: 'Tutup', onclick: closeReview })),
    h('div', { class: 'krk-two' },
      h('div', {}, facts(app), h('h3', { class: 'krk-section-title', text: findings.length ? 'Temuan yang harus diperiksa' : 'Temuan' }),
        findingsBox(findings, { strong: true })),
      mapBox),
    decisionBox(app),
    h('h3', { text: 'Rancangan ketentuan' }),
    renderDraft(app.draft, { findings: false }));
  review.hidden = false;
  // One map for every review, made the first time the panel shows (a hidden container has no size).
  if (!view.map) view.map = makeMap(mapBox, { parcel: app.parcel });
  view.map.then((map) => {
    if (!map || !view.selected) return;
    map.resize();
    showParcel(map, view.selected.parcel);
  });
}

async function openReview(id) {
  let app;
  try {
    app = await call('GET', `${LIST}/${encodeURIComponent(id)}`);
  } catch (e) {
    failed(e, 'Permohonan tidak dapat dimuat');
    return;
  }
  view.selected = app;
  for (const tr of $('queue').querySelectorAll('tr[data-id]')) tr.classList.toggle('selected', tr.dataset.id === id);
  renderReview(app);
  $('review').scrollIntoView({ block: 'start', behavior: 'smooth' });
  $('review').focus({ preventScroll: true });
}

function closeReview() {
  view.selected = null;
  $('review').hidden = true;
  for (const tr of $('queue').querySelectorAll('tr.selected')) tr.classList.remove('selected');
}

function decisionResult(...children) {
  $('decision-result').replaceChildren(...children);
}

function busy(ids, on) {
  for (const id of ids) if ($(id)) $(id).disabled = on;
}

async function issue(app) {
  busy(['issue', 'refuse'], true);
  $('issue').textContent = 'Menerbitkan…';
  try {
    const issued = await call('POST', `${LIST}/${encodeURIComponent(app.id)}/issue`);
    app.status = 'issued';
    app.number = issued.number;
    $('review-status').replaceWith(statusBadge(app, 'review-status'));
    $('decision').replaceChildren(h('h3', { text: 'Keputusan' }), issuedBox(app, issued));
    setStatus(`KRK ${issued.number} diterbitkan.`);
    loadList();
  } catch (e) {
    if (e.status === 401) {
      failed(e);
      return;
    }
    $('issue').textContent = 'Terbitkan KRK';
    busy(['issue', 'refuse'], false);
    decisionResult(message('error', h('p', { text: `KRK tidak dapat diterbitkan: ${e.detail || e.message}` })));
  }
}

async function refuse(app) {
  const reason = $('refuse-reason').value.trim();
  if (!reason) {
    $('refuse-reason').setAttribute('aria-invalid', 'true');
    decisionResult(message('error', h('p', { text: 'Tulis alasan penolakan: pemohon akan membacanya.' })));
    $('refuse-reason').focus();
    return;
  }
  busy(['issue', 'refuse'], true);
  try {
    const refused = await call('POST', `${LIST}/${encodeURIComponent(app.id)}/refuse`, { body: { reason } });
    view.selected = refused;
    renderReview(refused);
    setStatus('Permohonan ditolak; pemohon melihat alasannya di halaman statusnya.');
    loadList();
  } catch (e) {
    if (e.status === 401) {
      failed(e);
      return;
    }
    busy(['issue', 'refuse'], false);
    decisionResult(message('error', h('p', { text: `Permohonan tidak dapat ditolak: ${e.detail || e.message}` })));
  }
}

async function revoke(app) {
  const reason = $('revoke-reason').value.trim();
  if (!reason) {
    $('revoke-reason').setAttribute('aria-invalid', 'true');
    decisionResult(message('error', h('p', { text: 'Tulis alasan pencabutan: halaman verifikasi akan menampilkannya.' })));
    $('revoke-reason').focus();
    return;
  }
  busy(['revoke'], true);
  try {
    const answer = await call('POST', `${LIST}/${encodeURIComponent(app.id)}/revoke`, { body: { reason } });
    app.revoked = true;
    renderReview(app);
    decisionResult(message('warn', h('p', { text: `KRK ${answer.number} dicabut.` })));
    setStatus(`KRK ${answer.number} dicabut.`);
    loadList();
  } catch (e) {
    if (e.status === 401) {
      failed(e);
      return;
    }
    busy(['revoke'], false);
    decisionResult(message('error', h('p', { text: `KRK tidak dapat dicabut: ${e.detail || e.message}` })));
  }
}

function init() {
  wireSession(async () => { if (await loadList()) whoami(); }, closeReview);
  for (const b of document.querySelectorAll('.krk-tabs [role=tab]')) b.addEventListener('click', () => selectTab(b.dataset.status));
  loadList().then((ok) => { if (ok) whoami(); });
}

init();
