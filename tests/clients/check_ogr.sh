#!/usr/bin/env bash
# Checks an OGC API Features node with GDAL's OAPIF driver (gdal-bin; written against 3.6.2).
#
#   check_ogr.sh BASE COLLECTION COUNT [WHERE [WHERE_COUNT]]
#   check_ogr.sh http://127.0.0.1:8080/ogc fasilitas 100000 "kategori = 'sekolah'" 20000
#
# BASE is the landing page (satupeta: http://HOST/ogc). Checks:
#   - the layers: COLLECTION among them (`ogrinfo OAPIF:BASE`);
#   - the feature count: `ogrinfo -so` (numberMatched, or GDAL's own count) and every page read
#     by `ogr2ogr -f GeoJSON /vsistdout/` (GDAL follows `next` links), both equal to COUNT;
#   - an attribute filter (`-where WHERE`): GDAL 3.6 sends what it can to the server (simple
#     property equalities it finds among the /items parameters of the OpenAPI document, or a
#     `filter` with `filter-lang=cql-text` if the server claims the pre-CQL2 draft filter
#     classes) and evaluates the rest itself; the script reports which it did and compares
#     the count with WHERE_COUNT when given;
#   - two CRSs: GDAL 3.6 has no CRS open option (CRS and PREFERRED_CRS came in 3.7), so the
#     features are read in CRS84 and reprojected by GDAL to UTM 50S (EPSG:32750); the count
#     must not change and the coordinates must be UTM 50S eastings/northings.
# A bearer token in $TOKEN is sent as `Authorization: Bearer` (GDAL_HTTP_HEADERS).
# Exits 1 on the first failed check, 2 on bad arguments.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    sed -n '2,20p' "$0" >&2
    exit 2
fi
BASE=${1%/}
COLLECTION=$2
COUNT=$3
WHERE=${4:-}
WHERE_COUNT=${5:-}
PAGE_SIZE=${PAGE_SIZE:-1000}
SOURCE="OAPIF:$BASE"
OPEN=(-oo "PAGE_SIZE=$PAGE_SIZE")
if [[ -n ${TOKEN:-} ]]; then
    export GDAL_HTTP_HEADERS="Authorization: Bearer $TOKEN"
fi
# No stale answers from GDAL's HTTP cache between checks.
export CPL_VSIL_CURL_NON_CACHED="$BASE"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0

fail() {
    echo "FAIL $1" >&2
    echo "$passed passed, 1 failed"
    exit 1
}
ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}
# Features in a GeoJSON FeatureCollection on stdin.
count_features() {
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["features"]))'
}

echo "checking $SOURCE, collection $COLLECTION ($COUNT features), $(gdalinfo --version)"

# 1. Layers.
ogrinfo -ro -q "${OPEN[@]}" "$SOURCE" > "$WORK/layers.txt" 2> "$WORK/layers.err" ||
    fail "listing the layers: $(tail -3 "$WORK/layers.err")"
grep -Eq "^[0-9]+: $COLLECTION( |$)" "$WORK/layers.txt" ||
    fail "$COLLECTION is not among the layers: $(tr '\n' ' ' < "$WORK/layers.txt")"
ok "layers: $(grep -Ec '^[0-9]+: ' "$WORK/layers.txt") listed, $COLLECTION among them"

# 2. The count the layer reports.
ogrinfo -ro -so "${OPEN[@]}" "$SOURCE" "$COLLECTION" > "$WORK/summary.txt" 2> "$WORK/summary.err" ||
    fail "ogrinfo -so: $(tail -3 "$WORK/summary.err")"
reported=$(sed -n 's/^Feature Count: //p' "$WORK/summary.txt")
[[ $reported == "$COUNT" ]] || fail "ogrinfo -so reports Feature Count $reported, expected $COUNT"
ok "ogrinfo -so: Feature Count $reported, geometry $(sed -n 's/^Geometry: //p' "$WORK/summary.txt")"

# 3. Every page.
ogr2ogr -f GeoJSON /vsistdout/ "${OPEN[@]}" "$SOURCE" "$COLLECTION" > "$WORK/all.json" 2> "$WORK/all.err" ||
    fail "ogr2ogr of every page: $(tail -3 "$WORK/all.err")"
read_all=$(count_features < "$WORK/all.json")
[[ $read_all == "$COUNT" ]] || fail "ogr2ogr read $read_all features, expected $COUNT"
# GDAL keeps the server's `id` only as a field it may drop: compare whole features (properties
# and geometry), which a page read twice repeats.
unique=$(python3 -c '
import json, sys
features = json.load(sys.stdin)["features"]
print(len({json.dumps(f, sort_keys=True) for f in features}))' < "$WORK/all.json")
[[ $unique == "$COUNT" ]] || fail "ogr2ogr read $COUNT features but only $unique distinct ones"
ok "ogr2ogr read every page: $read_all features, $unique distinct"

# 4. An attribute filter.
if [[ -n $WHERE ]]; then
    CPL_DEBUG=ON CPL_CURL_VERBOSE=NO ogr2ogr -f GeoJSON /vsistdout/ "${OPEN[@]}" -where "$WHERE" \
        "$SOURCE" "$COLLECTION" > "$WORK/where.json" 2> "$WORK/where.err" ||
        fail "ogr2ogr -where: $(grep -v '^[A-Z_0-9]*: ' "$WORK/where.err" | tail -3)"
    filtered=$(count_features < "$WORK/where.json")
    urls=$(grep -Eo 'https?://[^ )"]*/items[^ )"]*' "$WORK/where.err" | sort -u || true)
    if grep -q 'filter=' <<< "$urls"; then
        how="sent to the server as a CQL filter"
    elif grep -Eq '[?&][a-z_]+=' <<< "$(sed -E 's/[?&](limit|f|bbox|offset)=[^&]*//g' <<< "$urls")"; then
        how="sent to the server as property query parameters"
    else
        how="evaluated by GDAL on every page"
    fi
    if [[ -n $WHERE_COUNT ]]; then
        [[ $filtered == "$WHERE_COUNT" ]] || fail "-where \"$WHERE\" gave $filtered features, expected $WHERE_COUNT ($how)"
    else
        [[ $filtered -gt 0 && $filtered -lt $COUNT ]] || fail "-where \"$WHERE\" gave $filtered of $COUNT features"
    fi
    ok "-where \"$WHERE\": $filtered features, $how (e.g. $(head -1 <<< "$urls"))"
fi

# 5. Two CRSs: CRS84 as served, and UTM 50S reprojected by GDAL.
ogr2ogr -f GeoJSON /vsistdout/ "${OPEN[@]}" -t_srs EPSG:32750 -lco RFC7946=NO -lco WRITE_NAME=NO \
    "$SOURCE" "$COLLECTION" > "$WORK/utm.json" 2> "$WORK/utm.err" ||
    fail "ogr2ogr -t_srs EPSG:32750: $(tail -3 "$WORK/utm.err")"
python3 - "$WORK/all.json" "$WORK/utm.json" "$COUNT" <<'EOF' || fail "reading in EPSG:32750: see above"
import json, sys

def first_xy(geometry):
    coords = geometry["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return coords[0], coords[1]

wgs, utm, count = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
n = len(utm["features"])
if n != count:
    sys.exit(f"FAIL EPSG:32750: {n} features, expected {count}")
crs = utm.get("crs", {}).get("properties", {}).get("name", "")
if "32750" not in crs:
    sys.exit(f"FAIL EPSG:32750: the output names the CRS {crs!r}")
lon, lat = first_xy(next(f["geometry"] for f in wgs["features"] if f["geometry"]))
x, y = first_xy(next(f["geometry"] for f in utm["features"] if f["geometry"]))
# Balikpapan: CRS84 lon 116-118, lat -2..0; UTM 50S easting 300-600 km, northing 9.7-10.0 Mm.
if not (116 <= lon <= 118 and -2 <= lat <= 0):
    sys.exit(f"FAIL CRS84: the first point ({lon}, {lat}) is not lon/lat in Balikpapan")
if not (300e3 <= x <= 600e3 and 9.7e6 <= y <= 10.0e6):
    sys.exit(f"FAIL EPSG:32750: the first point ({x}, {y}) is not UTM 50S in Balikpapan")
print(f"  first point CRS84 ({lon:.6f}, {lat:.6f}) = UTM 50S ({x:.1f}, {y:.1f})")
EOF
ok "two CRSs: CRS84 as served and EPSG:32750 reprojected by GDAL 3.6 (no CRS open option before 3.7), $COUNT features each"

echo "$passed passed, 0 failed"
