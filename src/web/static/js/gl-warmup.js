// A worker that opens (and drops) a WebGL context, so that the browser starts its GPU process and
// renderer while the page loads MapLibre: the map's own context is then made in milliseconds
// instead of blocking the page's main thread (a software renderer takes a few hundred).
let ready = false;
try {
  if (typeof OffscreenCanvas === 'function') {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
    if (gl) {
      gl.getParameter(gl.VERSION);
      ready = true;
    }
  }
} catch (e) {
  // No WebGL in workers here: the map makes its context as usual.
}
postMessage(ready);
