// A parcel uploaded as a file: the server reads it through GDAL (GeoJSON, KML, zipped Shapefile,
// GeoPackage, FlatGeobuf); its first polygon is measured.

import { ApiError, api, isAbort, query } from './api.js';
import { t } from './i18n.js';
import { getMap } from './map.js';
import { setStatus, showLoading, showPanel } from './panel.js';
import { renderError } from './render.js';
import { el, state } from './state.js';
import { showParcelShape, stopDraw } from './draw.js';
import { lookupParcel } from './lookup.js';

async function uploadParcel(file) {
  showLoading(t('parcel.title'), t('upload.reading', { name: file.name }));
  try {
    const feature = await api(`/api/v1/parcels/convert${query({ name: file.name })}`, {
      method: 'POST',
      body: await file.arrayBuffer(),
    });
    const polygons = (feature.geometry && feature.geometry.coordinates) || [];
    const ring = polygons[0] && polygons[0][0];
    if (!ring) throw new ApiError(422, t('upload.nopolygon'));
    if (state.draw.active) stopDraw();
    showParcelShape(ring);
    const lons = ring.map((p) => p[0]);
    const lats = ring.map((p) => p[1]);
    if (getMap()) {
      getMap().fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
        { padding: 60, maxZoom: 18 });
    }
    await lookupParcel(ring);
    if (polygons.length > 1) setStatus(t('upload.many', { name: file.name, n: polygons.length }));
  } catch (e) {
    if (isAbort(e)) return;
    showPanel(t('parcel.title'), renderError(e), e.detail || e.message);
  }
}

export function initUpload() {
  el.parcelFile.addEventListener('change', async () => {
    const file = el.parcelFile.files && el.parcelFile.files[0];
    el.parcelFile.value = '';
    if (!file) return;
    uploadParcel(file);
  });
}
