// The publishing page of agencies and DPPR staff: sign in (session cookie), upload a dataset,
// write its metadata, approve it. Every call goes to the same API scripts use.

const $ = (selector) => document.querySelector(selector);
const TOPICS = ['farming', 'biota', 'boundaries', 'climatologyMeteorologyAtmosphere', 'economy', 'elevation',
  'environment', 'geoscientificInformation', 'health', 'imageryBaseMapsEarthCover', 'intelligenceMilitary',
  'inlandWaters', 'location', 'oceans', 'planningCadastre', 'society', 'structure', 'transportation',
  'utilitiesCommunication'];
const FREQUENCIES = ['continual', 'daily', 'weekly', 'fortnightly', 'monthly', 'quarterly', 'biannually',
  'annually', 'asNeeded', 'irregular', 'notPlanned', 'unknown'];

let me = null;

function status(text, error = false) {
  const el = $('#status');
  el.textContent = text;
  el.className = error ? 'error' : '';
}

async function call(method, url, body, json = true) {
  const options = { method, credentials: 'same-origin', headers: {} };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers['content-type'] = 'application/json';
  }
  const response = await fetch(url, options);
  const answer = json ? await response.json().catch(() => ({})) : null;
  if (!response.ok) throw new Error((answer && (answer.detail || answer.title)) || response.statusText);
  return answer;
}

function fillSelect(select, values) {
  for (const v of values) select.append(new Option(v, v));
}

async function refresh() {
  me = await call('GET', '/api/v1/me').catch(() => null);
  $('#signin-section').hidden = !!me;
  $('#account-section').hidden = !me;
  $('#upload-section').hidden = !(me && me.role === 'publisher');
  $('#datasets-section').hidden = !me;
  if (!me) {
    $('#metadata-section').hidden = true;
    return;
  }
  $('#whoami').textContent = `${me.name} · ${me.role}${me.agency ? ` · ${me.agency}` : ''}`;
  const { datasets } = await call('GET', '/api/v1/datasets');
  const body = $('#datasets tbody');
  body.replaceChildren();
  for (const d of datasets) body.append(row(d));
}

function row(d) {
  const tr = document.createElement('tr');
  const cell = (text) => {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
    return td;
  };
  const link = document.createElement('a');
  link.href = `/ogc/collections/${encodeURIComponent(d.id)}/items?f=html`;
  link.textContent = d.id;
  cell('').append(link);
  cell(d.title);
  cell(d.agency || '');
  cell(d.visibility === 'public' ? 'publik' : 'internal');
  cell(String(d.features));
  cell(d.gaps.length ? `belum lengkap (${d.gaps.length})` : 'lengkap');
  const actions = cell('');
  if (me.role === 'publisher' && me.agency === d.agency) {
    const edit = document.createElement('button');
    edit.type = 'button';
    edit.textContent = 'Metadata';
    edit.addEventListener('click', () => openMetadata(d));
    actions.append(edit);
  }
  if (me.role !== 'publisher' && d.visibility !== 'public') {
    const approve = document.createElement('button');
    approve.type = 'button';
    approve.textContent = 'Setujui';
    approve.disabled = d.gaps.length > 0 || !d.version;
    approve.addEventListener('click', async () => {
      try {
        await call('POST', `/api/v1/datasets/${encodeURIComponent(d.id)}/approve`);
        status(`${d.id} disetujui: kini publik.`);
        await refresh();
      } catch (e) {
        status(e.message, true);
      }
    });
    actions.append(approve);
  }
  return tr;
}

function openMetadata(d) {
  const form = $('#metadata');
  form.dataset.id = d.id;
  $('#metadata-id').textContent = d.id;
  const m = d.metadata;
  form.title.value = m.title || '';
  form.abstract.value = m.abstract || '';
  form.topic_category.value = m.topic_category || 'society';
  form.keywords.value = (m.keywords || []).join(', ');
  form['contact.email'].value = (m.contact && m.contact.email) || '';
  form.lineage.value = m.lineage || '';
  form.licence.value = m.licence || '';
  form.update_frequency.value = m.update_frequency || 'asNeeded';
  form.reference_date.value = m.reference_date || '';
  showGaps(d.gaps);
  $('#metadata-section').hidden = false;
  form.title.focus();
}

function showGaps(gaps) {
  const list = $('#gaps');
  list.replaceChildren(...gaps.map((g) => {
    const li = document.createElement('li');
    li.textContent = `${g.field}: ${g.problem}`;
    return li;
  }));
}

$('#signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    await call('POST', '/api/v1/session', { name: form.name.value, password: form.password.value }, false);
    form.password.value = '';
    status('');
    await refresh();
  } catch (e) {
    status(e.message, true);
  }
});

$('#signout').addEventListener('click', async () => {
  await call('DELETE', '/api/v1/session', undefined, false).catch(() => {});
  await refresh();
});

$('#upload').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  if (!form.layer.value) data.delete('layer');
  if (!form.crs.value) data.delete('crs');
  if (!form.accept_defects.checked) data.delete('accept_defects');
  const exists = [...document.querySelectorAll('#datasets tbody tr td:first-child')].some((td) => td.textContent === form.id.value);
  const url = exists ? `/api/v1/datasets/${encodeURIComponent(form.id.value)}/data` : '/api/v1/datasets';
  status('Mengunggah…');
  try {
    const report = await call(exists ? 'PUT' : 'POST', url, data);
    status(`${report.dataset} versi ${report.version}: ${report.features} fitur diterbitkan (${report.visibility}).`);
    const pre = $('#upload-report');
    pre.textContent = JSON.stringify(report, null, 2);
    pre.hidden = false;
    await refresh();
  } catch (e) {
    status(e.message, true);
  }
});

$('#metadata').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const metadata = {
    title: form.title.value,
    abstract: form.abstract.value,
    topic_category: form.topic_category.value,
    keywords: form.keywords.value.split(',').map((k) => k.trim()).filter(Boolean),
    contact: { email: form['contact.email'].value },
    lineage: form.lineage.value,
    licence: form.licence.value,
    update_frequency: form.update_frequency.value,
    reference_date: form.reference_date.value,
  };
  try {
    const saved = await call('PUT', `/api/v1/datasets/${encodeURIComponent(form.dataset.id)}/metadata`, metadata);
    showGaps(saved.gaps);
    status(saved.complete ? 'Metadata lengkap: siap disetujui DPPR.' : 'Metadata disimpan sebagai draf.');
    await refresh();
  } catch (e) {
    status(e.message, true);
  }
});

fillSelect($('#metadata').topic_category, TOPICS);
fillSelect($('#metadata').update_frequency, FREQUENCIES);
refresh();
