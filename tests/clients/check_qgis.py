#!/usr/bin/python3
"""QGIS reads the node: its OGC API Features provider (OAPIF, QGIS 3.22 of Debian 12's python3-qgis)
lists a collection, reads every feature through the `next` links, and filters with a subset string.

    /usr/bin/python3 tests/clients/check_qgis.py BASE COLLECTION COUNT [FILTER FILTER_COUNT]

BASE is the landing page (http://host/ogc). Runs headless (Qt offscreen). Exits 1 on a failure.
"""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsFeatureRequest, QgsVectorLayer  # noqa: E402


def main() -> int:
    if len(sys.argv) not in (4, 6):
        print(__doc__, file=sys.stderr)
        return 2
    base, collection, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    failures = []

    def check(name, ok, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if not ok:
            failures.append(name)

    layer = QgsVectorLayer(f"url='{base}' typename='{collection}'", collection, "OAPIF")
    check("layer", layer.isValid(), f"valid={layer.isValid()} crs={layer.crs().authid()}")
    if layer.isValid():
        ids = [f.id() for f in layer.getFeatures()]
        check("every feature", len(ids) == count and len(set(ids)) == count,
              f"{len(ids)} features ({len(set(ids))} distinct), expected {count}")
        fields = [f.name() for f in layer.fields()]
        check("fields", len(fields) > 0, ", ".join(fields))
        extent = layer.extent()
        check("extent", not extent.isEmpty(), extent.toString(3))
        if len(sys.argv) == 6:
            expression, expected = sys.argv[4], int(sys.argv[5])
            request = QgsFeatureRequest().setFilterExpression(expression)
            matched = sum(1 for _ in layer.getFeatures(request))
            check("filter", matched == expected, f"{matched} match {expression!r}, expected {expected}")
    print(f"{'all passed' if not failures else 'failed: ' + ', '.join(failures)}", flush=True)
    # Qt's teardown of the providers crashes on some builds: leave without it.
    os._exit(1 if failures else 0)


if __name__ == "__main__":
    sys.exit(main())
