// Browser smoke test of the map page, as a person sees it: Debian's Chromium (/usr/bin/chromium)
// driven by playwright-core, against a running server.
//
//   node tests/browser/smoke.mjs http://127.0.0.1:8080 [screenshot.png]
//
// Checks: the page at / loads under its Content-Security-Policy header; no console error, no
// uncaught exception, no CSP violation, no MapLibre error; the zoning vector tiles are fetched
// (200 or 204) and drawn in colour on the map canvas; a click in the city opens the result panel
// with the sub-zone of the zone drawn under the cursor; the place search moves the map onto a
// kelurahan found by name and answers for a point typed as degrees, minutes and seconds; the
// language switch puts every string in English and is remembered; a shared link restores the view,
// point, activity and parcel; the activity shades the map; the day selector and "what changed
// here" answer from the plan's other version; an uploaded parcel is measured as the API measures
// it and its printable summary prints alone. Writes screenshots (by default target/browser/) and
// exits 0 when every check holds, 1 otherwise.

import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** The whole run, browser start included. */
const OVERALL_MS = 100_000;
/** One condition (page load, tiles drawn, panel answer). */
const STEP_MS = 20_000;

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: node tests/browser/smoke.mjs <base-url> [screenshot.png]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const screenshot = resolve(process.argv[3] || join(here, '..', '..', 'target', 'browser', 'map.png'));

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (text) => console.log(`[${elapsed()}] ${text}`);

/** What went wrong in the page, as the checks found it. */
const problems = [];
/** Responses of the zoning tiles: url -> status. */
const tiles = new Map();

const watchdog = setTimeout(() => {
  console.error(`FAIL: the smoke test took more than ${OVERALL_MS / 1000} s`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}, OVERALL_MS);

const profile = await mkdtemp(join(tmpdir(), 'satupeta-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: 'id-ID',
    timeout: STEP_MS,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(STEP_MS);

  // CSP violations, reported by the page itself (the listener is installed before any script).
  await page.exposeFunction('__satupetaViolation', (v) => {
    problems.push(`CSP violation: ${v.directive} blocked ${v.blocked || '(inline)'} in ${v.source}:${v.line}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__satupetaViolation({
        directive: e.violatedDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
      });
    });
  });
  page.on('console', (message) => {
    const text = message.text();
    // The page sends map errors (a tile that failed, say) to console.warn with a "map:" prefix.
    if (message.type() === 'error' || (message.type() === 'warning' && text.startsWith('map:'))) {
      const where = message.location();
      problems.push(`console ${message.type()}: ${text}${where.url ? ` (${where.url}:${where.lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on('response', (response) => {
    const url = response.url();
    if (url.startsWith(`${base}/tiles/zoning/`)) {
      tiles.set(url, response.status());
      if (response.status() !== 200 && response.status() !== 204) {
        problems.push(`zoning tile answered ${response.status()}: ${url}`);
      }
    } else if (response.status() >= 400) {
      problems.push(`HTTP ${response.status()} for ${url}`);
    }
  });
  page.on('requestfailed', (request) => {
    const why = request.failure()?.errorText;
    // MapLibre cancels the tiles it no longer needs when the view moves: not a failure.
    if (why === 'net::ERR_ABORTED' && /\/tiles\//.test(request.url())) return;
    problems.push(`request failed: ${request.url()} (${why})`);
  });

  // 1. The page loads, under the strict policy.
  const response = await page.goto(`${base}/`, { waitUntil: 'load' });
  check(response && response.status() === 200, `GET / answered ${response && response.status()}`);
  const policy = response.headers()['content-security-policy'] || '';
  check(policy.includes("script-src 'self'"), `GET / without the strict CSP header (got "${policy}")`);
  check((await page.title()).includes('satupeta'), 'the page has no satupeta title');
  log(`page loaded (${policy.length}-character CSP)`);

  // 2. MapLibre draws: the map canvas, the zoning tiles fetched and drawn.
  const canvas = page.locator('#map canvas.maplibregl-canvas');
  await canvas.waitFor({ state: 'visible' });
  const box = await canvas.boundingBox();
  check(box && box.width > 300 && box.height > 300, `the map canvas is too small: ${JSON.stringify(box)}`);
  await page.waitForFunction(() => {
    const map = window.satupeta && window.satupeta.map;
    return map && map.getLayer('zoning-fill') && map.loaded() && map.areTilesLoaded()
      && map.queryRenderedFeatures({ layers: ['zoning-fill'] }).length > 0;
  });
  const drawn = await page.evaluate(() => window.satupeta.map.queryRenderedFeatures({ layers: ['zoning-fill'] }).length);
  const statuses = [...tiles.values()];
  check(statuses.length > 0, 'no request for /tiles/zoning/…');
  check(statuses.every((s) => s === 200 || s === 204), `zoning tiles answered ${JSON.stringify([...tiles])}`);
  check(statuses.includes(200), 'no zoning tile had content (all 204)');
  const colours = await mapColours(page);
  check(colours >= 5, `the map shows ${colours} zone colours, expected at least 5`);
  log(`map drawn: ${tiles.size} zoning tiles (${statuses.filter((s) => s === 200).length} with content), `
    + `${drawn} zone features rendered, ${colours} distinct zone colours`);

  // 3. A click in the city opens the panel with the sub-zone drawn under the cursor.
  const target = await page.evaluate(findZone);
  check(target, 'no point on the map lies well inside a zone');
  await page.mouse.click(box.x + target.x, box.y + target.y);
  await page.waitForFunction(() => {
    const panel = document.getElementById('panel');
    return panel.dataset.state === 'open'
      && document.getElementById('status').textContent.startsWith('Sub-zona ')
      && panel.querySelector('.result-head .code');
  });
  const answer = await page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    code: document.querySelector('#panel .result-head .code').textContent,
    heading: document.querySelector('#panel .result-head h3').textContent,
    facts: document.querySelector('#panel .facts').innerText,
  }));
  check(answer.code === target.code,
    `clicked a zone drawn as ${target.code}, the panel says ${answer.code} (${answer.status})`);
  check(await page.locator('#panel').isVisible(), 'the result panel is not visible');
  check(/Kecamatan\s+Balikpapan/i.test(answer.facts), `the answer names no kecamatan: ${answer.facts}`);
  log(`clicked (${Math.round(target.x)}, ${Math.round(target.y)}) on a ${target.code} zone: the panel says "${answer.status}"`);

  // 3b. The language switch: every string of the page in English, the answer too, remembered
  // after a reload; then back to Bahasa Indonesia.
  const missing = await page.evaluate(() => window.satupeta.missingKeys());
  check(missing.length === 0, `strings missing in a language: ${missing.join(', ')}`);
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'en'
    && document.getElementById('status').textContent.startsWith('Sub-zone '));
  const english = await page.evaluate(() => ({
    title: document.getElementById('panel-title').textContent,
    draw: document.getElementById('draw-toggle').textContent,
    facts: document.querySelector('#panel .facts').innerText,
    placeholder: document.getElementById('activity-input').placeholder,
  }));
  check(english.title === 'Zoning check' && english.draw === 'Draw parcel' && /Coordinates/.test(english.facts)
    && english.placeholder.startsWith('Activity'), `the page is not in English: ${JSON.stringify(english)}`);
  await page.reload({ waitUntil: 'load' });
  await page.waitForFunction(() => document.documentElement.lang === 'en'
    && document.getElementById('draw-toggle').textContent === 'Draw parcel'
    && window.satupeta.map && window.satupeta.map.getLayer('zoning-fill'));
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'id'
    && document.getElementById('draw-toggle').textContent === 'Gambar persil');
  log(`language switch: English everywhere ("${english.title}", "${english.draw}"), remembered after a reload, and back`);

  // 4. Place search: a kelurahan by name moves the map onto it; a point typed as degrees,
  // minutes and seconds (Indonesian hemispheres) opens the answer the API gives for that point.
  const klandasan = await page.evaluate(async () => (await (await fetch('/api/v1/places?q=Klandasan%20Ilir')).json()).places[0]);
  check(klandasan && klandasan.name === 'Klandasan Ilir', 'the place search API does not find Klandasan Ilir');
  await page.fill('#place-input', 'Klandasan Ilir');
  await page.press('#place-input', 'Enter');
  await page.waitForFunction(([w, s, e, n]) => {
    const c = window.satupeta.map.getCenter();
    return !window.satupeta.map.isMoving() && c.lng >= w && c.lng <= e && c.lat >= s && c.lat <= n;
  }, klandasan.bbox);
  log(`place search: "Klandasan Ilir" moved the map into its bounds ${klandasan.bbox.map((v) => v.toFixed(4)).join(', ')}`);
  const typed = await page.evaluate(([x, y]) => window.satupeta.map.unproject([x, y]), [target.x, target.y]);
  const dms = (v, pos, neg) => {
    const a = Math.abs(v);
    const d = Math.floor(a);
    const m = Math.floor((a - d) * 60);
    const sec = ((a - d) * 60 - m) * 60;
    return `${d}°${m}'${sec.toFixed(3)}" ${v < 0 ? neg : pos}`;
  };
  const text = `${dms(typed.lat, 'LU', 'LS')} ${dms(typed.lng, 'BT', 'BB')}`;
  const expected = await page.evaluate(async ([lon, lat]) => {
    const r = await fetch(`/api/v1/zoning?lon=${lon.toFixed(6)}&lat=${lat.toFixed(6)}`);
    return r.ok ? (await r.json()).subzone.code : null;
  }, [typed.lng, typed.lat]);
  await page.fill('#place-input', text);
  await page.press('#place-input', 'Enter');
  await page.waitForFunction((code) => {
    const c = document.querySelector('#panel .result-head .code');
    return document.getElementById('panel').dataset.state === 'open' && c && c.textContent === code
      && !window.satupeta.map.isMoving();
  }, expected);
  log(`place search: "${text}" opened the answer for ${expected}, as the API gives for that point`);

  // 4c. "My location": the browser's position (permission granted) opens its answer.
  await context.grantPermissions(['geolocation'], { origin: base });
  await context.setGeolocation({ latitude: typed.lat, longitude: typed.lng, accuracy: 10 });
  await page.evaluate(() => { document.getElementById('panel').dataset.state = 'closed'; });
  await page.click('#locate');
  await page.waitForFunction((code) => {
    const c = document.querySelector('#panel .result-head .code');
    return document.getElementById('panel').dataset.state === 'open' && c && c.textContent === code;
  }, expected);
  log(`my location: the browser's position opened the answer for ${expected}`);

  // 5. The URL keeps the view, the point and the activity: a shared link opens the same answer.
  const shared = await page.evaluate(() => `${location.origin}/${location.hash}`);
  check(/[#&]p=/.test(shared) && /[#&]map=/.test(shared), `the URL keeps no point or view: ${shared}`);
  const view = await page.evaluate(() => {
    const c = window.satupeta.map.getCenter();
    return { lng: c.lng, lat: c.lat, zoom: window.satupeta.map.getZoom() };
  });
  const second = await context.newPage();
  second.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The answer for a day before any plan version is a 404 the page shows; the browser logs it.
    const expectedMiss = /Failed to load resource/.test(m.text()) && /at=2000-01-01/.test(m.location().url || '');
    if (!expectedMiss) problems.push(`console (shared link): ${m.text()} (${m.location().url || ''})`);
  });
  second.on('pageerror', (e) => problems.push(`page error (shared link): ${e.message}`));
  await second.goto(`${shared}&kbli=56101`, { waitUntil: 'load' });
  await second.waitForFunction((code) => {
    const c = document.querySelector('#panel .result-head .code');
    return c && c.textContent === code && !document.getElementById('activity-chip').hidden;
  }, expected);
  await second.waitForFunction(() => window.satupeta.map && window.satupeta.map.getLayer('zoning-fill'));
  const reopened = await second.evaluate(() => {
    const c = window.satupeta.map.getCenter();
    return { lng: c.lng, lat: c.lat, zoom: window.satupeta.map.getZoom(),
      chip: document.getElementById('activity-chip-label').textContent };
  });
  check(Math.abs(reopened.lng - view.lng) < 1e-5 && Math.abs(reopened.lat - view.lat) < 1e-5
    && Math.abs(reopened.zoom - view.zoom) < 0.01, `the shared link opened another view: ${JSON.stringify(reopened)} vs ${JSON.stringify(view)}`);
  check(reopened.chip.startsWith('56101'), `the shared link's activity is not chosen: ${reopened.chip}`);
  log(`shared link ${shared}&kbli=56101 reopened the view, the answer for ${expected} and the activity ${reopened.chip}`);

  // 6. The chosen activity shades the map by its class in each sub-zone, with a legend; clearing
  // it brings back the sub-zone colours.
  await second.waitForFunction(() => {
    const paint = window.satupeta.map.getPaintProperty('zoning-fill', 'fill-color');
    return Array.isArray(paint) && paint[0] === 'match' && !document.getElementById('class-legend').hidden;
  });
  const shade = await second.evaluate(async (code) => {
    const api = await (await fetch('/api/v1/activities/classes?kbli=56101')).json();
    const paint = window.satupeta.map.getPaintProperty('zoning-fill', 'fill-color');
    const at = paint.indexOf(code);
    return { cls: api.classes[code], colour: at > 0 ? paint[at + 1] : null };
  }, expected);
  const SHADES = { I: '#1a9850', T: '#fee08b', B: '#fdae61', TB: '#fdae61', X: '#d73027' };
  check(shade.colour === (SHADES[shade.cls] || '#9e9e9e'),
    `restaurants are ${shade.cls} in ${expected}, the map shades it ${shade.colour}`);
  await second.evaluate(() => window.satupeta.map.zoomTo(13, { duration: 0 }));
  await second.waitForFunction(() => window.satupeta.map.areTilesLoaded() && !window.satupeta.map.isMoving());
  await second.screenshot({ path: join(dirname(screenshot), 'activity.png') });
  await second.click('#activity-clear');
  await second.waitForFunction(() => {
    const paint = window.satupeta.map.getPaintProperty('zoning-fill', 'fill-color');
    return Array.isArray(paint) && paint[0] === 'to-color' && document.getElementById('class-legend').hidden;
  });
  log(`activity shading: restaurants are ${shade.cls} in ${expected}, shaded ${shade.colour}; cleared back to the sub-zone colours`);

  // 7. A day before any plan version: the answer says no version was in force then. (Zoomed in:
  // the map outlines changed areas from zoom 15.)
  await second.evaluate(() => window.satupeta.map.zoomTo(16, { duration: 0 }));
  await second.fill('#at-input', '2000-01-01');
  await second.dispatchEvent('#at-input', 'change');
  await second.waitForFunction(() => /2000-01-01/.test(document.getElementById('panel-body').innerText));
  check(/[#&]at=2000-01-01/.test(await second.evaluate(() => location.hash)), 'the URL keeps no day');
  log('day selector: on 2000-01-01 the panel says no plan version was in force; the URL keeps the day');
  // On 2022-01-01 the plan's first version answers, and the map outlines where it differs.
  await second.fill('#at-input', '2022-01-01');
  await second.dispatchEvent('#at-input', 'change');
  await second.waitForFunction(() => /versi 1\b/.test(document.querySelector('#panel .facts')?.innerText || '')
    && window.satupeta.state.changedAreas > 0);
  const dayTiles = await second.evaluate(() => window.satupeta.map.getSource('zoning').tiles[0]);
  check(/[?&]at=2022-01-01/.test(dayTiles), `the map's zoning tiles are not those of the day: ${dayTiles}`);
  await second.waitForFunction(() => window.satupeta.map.areTilesLoaded());
  log('day selector: on 2022-01-01 version 1 answers, the map draws that day\'s zoning and outlines the areas that differ from today');
  // "What changed here": back to today, compared with version 1.
  await second.fill('#at-input', '');
  await second.dispatchEvent('#at-input', 'change');
  await second.waitForFunction(() => /versi 2\b/.test(document.querySelector('#panel .facts')?.innerText || '')
    && document.getElementById('compare-select'));
  const firstVersion = await second.evaluate(async () => {
    const plans = await (await fetch('/api/v1/plans')).json();
    return plans.versions.find((v) => v.version === 1).version_id;
  });
  await second.selectOption('#compare-select', String(firstVersion));
  await second.waitForFunction(() => {
    const text = document.querySelector('#changes-section .changes-result')?.innerText || '';
    return /versi 1 dan versi 2/.test(text) && /berubah antara kedua versi/.test(text);
  });
  const compared = await second.evaluate(() => document.querySelector('#changes-section .changes-result').innerText);
  check(/[#&]compare=/.test(await second.evaluate(() => location.hash)), 'the URL keeps no compared version');
  log(`what changed here: ${compared.replace(/\s+/g, ' ').trim()}`);
  await second.close();

  // 8. A parcel uploaded as a file is drawn and measured as the API measures it.
  const d = 0.0003;
  const parcelRing = [[typed.lng - d, typed.lat - d], [typed.lng + d, typed.lat - d], [typed.lng + d, typed.lat + d],
    [typed.lng - d, typed.lat + d], [typed.lng - d, typed.lat - d]];
  const parcelFile = JSON.stringify({ type: 'FeatureCollection', features: [
    { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [parcelRing] } }] });
  const apiArea = await page.evaluate(async (ring) => {
    const r = await fetch('/api/v1/zoning/parcel', { method: 'POST', body: JSON.stringify({ type: 'Polygon', coordinates: [ring] }) });
    return (await r.json()).area_m2;
  }, parcelRing);
  await page.setInputFiles('#parcel-file', { name: 'persil.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(parcelFile) });
  const areaText = Math.round(apiArea).toLocaleString('id-ID');
  await page.waitForFunction((text) => document.getElementById('status').textContent === `Luas persil ${text} m².`, areaText);
  log(`parcel upload: persil.geojson measured ${areaText} m², as the API measures it`);
  // The parcel lives in the URL too: a shared link measures the same parcel.
  const parcelLink = await page.evaluate(() => `${location.origin}/${location.hash}`);
  check(/[#&]parcel=/.test(parcelLink), `the URL keeps no parcel: ${parcelLink}`);
  const third = await context.newPage();
  third.on('pageerror', (e) => problems.push(`page error (parcel link): ${e.message}`));
  await third.goto(parcelLink, { waitUntil: 'load' });
  await third.waitForFunction((text) => document.getElementById('status').textContent === `Luas persil ${text} m².`, areaText);
  await third.close();
  log('parcel link: a second tab measured the same parcel from the URL');

  // 8a. A corner of the measured parcel dragged on the map: measured again where it is dropped,
  // as the API measures the new outline (read back from the URL).
  await page.waitForFunction(() => !window.satupeta.map.isMoving() && window.satupeta.map.areTilesLoaded());
  const handle = await page.evaluate(() => {
    const { map, state } = window.satupeta;
    const p = map.project(state.parcelRing[2]);
    return { x: p.x, y: p.y };
  });
  const mapBox = await page.locator('#map canvas.maplibregl-canvas').boundingBox();
  await page.mouse.move(mapBox.x + handle.x, mapBox.y + handle.y);
  await page.mouse.down();
  await page.mouse.move(mapBox.x + handle.x + 20, mapBox.y + handle.y - 15, { steps: 5 });
  await page.mouse.move(mapBox.x + handle.x + 40, mapBox.y + handle.y - 30, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((before) => {
    const status = document.getElementById('status').textContent;
    return status.startsWith('Luas persil ') && status !== before && /[#&]parcel=/.test(location.hash);
  }, `Luas persil ${areaText} m².`);
  const edited = await page.evaluate(async () => {
    const ring = new URLSearchParams(location.hash.slice(1)).get('parcel').split(';').map((c) => c.split(',').map(Number));
    const r = await fetch('/api/v1/zoning/parcel', { method: 'POST', body: JSON.stringify({ type: 'Polygon', coordinates: [ring] }) });
    return { api: Math.round((await r.json()).area_m2).toLocaleString('id-ID'), status: document.getElementById('status').textContent };
  });
  check(edited.status === `Luas persil ${edited.api} m².`, `the dragged parcel: ${edited.status}, the API measures ${edited.api} m²`);
  log(`parcel edit: a corner dragged 50 px, measured again ${edited.api} m² (was ${areaText} m²), as the API measures it`);

  // 8b. The printable summary: the parcel's outline, area and parts, printed alone.
  await page.click('#print-parcel');
  await page.waitForFunction((text) => {
    const view = document.getElementById('print-view');
    return !view.hidden && view.innerText.includes(`${text} m²`) && view.querySelector('svg polygon');
  }, edited.api);
  await page.emulateMedia({ media: 'print' });
  const printed = await page.evaluate(() => ({
    map: getComputedStyle(document.querySelector('.layout')).display,
    actions: getComputedStyle(document.querySelector('.print-actions')).display,
  }));
  check(printed.map === 'none' && printed.actions === 'none', `the print shows more than the summary: ${JSON.stringify(printed)}`);
  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: join(dirname(screenshot), 'print.png'), fullPage: true });
  await page.emulateMedia({ media: 'screen' });
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.getElementById('print-view').hidden);
  log('printable summary: the outline, the area and the parts; printed alone (print.png)');

  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });

  // 9. Accessibility: axe-core (run through the DevTools protocol, outside the page's policy)
  // finds no serious or critical violation on the page with its answer open.
  const axeSource = await readFile(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
  });
  check(violations.length === 0, `axe-core: ${violations.join('; ')}`);
  log('axe-core: no serious or critical violation');

  // 10. The page on a phone (390 × 844): a screenshot beside the desktop one.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(dirname(screenshot), 'phone.png') });
  log(`phone screenshot: ${join(dirname(screenshot), 'phone.png')}`);
  log(`screenshot: ${screenshot}`);

  // Late errors (a tile, the answer) count too.
  check(problems.length === 0, 'errors in the page');
  log('PASS');
} catch (error) {
  console.error(`FAIL: ${error.message}`);
  for (const p of problems) console.error(`  ${p}`);
  if (tiles.size) console.error(`  zoning tiles: ${JSON.stringify([...tiles])}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  if (context) await context.close().catch(() => {});
  await rm(profile, { recursive: true, force: true });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * How many distinct zone colours the map canvas shows: the pixels are read right after MapLibre
 * paints a frame (the WebGL buffer is not kept after that), on a grid; only saturated colours
 * count (the background, the city fill and the boundary lines are greys).
 */
function mapColours(page) {
  return page.evaluate(() => new Promise((resolvePixels) => {
    const { map } = window.satupeta;
    map.once('render', () => {
      const gl = map.painter.context.gl;
      const w = gl.drawingBufferWidth;
      const h = gl.drawingBufferHeight;
      const pixels = new Uint8Array(w * h * 4);
      gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
      const counts = new Map();
      let samples = 0;
      for (let y = 0; y < h; y += 4) {
        for (let x = 0; x < w; x += 4) {
          const i = (y * w + x) * 4;
          const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
          samples += 1;
          if (Math.max(r, g, b) - Math.min(r, g, b) > 40) {
            const key = (r >> 4) << 8 | (g >> 4) << 4 | (b >> 4);
            counts.set(key, (counts.get(key) || 0) + 1);
          }
        }
      }
      // A colour counts when it fills at least 0.1 % of the map (not an antialiased edge).
      resolvePixels([...counts.values()].filter((n) => n >= samples / 1000).length);
    });
    map.triggerRepaint();
  }));
}

/**
 * A point of the map canvas (CSS pixels) well inside a drawn zone, nearest the centre: the zone
 * under it and under points 12 px around it is the same, so the click cannot land on an edge.
 */
function findZone() {
  const { map } = window.satupeta;
  const canvas = map.getCanvas();
  const [w, h] = [canvas.clientWidth, canvas.clientHeight];
  const codeAt = (x, y) => {
    // A zone cut by a tile edge is one feature per tile: one code is one zone.
    const codes = new Set(map.queryRenderedFeatures([x, y], { layers: ['zoning-fill'] })
      .map((f) => f.properties.code));
    return codes.size === 1 ? [...codes][0] : null;
  };
  const candidates = [];
  for (let y = 40; y < h - 40; y += 16) {
    for (let x = 60; x < w - 40; x += 16) candidates.push([x, y]);
  }
  candidates.sort((a, b) => Math.hypot(a[0] - w / 2, a[1] - h / 2) - Math.hypot(b[0] - w / 2, b[1] - h / 2));
  for (const [x, y] of candidates) {
    const code = codeAt(x, y);
    if (!code) continue;
    const around = [[-12, 0], [12, 0], [0, -12], [0, 12], [-9, -9], [9, 9], [-9, 9], [9, -9]];
    if (around.every(([dx, dy]) => codeAt(x + dx, y + dy) === code)) return { x, y, code };
  }
  return null;
}
