// Lighthouse (mobile profile, simulated slow 4G and a 4× slower CPU, as Lighthouse does by
// default) against a running satupeta, in Debian's Chromium; then the page weight and the time to
// the first rendered zoning tiles, measured in the same browser without throttling.
//
//   node tests/lighthouse/run.mjs http://127.0.0.1:8080 [runs]
//
// Prints each run's category scores and metrics, and the median performance score. A measurement,
// not a test: it asserts nothing.

import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
  '--disable-background-networking'];

const base = (process.argv[2] || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const runs = Number(process.argv[3] || 3);

async function audit() {
  const chrome = await chromeLauncher.launch({ chromePath: CHROMIUM, chromeFlags: FLAGS });
  try {
    const { lhr } = await lighthouse(`${base}/`, { port: chrome.port, output: 'json', logLevel: 'error', formFactor: 'mobile' });
    return lhr;
  } finally {
    await chrome.kill();
  }
}

function summary(lhr) {
  const scores = Object.fromEntries(Object.entries(lhr.categories).map(([k, c]) => [k, Math.round(c.score * 100)]));
  const metric = (id) => lhr.audits[id].displayValue;
  return { scores, fcp: metric('first-contentful-paint'), lcp: metric('largest-contentful-paint'),
    tbt: metric('total-blocking-time'), cls: metric('cumulative-layout-shift'), si: metric('speed-index') };
}

/** Compressed bytes of the page, with and without MapLibre, and the time to the first zoning tiles. */
async function weightAndTiles() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 412, height: 823 } });
    const sizes = [];
    page.on('requestfinished', async (request) => {
      const response = await request.response();
      const s = await request.sizes().catch(() => null);
      if (response && s) sizes.push({ url: request.url(), bytes: s.responseBodySize + s.responseHeadersSize });
    });
    const started = Date.now();
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const map = window.satupeta && window.satupeta.map;
      return map && map.getLayer('zoning-fill') && map.areTilesLoaded() && map.loaded()
        && map.queryRenderedFeatures({ layers: ['zoning-fill'] }).length > 0;
    }, null, { timeout: 30000, polling: 20 });
    const tilesMs = Date.now() - started;
    await page.waitForTimeout(500);
    const total = (filter) => sizes.filter(filter).reduce((s, x) => s + x.bytes, 0);
    const isMapLibre = (x) => /\/static\/vendor\/maplibre-gl\./.test(x.url);
    const isData = (x) => /\/(tiles|data|api)\//.test(x.url);
    return {
      pageWithoutMapLibre: total((x) => !isMapLibre(x) && !isData(x)),
      mapLibre: total(isMapLibre),
      data: total(isData),
      tilesMs,
    };
  } finally {
    await browser.close();
  }
}

const results = [];
for (let i = 0; i < runs; i += 1) {
  const s = summary(await audit());
  results.push(s);
  console.log(`run ${i + 1}: ${Object.entries(s.scores).map(([k, v]) => `${k} ${v}`).join(', ')}; `
    + `FCP ${s.fcp}, LCP ${s.lcp}, TBT ${s.tbt}, CLS ${s.cls}, SI ${s.si}`);
}
const perf = results.map((r) => r.scores.performance).sort((a, b) => a - b);
console.log(`performance: median ${perf[Math.floor(perf.length / 2)]} (${perf.join(', ')})`);
const w = await weightAndTiles();
const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
console.log(`page weight (compressed, as sent): ${kib(w.pageWithoutMapLibre)} without MapLibre, `
  + `${kib(w.pageWithoutMapLibre + w.mapLibre)} with it; data at start (boundaries, TileJSON, tiles) ${kib(w.data)}`);
console.log(`first zoning tiles rendered ${w.tilesMs} ms after navigation (no throttling)`);
