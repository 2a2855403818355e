//! CSW 2.0.2 responses: Capabilities, DescribeRecordResponse, GetRecordsResponse (Dublin Core
//! brief/summary/full records or ISO 19139), GetRecordByIdResponse, the Acknowledgement of a
//! `validate` request, and `ows:ExceptionReport`s. All text goes through quick-xml's escaping.

use std::io::{self, Write};
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;

use super::super::iso19139::{self, GMD};
use super::super::ogc::{self, TOPIC_SCHEME, data_url, record_url};
use super::super::xml::{self, Out, close, empty, leaf, open};
use super::{
    CSW_NS, CswRequest, ElementSet, GetRecordById, GetRecords, INVALID, NO_CODE, OutputSchema,
    ResultType, TypeName, VERSION,
};
use crate::catalog::MetadataRecord;
use crate::records::{RecordsError, Result};

const DC: &str = "http://purl.org/dc/elements/1.1/";
const DCT: &str = "http://purl.org/dc/terms/";
const OWS: &str = "http://www.opengis.net/ows";
const OGC: &str = "http://www.opengis.net/ogc";
const XLINK: &str = "http://www.w3.org/1999/xlink";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const DISCOVERY_XSD: &str =
    "http://www.opengis.net/cat/csw/2.0.2 http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd";
/// The CRS of `ows:BoundingBox` in records (latitude first).
const BBOX_CRS: &str = "urn:ogc:def:crs:EPSG:6.6:4326";

/// The title of the service.
pub const TITLE: &str = "Satu Peta Balikpapan — CSW";

/// The answer to a request, as XML, over the records the caller may show.
pub fn respond(req: &CswRequest, records: &[MetadataRecord], base: &str) -> Result<String> {
    let now = DateTime::<Utc>::from(SystemTime::now()).to_rfc3339_opts(SecondsFormat::Secs, true);
    respond_at(req, records, base, &now)
}

/// [`respond`] at a given time (RFC 3339), for tests.
fn respond_at(
    req: &CswRequest,
    records: &[MetadataRecord],
    base: &str,
    now: &str,
) -> Result<String> {
    let mut w = xml::document();
    let written = match req {
        CswRequest::GetCapabilities => capabilities(&mut w, base),
        CswRequest::DescribeRecord(names) => describe_record(&mut w, names),
        CswRequest::GetRecords(g) if g.result_type == ResultType::Validate => {
            acknowledgement(&mut w, g, now)
        }
        CswRequest::GetRecords(g) => get_records(&mut w, g, records, base, now),
        CswRequest::GetRecordById(g) => get_record_by_id(&mut w, g, records, base),
    };
    written.map_err(|e| RecordsError::csw(NO_CODE, "response", e.to_string()))?;
    Ok(xml::finish(w))
}

/// The `nextRecord` of a page: the position after it, or 0 when no record follows.
pub fn next_record(start: usize, returned: usize, matched: usize) -> usize {
    let next = start + returned;
    if next > matched { 0 } else { next }
}

fn get_records(
    w: &mut Out,
    g: &GetRecords,
    records: &[MetadataRecord],
    base: &str,
    now: &str,
) -> io::Result<()> {
    let matched: Vec<&MetadataRecord> = records
        .iter()
        .filter(|r| g.constraint.as_ref().is_none_or(|c| c.matches(r)))
        .collect();
    let take = if g.result_type == ResultType::Hits {
        0
    } else {
        g.max_records
    };
    let page: Vec<&MetadataRecord> = matched
        .iter()
        .skip(g.start_position.saturating_sub(1))
        .take(take)
        .copied()
        .collect();
    open(w, "csw:GetRecordsResponse", &root_attrs())?;
    empty(w, "csw:SearchStatus", &[("timestamp", now)])?;
    let counts = [
        matched.len().to_string(),
        page.len().to_string(),
        next_record(g.start_position, page.len(), matched.len()).to_string(),
    ];
    let (set, schema) = (set_name(g.element_set), schema_uri(g.output_schema));
    open(
        w,
        "csw:SearchResults",
        &[
            ("numberOfRecordsMatched", &counts[0]),
            ("numberOfRecordsReturned", &counts[1]),
            ("nextRecord", &counts[2]),
            ("elementSet", set),
            ("recordSchema", schema),
        ],
    )?;
    for r in page {
        write_record(w, r, g.output_schema, g.element_set, base)?;
    }
    close(w, "csw:SearchResults")?;
    close(w, "csw:GetRecordsResponse")
}

fn get_record_by_id(
    w: &mut Out,
    g: &GetRecordById,
    records: &[MetadataRecord],
    base: &str,
) -> io::Result<()> {
    open(w, "csw:GetRecordByIdResponse", &root_attrs())?;
    // In the order asked, each record once however often it is asked for: the answer is bounded
    // by the catalog, not by the request.
    let mut written = std::collections::HashSet::new();
    for id in g.ids.iter().filter(|id| written.insert(id.as_str())) {
        if let Some(r) = records.iter().find(|r| &r.id == id) {
            write_record(w, r, g.output_schema, g.element_set, base)?;
        }
    }
    close(w, "csw:GetRecordByIdResponse")
}

fn root_attrs() -> [(&'static str, &'static str); 8] {
    [
        ("version", VERSION),
        ("xmlns:csw", CSW_NS),
        ("xmlns:dc", DC),
        ("xmlns:dct", DCT),
        ("xmlns:ows", OWS),
        ("xmlns:gmd", GMD),
        ("xmlns:xsi", XSI),
        ("xsi:schemaLocation", DISCOVERY_XSD),
    ]
}

fn set_name(set: ElementSet) -> &'static str {
    match set {
        ElementSet::Brief => "brief",
        ElementSet::Summary => "summary",
        ElementSet::Full => "full",
    }
}

fn schema_uri(schema: OutputSchema) -> &'static str {
    match schema {
        OutputSchema::DublinCore => CSW_NS,
        OutputSchema::Iso => GMD,
    }
}

fn write_record<W: Write>(
    w: &mut Writer<W>,
    r: &MetadataRecord,
    schema: OutputSchema,
    set: ElementSet,
    base: &str,
) -> io::Result<()> {
    match schema {
        OutputSchema::Iso => iso19139::record_body(w, base, r),
        OutputSchema::DublinCore => dublin_core(w, r, set, base),
    }
}

/// A `csw:BriefRecord`, `csw:SummaryRecord` or `csw:Record`, elements in schema order.
fn dublin_core<W: Write>(
    w: &mut Writer<W>,
    r: &MetadataRecord,
    set: ElementSet,
    base: &str,
) -> io::Result<()> {
    let tag = match set {
        ElementSet::Brief => "csw:BriefRecord",
        ElementSet::Summary => "csw:SummaryRecord",
        ElementSet::Full => "csw:Record",
    };
    let m = &r.metadata;
    open(w, tag, &[])?;
    leaf(w, "dc:identifier", &[], &r.id)?;
    leaf(w, "dc:title", &[], &m.title)?;
    leaf(w, "dc:type", &[], "dataset")?;
    if set != ElementSet::Brief {
        summary_elements(w, r)?;
    }
    if set == ElementSet::Full {
        full_elements(w, r, base)?;
    }
    if let Some(extent) = r.extent {
        bounding_box(w, &extent)?;
    }
    close(w, tag)
}

/// What a summary adds: subjects, format, modified, abstract.
fn summary_elements<W: Write>(w: &mut Writer<W>, r: &MetadataRecord) -> io::Result<()> {
    let m = &r.metadata;
    for keyword in &m.keywords {
        leaf(w, "dc:subject", &[], keyword)?;
    }
    if !m.topic_category.is_empty() {
        leaf(
            w,
            "dc:subject",
            &[("scheme", TOPIC_SCHEME)],
            &m.topic_category,
        )?;
    }
    leaf(w, "dc:format", &[], ogc::GEOJSON)?;
    leaf(w, "dct:modified", &[], &r.updated)?;
    leaf(w, "dct:abstract", &[], &m.abstract_text)
}

/// What a full record adds: dates, agency, rights, language, references.
fn full_elements<W: Write>(w: &mut Writer<W>, r: &MetadataRecord, base: &str) -> io::Result<()> {
    let m = &r.metadata;
    leaf(w, "dc:date", &[], &m.reference_date)?;
    leaf(w, "dc:creator", &[], &r.agency_name)?;
    leaf(w, "dc:publisher", &[], &r.agency_name)?;
    leaf(w, "dc:rights", &[], &m.licence)?;
    leaf(w, "dc:language", &[], m.language())?;
    leaf(
        w,
        "dct:references",
        &[("scheme", "OGC:API-Features")],
        &data_url(base, &r.id),
    )?;
    let iso = format!("{}?f=iso19139", record_url(base, &r.id));
    leaf(w, "dct:references", &[("scheme", "WWW:LINK")], &iso)
}

/// `ows:BoundingBox` in EPSG:4326, latitude first.
fn bounding_box<W: Write>(w: &mut Writer<W>, e: &[f64; 4]) -> io::Result<()> {
    let [west, south, east, north] = *e;
    open(
        w,
        "ows:BoundingBox",
        &[("crs", BBOX_CRS), ("dimensions", "2")],
    )?;
    leaf(w, "ows:LowerCorner", &[], &format!("{south} {west}"))?;
    leaf(w, "ows:UpperCorner", &[], &format!("{north} {east}"))?;
    close(w, "ows:BoundingBox")
}

fn acknowledgement(w: &mut Out, g: &GetRecords, now: &str) -> io::Result<()> {
    open(
        w,
        "csw:Acknowledgement",
        &[("xmlns:csw", CSW_NS), ("timeStamp", now)],
    )?;
    open(w, "csw:EchoedRequest", &[])?;
    open(
        w,
        "csw:GetRecords",
        &[
            ("service", "CSW"),
            ("version", VERSION),
            ("resultType", "validate"),
            ("outputSchema", schema_uri(g.output_schema)),
        ],
    )?;
    let type_name = match g.type_name {
        TypeName::Record => "csw:Record",
        TypeName::MdMetadata => "gmd:MD_Metadata",
    };
    open(w, "csw:Query", &[("typeNames", type_name)])?;
    leaf(w, "csw:ElementSetName", &[], set_name(g.element_set))?;
    close(w, "csw:Query")?;
    close(w, "csw:GetRecords")?;
    close(w, "csw:EchoedRequest")?;
    close(w, "csw:Acknowledgement")
}

fn describe_record(w: &mut Out, names: &[TypeName]) -> io::Result<()> {
    open(
        w,
        "csw:DescribeRecordResponse",
        &[
            ("xmlns:csw", CSW_NS),
            ("xmlns:xsi", XSI),
            ("xsi:schemaLocation", DISCOVERY_XSD),
        ],
    )?;
    for name in names {
        let (namespace, location) = match name {
            TypeName::Record => (CSW_NS, "http://schemas.opengis.net/csw/2.0.2/record.xsd"),
            TypeName::MdMetadata => (
                GMD,
                "http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd",
            ),
        };
        open(
            w,
            "csw:SchemaComponent",
            &[
                ("targetNamespace", namespace),
                ("schemaLanguage", "http://www.w3.org/XML/Schema"),
            ],
        )?;
        open(
            w,
            "xs:schema",
            &[
                ("xmlns:xs", "http://www.w3.org/2001/XMLSchema"),
                ("targetNamespace", namespace),
                ("elementFormDefault", "qualified"),
            ],
        )?;
        empty(w, "xs:include", &[("schemaLocation", location)])?;
        close(w, "xs:schema")?;
        close(w, "csw:SchemaComponent")?;
    }
    close(w, "csw:DescribeRecordResponse")
}

// ---- Capabilities -----------------------------------------------------------------------------

fn capabilities(w: &mut Out, base: &str) -> io::Result<()> {
    open(
        w,
        "csw:Capabilities",
        &[
            ("version", VERSION),
            ("xmlns:csw", CSW_NS),
            ("xmlns:ows", OWS),
            ("xmlns:ogc", OGC),
            ("xmlns:gml", "http://www.opengis.net/gml"),
            ("xmlns:xlink", XLINK),
            ("xmlns:xsi", XSI),
            ("xsi:schemaLocation", DISCOVERY_XSD),
        ],
    )?;
    service_identification(w)?;
    service_provider(w, base)?;
    operations_metadata(w, base)?;
    filter_capabilities(w)?;
    close(w, "csw:Capabilities")
}

fn service_identification(w: &mut Out) -> io::Result<()> {
    open(w, "ows:ServiceIdentification", &[])?;
    leaf(w, "ows:Title", &[], TITLE)?;
    leaf(
        w,
        "ows:Abstract",
        &[],
        "Katalog metadata (SNI 8843-1:2019) data geospasial perangkat daerah Kota Balikpapan, \
         simpul jaringan Jaringan Informasi Geospasial Nasional.",
    )?;
    open(w, "ows:Keywords", &[])?;
    for keyword in ["Balikpapan", "Satu Peta", "simpul jaringan", "metadata"] {
        leaf(w, "ows:Keyword", &[], keyword)?;
    }
    close(w, "ows:Keywords")?;
    leaf(w, "ows:ServiceType", &[], "CSW")?;
    leaf(w, "ows:ServiceTypeVersion", &[], VERSION)?;
    leaf(w, "ows:Fees", &[], "none")?;
    leaf(w, "ows:AccessConstraints", &[], "none")?;
    close(w, "ows:ServiceIdentification")
}

fn service_provider(w: &mut Out, base: &str) -> io::Result<()> {
    open(w, "ows:ServiceProvider", &[])?;
    leaf(w, "ows:ProviderName", &[], "Pemerintah Kota Balikpapan")?;
    empty(w, "ows:ProviderSite", &[("xlink:href", base)])?;
    open(w, "ows:ServiceContact", &[])?;
    leaf(
        w,
        "ows:PositionName",
        &[],
        "Simpul Jaringan Kota Balikpapan",
    )?;
    open(w, "ows:ContactInfo", &[])?;
    open(w, "ows:Address", &[])?;
    leaf(w, "ows:City", &[], "Balikpapan")?;
    leaf(w, "ows:AdministrativeArea", &[], "Kalimantan Timur")?;
    leaf(w, "ows:Country", &[], "Indonesia")?;
    close(w, "ows:Address")?;
    empty(w, "ows:OnlineResource", &[("xlink:href", base)])?;
    close(w, "ows:ContactInfo")?;
    leaf(w, "ows:Role", &[], "pointOfContact")?;
    close(w, "ows:ServiceContact")?;
    close(w, "ows:ServiceProvider")
}

/// A parameter's name and allowed values.
type Domain<'a> = (&'a str, &'a [&'a str]);

const TYPE_NAMES: &[&str] = &["csw:Record", "gmd:MD_Metadata"];
const SCHEMAS: &[&str] = &[CSW_NS, GMD];
const SETS: &[&str] = &["brief", "summary", "full"];

fn operations_metadata(w: &mut Out, base: &str) -> io::Result<()> {
    let url = format!("{base}/csw");
    open(w, "ows:OperationsMetadata", &[])?;
    operation(w, &url, "GetCapabilities", &[("sections", &["All"])])?;
    operation(
        w,
        &url,
        "DescribeRecord",
        &[
            ("typeName", TYPE_NAMES),
            ("schemaLanguage", &["http://www.w3.org/XML/Schema"]),
        ],
    )?;
    operation(
        w,
        &url,
        "GetRecords",
        &[
            ("typeNames", TYPE_NAMES),
            ("outputSchema", SCHEMAS),
            ("outputFormat", &["application/xml"]),
            ("resultType", &["hits", "results", "validate"]),
            ("ElementSetName", SETS),
            ("CONSTRAINTLANGUAGE", &["CQL_TEXT", "FILTER"]),
        ],
    )?;
    operation(
        w,
        &url,
        "GetRecordById",
        &[("outputSchema", SCHEMAS), ("ElementSetName", SETS)],
    )?;
    domain(w, "ows:Parameter", ("service", &["CSW"]))?;
    domain(w, "ows:Parameter", ("version", &[VERSION]))?;
    domain(w, "ows:Constraint", ("PostEncoding", &["XML"]))?;
    close(w, "ows:OperationsMetadata")
}

fn operation(w: &mut Out, url: &str, name: &str, parameters: &[Domain<'_>]) -> io::Result<()> {
    open(w, "ows:Operation", &[("name", name)])?;
    open(w, "ows:DCP", &[])?;
    open(w, "ows:HTTP", &[])?;
    empty(w, "ows:Get", &[("xlink:href", url)])?;
    empty(w, "ows:Post", &[("xlink:href", url)])?;
    close(w, "ows:HTTP")?;
    close(w, "ows:DCP")?;
    for parameter in parameters {
        domain(w, "ows:Parameter", *parameter)?;
    }
    close(w, "ows:Operation")
}

fn domain(w: &mut Out, tag: &str, (name, values): Domain<'_>) -> io::Result<()> {
    open(w, tag, &[("name", name)])?;
    for value in values {
        leaf(w, "ows:Value", &[], value)?;
    }
    close(w, tag)
}

fn filter_capabilities(w: &mut Out) -> io::Result<()> {
    open(w, "ogc:Filter_Capabilities", &[])?;
    open(w, "ogc:Spatial_Capabilities", &[])?;
    open(w, "ogc:GeometryOperands", &[])?;
    leaf(w, "ogc:GeometryOperand", &[], "gml:Envelope")?;
    close(w, "ogc:GeometryOperands")?;
    open(w, "ogc:SpatialOperators", &[])?;
    empty(w, "ogc:SpatialOperator", &[("name", "BBOX")])?;
    close(w, "ogc:SpatialOperators")?;
    close(w, "ogc:Spatial_Capabilities")?;
    open(w, "ogc:Scalar_Capabilities", &[])?;
    empty(w, "ogc:LogicalOperators", &[])?;
    open(w, "ogc:ComparisonOperators", &[])?;
    leaf(w, "ogc:ComparisonOperator", &[], "EqualTo")?;
    leaf(w, "ogc:ComparisonOperator", &[], "Like")?;
    close(w, "ogc:ComparisonOperators")?;
    close(w, "ogc:Scalar_Capabilities")?;
    open(w, "ogc:Id_Capabilities", &[])?;
    empty(w, "ogc:EID", &[])?;
    empty(w, "ogc:FID", &[])?;
    close(w, "ogc:Id_Capabilities")?;
    close(w, "ogc:Filter_Capabilities")
}

// ---- Exceptions -------------------------------------------------------------------------------

/// An `ows:ExceptionReport` (version 1.2.0) for an error, with its code and locator.
pub fn exception_report(err: &RecordsError) -> String {
    let (code, locator, text) = match err {
        RecordsError::Csw {
            code,
            locator,
            text,
        } => (*code, locator.as_str(), text.clone()),
        RecordsError::InvalidParameter { name, .. } => (INVALID, name.as_str(), err.to_string()),
        RecordsError::UnknownParameter(name) => (INVALID, name.as_str(), err.to_string()),
    };
    let mut w = xml::document();
    // Writing into a Vec cannot fail.
    let _ = report(&mut w, code, locator, &text);
    xml::finish(w)
}

fn report(w: &mut Out, code: &str, locator: &str, text: &str) -> io::Result<()> {
    open(
        w,
        "ows:ExceptionReport",
        &[
            ("version", "1.2.0"),
            ("xmlns:ows", OWS),
            ("xmlns:xsi", XSI),
            (
                "xsi:schemaLocation",
                "http://www.opengis.net/ows http://schemas.opengis.net/ows/1.0.0/owsExceptionReport.xsd",
            ),
        ],
    )?;
    open(
        w,
        "ows:Exception",
        &[("exceptionCode", code), ("locator", locator)],
    )?;
    leaf(w, "ows:ExceptionText", &[], text)?;
    close(w, "ows:Exception")?;
    close(w, "ows:ExceptionReport")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::csw::{request_from_kvp, request_from_xml};
    use crate::records::search::tests::record;
    use crate::records::xml::{Element, parse};

    const BASE: &str = "https://peta.balikpapan.go.id";
    const NOW: &str = "2026-01-02T03:04:05Z";

    fn records() -> Vec<MetadataRecord> {
        (1..=25)
            .map(|i| record(&format!("r{i:02}"), &format!("Data {i} <&>\"'")))
            .collect()
    }

    fn ask(pairs: &[(&str, &str)]) -> Element {
        let mut all = vec![
            ("service".to_owned(), "CSW".to_owned()),
            ("version".to_owned(), "2.0.2".to_owned()),
        ];
        all.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let req = request_from_kvp(&all).unwrap();
        let text = respond_at(&req, &records(), BASE, NOW).unwrap();
        parse(text.as_bytes()).unwrap()
    }

    fn results(root: &Element) -> &Element {
        root.child("SearchResults").unwrap()
    }

    #[test]
    fn next_record_arithmetic() {
        assert_eq!(next_record(1, 10, 25), 11);
        assert_eq!(next_record(11, 10, 25), 21);
        assert_eq!(next_record(21, 5, 25), 0);
        assert_eq!(next_record(1, 10, 10), 0);
        assert_eq!(next_record(1, 0, 25), 1, "hits");
        assert_eq!(next_record(1, 0, 0), 0);
        assert_eq!(next_record(30, 0, 25), 0);
    }

    #[test]
    fn get_records_pages_through_summaries() {
        let root = ask(&[
            ("request", "GetRecords"),
            ("resultType", "results"),
            ("startPosition", "21"),
        ]);
        assert_eq!(root.name, "GetRecordsResponse");
        assert_eq!(
            root.child("SearchStatus").unwrap().attr("timestamp"),
            Some(NOW)
        );
        let r = results(&root);
        assert_eq!(r.attr("numberOfRecordsMatched"), Some("25"));
        assert_eq!(r.attr("numberOfRecordsReturned"), Some("5"));
        assert_eq!(r.attr("nextRecord"), Some("0"));
        assert_eq!(r.attr("recordSchema"), Some(CSW_NS));
        assert_eq!(r.children.len(), 5);
        let first = &r.children[0];
        assert_eq!(first.name, "SummaryRecord");
        assert_eq!(first.child("identifier").unwrap().text, "r21");
        assert_eq!(first.child("title").unwrap().text, "Data 21 <&>\"'");
        assert_eq!(first.child("type").unwrap().text, "dataset");
        let subjects: Vec<_> = first
            .children
            .iter()
            .filter(|c| c.name == "subject")
            .collect();
        assert_eq!(subjects.len(), 3, "two keywords and the topic");
        let bbox = first.child("BoundingBox").unwrap();
        assert_eq!(bbox.attr("crs"), Some(BBOX_CRS));
        assert_eq!(
            bbox.child("LowerCorner").unwrap().text,
            "-1.3 116.8",
            "lat lon"
        );
        assert_eq!(bbox.child("UpperCorner").unwrap().text, "-1.1 117");
        let names: Vec<_> = first.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.last(), Some(&"BoundingBox"));
    }

    #[test]
    fn hits_brief_full_and_constraints() {
        let hits = ask(&[("request", "GetRecords")]);
        assert_eq!(results(&hits).attr("numberOfRecordsReturned"), Some("0"));
        assert_eq!(results(&hits).attr("nextRecord"), Some("1"));
        let brief = ask(&[
            ("request", "GetRecords"),
            ("resultType", "results"),
            ("elementSetName", "brief"),
            ("constraintLanguage", "CQL_TEXT"),
            (
                "constraint",
                "dc:identifier = 'r07' OR dc:identifier = 'r08'",
            ),
        ]);
        let r = results(&brief);
        assert_eq!(r.attr("numberOfRecordsMatched"), Some("2"));
        assert_eq!(r.children[0].name, "BriefRecord");
        assert!(r.children[0].child("abstract").is_none());
        let full = ask(&[
            ("request", "GetRecords"),
            ("resultType", "results"),
            ("elementSetName", "full"),
            ("maxRecords", "1"),
        ]);
        assert_eq!(results(&full).attr("nextRecord"), Some("2"));
        let rec = &results(&full).children[0];
        assert_eq!(rec.name, "Record");
        let refs: Vec<_> = rec
            .children
            .iter()
            .filter(|c| c.name == "references")
            .collect();
        assert_eq!(refs[0].text, format!("{BASE}/ogc/collections/r01"));
        assert_eq!(refs[0].attr("scheme"), Some("OGC:API-Features"));
        assert_eq!(rec.child("rights").unwrap().text, "CC-BY-4.0");
    }

    #[test]
    fn iso_output_and_get_record_by_id() {
        let iso = ask(&[
            ("request", "GetRecords"),
            ("resultType", "results"),
            ("outputSchema", GMD),
            ("maxRecords", "2"),
        ]);
        assert_eq!(results(&iso).attr("recordSchema"), Some(GMD));
        assert_eq!(results(&iso).children[1].name, "MD_Metadata");
        let by_id = ask(&[
            ("request", "GetRecordById"),
            ("id", "r03,nothing,r01,r03,r01"),
        ]);
        assert_eq!(by_id.name, "GetRecordByIdResponse");
        let ids: Vec<_> = by_id
            .children
            .iter()
            .map(|c| c.child("identifier").unwrap().text.as_str())
            .collect();
        assert_eq!(ids, ["r03", "r01"]);
    }

    #[test]
    fn capabilities_describe_record_and_validate() {
        let caps = ask(&[("request", "GetCapabilities")]);
        assert_eq!(caps.name, "Capabilities");
        let id = caps.child("ServiceIdentification").unwrap();
        assert_eq!(id.child("Title").unwrap().text, TITLE);
        let ops = caps.child("OperationsMetadata").unwrap();
        let names: Vec<_> = ops
            .children
            .iter()
            .filter(|c| c.name == "Operation")
            .filter_map(|c| c.attr("name"))
            .collect();
        assert_eq!(
            names,
            [
                "GetCapabilities",
                "DescribeRecord",
                "GetRecords",
                "GetRecordById"
            ]
        );
        let get = &ops.children[2]
            .child("DCP")
            .unwrap()
            .child("HTTP")
            .unwrap()
            .children[0];
        assert_eq!(get.attr("href"), Some(&*format!("{BASE}/csw")));
        assert!(caps.child("Filter_Capabilities").is_some());

        let describe = ask(&[("request", "DescribeRecord")]);
        let component = describe.child("SchemaComponent").unwrap();
        assert_eq!(component.attr("targetNamespace"), Some(CSW_NS));

        let body = br#"<GetRecords service="CSW" version="2.0.2" resultType="validate"><Query typeNames="csw:Record"/></GetRecords>"#;
        let req = request_from_xml(body).unwrap();
        let ack = parse(respond_at(&req, &records(), BASE, NOW).unwrap().as_bytes()).unwrap();
        assert_eq!(ack.name, "Acknowledgement");
        assert_eq!(ack.attr("timeStamp"), Some(NOW));
    }

    #[test]
    fn exception_reports_escape_and_locate() {
        let err = RecordsError::csw(INVALID, "constraint", "bad `<&>` here");
        let text = exception_report(&err);
        assert!(text.contains("&lt;&amp;&gt;"));
        let root = parse(text.as_bytes()).unwrap();
        assert_eq!(root.name, "ExceptionReport");
        assert_eq!(root.attr("version"), Some("1.2.0"));
        let exception = root.child("Exception").unwrap();
        assert_eq!(exception.attr("exceptionCode"), Some(INVALID));
        assert_eq!(exception.attr("locator"), Some("constraint"));
        assert_eq!(
            exception.child("ExceptionText").unwrap().text,
            "bad `<&>` here"
        );
        let other = parse(exception_report(&RecordsError::UnknownParameter("x".into())).as_bytes())
            .unwrap();
        assert_eq!(other.child("Exception").unwrap().attr("locator"), Some("x"));
    }

    #[test]
    fn real_clock_gives_a_timestamp() {
        let req = CswRequest::GetRecords(GetRecords {
            type_name: TypeName::Record,
            result_type: ResultType::Hits,
            element_set: ElementSet::Summary,
            output_schema: OutputSchema::DublinCore,
            start_position: 1,
            max_records: 10,
            constraint: None,
        });
        let root = parse(respond(&req, &[], BASE).unwrap().as_bytes()).unwrap();
        let stamp = root
            .child("SearchStatus")
            .unwrap()
            .attr("timestamp")
            .unwrap();
        assert!(DateTime::parse_from_rfc3339(stamp).is_ok(), "{stamp}");
        assert_eq!(results(&root).attr("nextRecord"), Some("0"));
    }
}
