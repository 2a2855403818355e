// A report's public page (/lapor/{id}): what was reported, its state with the public notes of
// DPPR in order, what is due by when, and its photos once verified. No personal data is shown
// (the API never sends any).

import { call, date, h, message } from './krk-status.js';
import { REPORT_STATUS } from './reports-common.js';

const $ = (id) => document.getElementById(id);

async function init() {
  const id = decodeURIComponent(location.pathname.split('/').pop() || '');
  const body = $('report-body');
  let r;
  try {
    r = await call('GET', `/api/v1/reports/${encodeURIComponent(id)}`);
  } catch (e) {
    body.replaceChildren(message('error', h('p', { text: e.status === 404 ? `Laporan #${id} tidak ada atau disembunyikan.` : e.detail || e.message })));
    return;
  }
  $('report-title').textContent = `Laporan #${r.id}`;
  document.title = `satupeta · Laporan #${r.id}`;
  const due = r.due_on ? `${r.due_kind === 'verification' ? 'Verifikasi' : 'Tanggapan'} paling lambat ${r.due_on}` : '';
  body.replaceChildren(
    h('p', {}, h('span', { class: `krk-badge report-status-${r.status}`, id: 'report-status', text: REPORT_STATUS[r.status] || r.status }), due ? h('span', { class: 'muted', text: ` · ${due}` }) : ''),
    h('p', { class: 'muted small', text: `Diterima ${date(r.requested_at, true)} · Kecamatan ${r.kecamatan}, Kelurahan ${r.kelurahan} · ${r.followers} pengikut` }),
    h('h2', { text: 'Yang dilaporkan' }),
    h('p', { style: 'white-space: pre-wrap', text: r.description }),
    r.address ? h('p', { class: 'small', text: `Alamat: ${r.address}` }) : '',
    r.photo_urls.length ? h('div', { class: 'lapor-photos' }, ...r.photo_urls.map((p) => h('a', { href: p.url }, h('img', { src: p.thumbnail, alt: 'Foto laporan' })))) : '',
    h('h2', { text: 'Tindak lanjut' }),
    h('ol', { class: 'lapor-events', id: 'report-events' }, ...r.events.map((e) => h('li', {},
      h('strong', { text: REPORT_STATUS[e.status] || e.status }), h('span', { class: 'muted small', text: ` · ${date(e.at, true)}` }),
      e.note ? h('p', { text: e.note }) : ''))),
  );
}

init();
