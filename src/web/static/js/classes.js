// The ITBX classes of the activity matrix: their order, map shading and labels, in one table.
// The server's answers carry the class code; what a class is called comes from here, in the page's
// language.

import { t } from './i18n.js';

/** Class code → shade on the map (B and TB share one). */
const CLASSES = [
  { code: 'I', shade: '#1a9850' },
  { code: 'T', shade: '#fee08b' },
  { code: 'B', shade: '#fdae61' },
  { code: 'TB', shade: '#fdae61' },
  { code: 'X', shade: '#d73027' },
];

export const CLASS_ORDER = CLASSES.map((c) => c.code);

/** The shade of sub-zones where the chosen activity has no class (not regulated). */
export const NO_CLASS_SHADE = '#9e9e9e';

export function classShade(code) {
  const found = CLASSES.find((c) => c.code === code);
  return found ? found.shade : NO_CLASS_SHADE;
}

/** An ITBX class code usable as a CSS class suffix. */
export function clsKey(code) {
  return CLASS_ORDER.includes(code) ? code : 'none';
}

/** What the class is called (Diizinkan, Permitted, …). */
export function classLabel(code) {
  return CLASS_ORDER.includes(code) ? t(`class.${code}`) : t('class.none');
}

/** The rows of the map's class legend: B and TB share a shade, so one row. */
export function legendRows() {
  return [
    { key: 'I', shade: classShade('I'), label: classLabel('I') },
    { key: 'T', shade: classShade('T'), label: classLabel('T') },
    { key: 'B / TB', shade: classShade('B'), label: `${classLabel('B')} / ${classLabel('TB')}` },
    { key: 'X', shade: classShade('X'), label: classLabel('X') },
    { key: '—', shade: NO_CLASS_SHADE, label: classLabel(null) },
  ];
}
