// The OGC API pages for people: the features of the page's JSON twin on a small map, and their
// properties in a table. A classic script (MapLibre's UMD build defines `maplibregl` before it).
(function () {
  const json = new URL(window.location.href);
  json.searchParams.set('f', 'json');
  const table = document.getElementById('ogc-features');
  const cell = (tag, text) => {
    const el = document.createElement(tag);
    el.textContent = text == null ? '' : String(text);
    return el;
  };
  fetch(json, { headers: { Accept: 'application/geo+json' }, credentials: 'same-origin' })
    .then((r) => r.json())
    .then((doc) => {
      const features = doc.type === 'Feature' ? [doc] : doc.features || [];
      const keys = [...new Set(features.flatMap((f) => Object.keys(f.properties || {})))];
      const head = document.createElement('tr');
      ['id', ...keys].forEach((k) => head.appendChild(cell('th', k)));
      table.appendChild(head);
      features.forEach((f) => {
        const row = document.createElement('tr');
        row.appendChild(cell('td', f.id));
        keys.forEach((k) => row.appendChild(cell('td', (f.properties || {})[k])));
        table.appendChild(row);
      });
      const next = (doc.links || []).find((l) => l.rel === 'next');
      if (next) {
        const link = document.createElement('a');
        const href = new URL(next.href);
        href.searchParams.set('f', 'html');
        link.href = href.toString();
        link.textContent = 'Halaman berikut / next page';
        table.after(link);
      }
      draw({ type: 'FeatureCollection', features });
    });

  function draw(collection) {
    if (!window.maplibregl) return;
    const map = new maplibregl.Map({
      container: 'ogc-map',
      style: { version: 8, sources: {}, layers: [{ id: 'paper', type: 'background', paint: { 'background-color': '#f4f1ea' } }] },
      center: [116.9, -1.2],
      zoom: 10,
      attributionControl: false,
    });
    map.on('load', () => {
      // The container may have been laid out after the map measured it.
      map.resize();
      map.addSource('items', { type: 'geojson', data: collection });
      map.addLayer({ id: 'fill', type: 'fill', source: 'items', filter: ['==', '$type', 'Polygon'], paint: { 'fill-color': '#3182bd', 'fill-opacity': 0.4 } });
      map.addLayer({ id: 'line', type: 'line', source: 'items', paint: { 'line-color': '#08519c', 'line-width': 1 } });
      map.addLayer({ id: 'point', type: 'circle', source: 'items', filter: ['==', '$type', 'Point'], paint: { 'circle-color': '#08519c', 'circle-radius': 4 } });
      const bounds = new maplibregl.LngLatBounds();
      const extend = (c) => (typeof c[0] === 'number' ? bounds.extend(c) : c.forEach(extend));
      collection.features.forEach((f) => f.geometry && extend(f.geometry.coordinates));
      if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 20, maxZoom: 16, duration: 0 });
    });
  }
})();
