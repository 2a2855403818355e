// The page's elements and its one shared state.

export function $(id) {
  return document.getElementById(id);
}

export const el = {
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
  classLegend: $('class-legend'),
  atInput: $('at-input'),
  parcelFile: $('parcel-file'),
  langToggle: $('lang-toggle'),
  placeForm: $('place-form'),
  placeInput: $('place-input'),
  placeList: $('place-list'),
  locate: $('locate'),
  print: $('print-view'),
};

export const state = {
  /** The chosen activity: {kbli, title, activityId, activityName}. */
  selected: null,
  /** The day whose regulations answer (YYYY-MM-DD), or null: today. */
  at: null,
  /** The last lookup ({kind: 'point', lon, lat} or {kind: 'parcel', ring}), re-run when the activity changes. */
  last: null,
  /** The last answer shown ({kind, data, activityError}), rendered again when the language changes. */
  answer: null,
  /** The version compared with ("what changed here"), or null. */
  compareTo: null,
  /** How many changed areas the map outlines (null: none asked). */
  changedAreas: null,
  seq: 0,
  lookupCtl: null,
  parcelRing: null,
  draw: { active: false, coords: [], cursor: null },
};
