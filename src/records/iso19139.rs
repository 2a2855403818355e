//! A dataset's metadata as an ISO 19139 `gmd:MD_Metadata` document (ISO 19115:2003 core, filled
//! from the SNI 8843-1 fields): identification, contact, reference system, keywords, constraints,
//! topic, extent, distribution (OGC API – Features and this document) and lineage. Elements follow
//! the sequence of `gmd.xsd`; code lists are those of ISO/TS 19139.

use std::io::{self, Write};

use quick_xml::Writer;

use super::ogc::{self, data_url, record_url};
use super::xml::{self, close, empty, leaf, open};
use crate::catalog::MetadataRecord;
use crate::catalog::metadata::{TOPIC_CATEGORIES, UPDATE_FREQUENCIES};

/// The ISO 19139 `gmd` namespace (also the CSW output schema of ISO records).
pub const GMD: &str = "http://www.isotc211.org/2005/gmd";
/// The ISO 19139 `gco` namespace.
pub const GCO: &str = "http://www.isotc211.org/2005/gco";
/// GML 3.2.
pub const GML: &str = "http://www.opengis.net/gml/3.2";
/// XLink.
pub const XLINK: &str = "http://www.w3.org/1999/xlink";
/// The code lists of ISO/TS 19139.
pub const CODELISTS: &str = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml";

/// The whole document, with its XML declaration.
pub fn document(base: &str, record: &MetadataRecord) -> String {
    let mut w = xml::document();
    // Writing into a Vec cannot fail.
    let _ = record_body(&mut w, base, record);
    xml::finish(w)
}

/// Writes the `gmd:MD_Metadata` element (with its namespace declarations) into `w`, so that CSW
/// can embed it in a response.
pub fn record_body<W: Write>(
    w: &mut Writer<W>,
    base: &str,
    record: &MetadataRecord,
) -> io::Result<()> {
    let m = &record.metadata;
    open(
        w,
        "gmd:MD_Metadata",
        &[
            ("xmlns:gmd", GMD),
            ("xmlns:gco", GCO),
            ("xmlns:gml", GML),
            ("xmlns:xlink", XLINK),
        ],
    )?;
    string(w, "gmd:fileIdentifier", &record.id)?;
    language(w, m.language())?;
    code(w, "gmd:characterSet", "MD_CharacterSetCode", "utf8")?;
    code(w, "gmd:hierarchyLevel", "MD_ScopeCode", "dataset")?;
    open(w, "gmd:contact", &[])?;
    responsible_party(w, record)?;
    close(w, "gmd:contact")?;
    date_stamp(w, record)?;
    string(
        w,
        "gmd:metadataStandardName",
        "ISO 19115:2003/19139 (SNI 8843-1:2019)",
    )?;
    string(w, "gmd:metadataStandardVersion", "1.0")?;
    reference_system(w, &record.crs)?;
    identification(w, record)?;
    distribution(w, base, record)?;
    lineage(w, &m.lineage)?;
    close(w, "gmd:MD_Metadata")
}

/// `<name><gco:CharacterString>text</gco:CharacterString></name>`, or a `missing` nil reason.
fn string<W: Write>(w: &mut Writer<W>, name: &str, text: &str) -> io::Result<()> {
    if text.trim().is_empty() {
        return empty(w, name, &[("gco:nilReason", "missing")]);
    }
    open(w, name, &[])?;
    leaf(w, "gco:CharacterString", &[], text)?;
    close(w, name)
}

/// `<name><gmd:{list} codeList=… codeListValue=…>value</gmd:{list}></name>`.
fn code<W: Write>(w: &mut Writer<W>, name: &str, list: &str, value: &str) -> io::Result<()> {
    let code_list = format!("{CODELISTS}#{list}");
    open(w, name, &[])?;
    leaf(
        w,
        &format!("gmd:{list}"),
        &[("codeList", &code_list), ("codeListValue", value)],
        value,
    )?;
    close(w, name)
}

fn language<W: Write>(w: &mut Writer<W>, code: &str) -> io::Result<()> {
    open(w, "gmd:language", &[])?;
    leaf(
        w,
        "gmd:LanguageCode",
        &[
            ("codeList", "http://www.loc.gov/standards/iso639-2/"),
            ("codeListValue", code),
        ],
        code,
    )?;
    close(w, "gmd:language")
}

/// The agency as point of contact, with its e-mail and telephone.
fn responsible_party<W: Write>(w: &mut Writer<W>, record: &MetadataRecord) -> io::Result<()> {
    let c = &record.metadata.contact;
    open(w, "gmd:CI_ResponsibleParty", &[])?;
    if let Some(name) = c.individual.as_deref().filter(|n| !n.trim().is_empty()) {
        string(w, "gmd:individualName", name)?;
    }
    string(w, "gmd:organisationName", &record.agency_name)?;
    open(w, "gmd:contactInfo", &[])?;
    open(w, "gmd:CI_Contact", &[])?;
    if let Some(phone) = c.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        open(w, "gmd:phone", &[])?;
        open(w, "gmd:CI_Telephone", &[])?;
        string(w, "gmd:voice", phone)?;
        close(w, "gmd:CI_Telephone")?;
        close(w, "gmd:phone")?;
    }
    open(w, "gmd:address", &[])?;
    open(w, "gmd:CI_Address", &[])?;
    string(w, "gmd:city", "Balikpapan")?;
    string(w, "gmd:country", "Indonesia")?;
    string(w, "gmd:electronicMailAddress", &c.email)?;
    close(w, "gmd:CI_Address")?;
    close(w, "gmd:address")?;
    close(w, "gmd:CI_Contact")?;
    close(w, "gmd:contactInfo")?;
    code(w, "gmd:role", "CI_RoleCode", "pointOfContact")?;
    close(w, "gmd:CI_ResponsibleParty")
}

/// When the record last changed, as `gco:DateTime` (or the reference date if that is unreadable).
fn date_stamp<W: Write>(w: &mut Writer<W>, record: &MetadataRecord) -> io::Result<()> {
    open(w, "gmd:dateStamp", &[])?;
    if chrono::DateTime::parse_from_rfc3339(&record.updated).is_ok() {
        leaf(w, "gco:DateTime", &[], &record.updated)?;
    } else {
        leaf(w, "gco:Date", &[], &record.metadata.reference_date)?;
    }
    close(w, "gmd:dateStamp")
}

fn reference_system<W: Write>(w: &mut Writer<W>, crs: &str) -> io::Result<()> {
    let code_text = if crs.is_empty() { "EPSG:4326" } else { crs };
    open(w, "gmd:referenceSystemInfo", &[])?;
    open(w, "gmd:MD_ReferenceSystem", &[])?;
    open(w, "gmd:referenceSystemIdentifier", &[])?;
    open(w, "gmd:RS_Identifier", &[])?;
    string(w, "gmd:code", code_text)?;
    string(w, "gmd:codeSpace", "EPSG")?;
    close(w, "gmd:RS_Identifier")?;
    close(w, "gmd:referenceSystemIdentifier")?;
    close(w, "gmd:MD_ReferenceSystem")?;
    close(w, "gmd:referenceSystemInfo")
}

fn identification<W: Write>(w: &mut Writer<W>, record: &MetadataRecord) -> io::Result<()> {
    let m = &record.metadata;
    open(w, "gmd:identificationInfo", &[])?;
    open(w, "gmd:MD_DataIdentification", &[])?;
    citation(w, record)?;
    string(w, "gmd:abstract", &m.abstract_text)?;
    open(w, "gmd:pointOfContact", &[])?;
    responsible_party(w, record)?;
    close(w, "gmd:pointOfContact")?;
    maintenance(w, &m.update_frequency)?;
    keywords(w, &m.keywords)?;
    constraints(w, &m.licence)?;
    language(w, m.language())?;
    code(w, "gmd:characterSet", "MD_CharacterSetCode", "utf8")?;
    if TOPIC_CATEGORIES.contains(&m.topic_category.as_str()) {
        open(w, "gmd:topicCategory", &[])?;
        leaf(w, "gmd:MD_TopicCategoryCode", &[], &m.topic_category)?;
        close(w, "gmd:topicCategory")?;
    }
    if let Some(extent) = record.extent {
        bounding_box(w, &extent)?;
    }
    close(w, "gmd:MD_DataIdentification")?;
    close(w, "gmd:identificationInfo")
}

fn citation<W: Write>(w: &mut Writer<W>, record: &MetadataRecord) -> io::Result<()> {
    let m = &record.metadata;
    open(w, "gmd:citation", &[])?;
    open(w, "gmd:CI_Citation", &[])?;
    string(w, "gmd:title", &m.title)?;
    open(w, "gmd:date", &[])?;
    open(w, "gmd:CI_Date", &[])?;
    if super::search::instant(&m.reference_date).is_some() {
        open(w, "gmd:date", &[])?;
        leaf(w, "gco:Date", &[], &m.reference_date)?;
        close(w, "gmd:date")?;
    } else {
        empty(w, "gmd:date", &[("gco:nilReason", "missing")])?;
    }
    code(w, "gmd:dateType", "CI_DateTypeCode", m.date_type())?;
    close(w, "gmd:CI_Date")?;
    close(w, "gmd:date")?;
    open(w, "gmd:identifier", &[])?;
    open(w, "gmd:MD_Identifier", &[])?;
    string(w, "gmd:code", &record.id)?;
    close(w, "gmd:MD_Identifier")?;
    close(w, "gmd:identifier")?;
    close(w, "gmd:CI_Citation")?;
    close(w, "gmd:citation")
}

fn maintenance<W: Write>(w: &mut Writer<W>, frequency: &str) -> io::Result<()> {
    let value = if UPDATE_FREQUENCIES.contains(&frequency) {
        frequency
    } else {
        "unknown"
    };
    open(w, "gmd:resourceMaintenance", &[])?;
    open(w, "gmd:MD_MaintenanceInformation", &[])?;
    code(
        w,
        "gmd:maintenanceAndUpdateFrequency",
        "MD_MaintenanceFrequencyCode",
        value,
    )?;
    close(w, "gmd:MD_MaintenanceInformation")?;
    close(w, "gmd:resourceMaintenance")
}

fn keywords<W: Write>(w: &mut Writer<W>, keywords: &[String]) -> io::Result<()> {
    if keywords.is_empty() {
        return Ok(());
    }
    open(w, "gmd:descriptiveKeywords", &[])?;
    open(w, "gmd:MD_Keywords", &[])?;
    for keyword in keywords {
        string(w, "gmd:keyword", keyword)?;
    }
    code(w, "gmd:type", "MD_KeywordTypeCode", "theme")?;
    close(w, "gmd:MD_Keywords")?;
    close(w, "gmd:descriptiveKeywords")
}

/// The licence, as a use limitation and as the other constraint of legal constraints.
fn constraints<W: Write>(w: &mut Writer<W>, licence: &str) -> io::Result<()> {
    open(w, "gmd:resourceConstraints", &[])?;
    open(w, "gmd:MD_LegalConstraints", &[])?;
    string(w, "gmd:useLimitation", licence)?;
    code(
        w,
        "gmd:useConstraints",
        "MD_RestrictionCode",
        "otherRestrictions",
    )?;
    string(w, "gmd:otherConstraints", licence)?;
    close(w, "gmd:MD_LegalConstraints")?;
    close(w, "gmd:resourceConstraints")
}

fn bounding_box<W: Write>(w: &mut Writer<W>, extent: &[f64; 4]) -> io::Result<()> {
    open(w, "gmd:extent", &[])?;
    open(w, "gmd:EX_Extent", &[])?;
    open(w, "gmd:geographicElement", &[])?;
    open(w, "gmd:EX_GeographicBoundingBox", &[])?;
    let names = [
        "gmd:westBoundLongitude",
        "gmd:eastBoundLongitude",
        "gmd:southBoundLatitude",
        "gmd:northBoundLatitude",
    ];
    for (name, value) in names
        .iter()
        .zip([extent[0], extent[2], extent[1], extent[3]])
    {
        open(w, name, &[])?;
        leaf(w, "gco:Decimal", &[], &value.to_string())?;
        close(w, name)?;
    }
    close(w, "gmd:EX_GeographicBoundingBox")?;
    close(w, "gmd:geographicElement")?;
    close(w, "gmd:EX_Extent")?;
    close(w, "gmd:extent")
}

/// Where to get the data (OGC API – Features) and this document.
fn distribution<W: Write>(
    w: &mut Writer<W>,
    base: &str,
    record: &MetadataRecord,
) -> io::Result<()> {
    open(w, "gmd:distributionInfo", &[])?;
    open(w, "gmd:MD_Distribution", &[])?;
    open(w, "gmd:distributionFormat", &[])?;
    open(w, "gmd:MD_Format", &[])?;
    string(w, "gmd:name", "GeoJSON")?;
    string(w, "gmd:version", "RFC 7946")?;
    close(w, "gmd:MD_Format")?;
    close(w, "gmd:distributionFormat")?;
    open(w, "gmd:transferOptions", &[])?;
    open(w, "gmd:MD_DigitalTransferOptions", &[])?;
    let data = OnlineResource {
        url: data_url(base, &record.id),
        protocol: "OGC:API-Features",
        name: &record.id,
        description: "OGC API – Features collection",
        function: "download",
    };
    online(w, &data)?;
    let iso = OnlineResource {
        url: format!("{}?f=iso19139", record_url(base, &record.id)),
        protocol: "WWW:LINK",
        name: "ISO 19139",
        description: ogc::ISO19139,
        function: "information",
    };
    online(w, &iso)?;
    close(w, "gmd:MD_DigitalTransferOptions")?;
    close(w, "gmd:transferOptions")?;
    close(w, "gmd:MD_Distribution")?;
    close(w, "gmd:distributionInfo")
}

/// A `gmd:CI_OnlineResource`.
struct OnlineResource<'a> {
    url: String,
    protocol: &'a str,
    name: &'a str,
    description: &'a str,
    function: &'a str,
}

fn online<W: Write>(w: &mut Writer<W>, resource: &OnlineResource<'_>) -> io::Result<()> {
    open(w, "gmd:onLine", &[])?;
    open(w, "gmd:CI_OnlineResource", &[])?;
    open(w, "gmd:linkage", &[])?;
    leaf(w, "gmd:URL", &[], &resource.url)?;
    close(w, "gmd:linkage")?;
    string(w, "gmd:protocol", resource.protocol)?;
    string(w, "gmd:name", resource.name)?;
    string(w, "gmd:description", resource.description)?;
    code(
        w,
        "gmd:function",
        "CI_OnLineFunctionCode",
        resource.function,
    )?;
    close(w, "gmd:CI_OnlineResource")?;
    close(w, "gmd:onLine")
}

fn lineage<W: Write>(w: &mut Writer<W>, statement: &str) -> io::Result<()> {
    open(w, "gmd:dataQualityInfo", &[])?;
    open(w, "gmd:DQ_DataQuality", &[])?;
    open(w, "gmd:scope", &[])?;
    open(w, "gmd:DQ_Scope", &[])?;
    code(w, "gmd:level", "MD_ScopeCode", "dataset")?;
    close(w, "gmd:DQ_Scope")?;
    close(w, "gmd:scope")?;
    open(w, "gmd:lineage", &[])?;
    open(w, "gmd:LI_Lineage", &[])?;
    string(w, "gmd:statement", statement)?;
    close(w, "gmd:LI_Lineage")?;
    close(w, "gmd:lineage")?;
    close(w, "gmd:DQ_DataQuality")?;
    close(w, "gmd:dataQualityInfo")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::search::tests::record as sample;
    use crate::records::xml::{Element, parse};

    const BASE: &str = "https://peta.balikpapan.go.id";

    /// The text at a path of local names below the root.
    fn at<'a>(root: &'a Element, path: &[&str]) -> &'a Element {
        path.iter().fold(root, |e, name| {
            e.child(name)
                .unwrap_or_else(|| panic!("no {name} in {}", e.name))
        })
    }

    #[test]
    fn the_document_parses_back_with_escaped_text() {
        let mut r = sample("puskesmas-2025", "Puskesmas <&>\"' Balikpapan");
        r.metadata.lineage = "a < b & c".into();
        let text = document(BASE, &r);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(text.contains("Puskesmas &lt;&amp;&gt;"), "escaped");
        assert!(!text.contains("<&>"));
        let root = parse(text.as_bytes()).unwrap();
        assert_eq!(root.name, "MD_Metadata");
        assert_eq!(
            at(&root, &["fileIdentifier", "CharacterString"]).text,
            "puskesmas-2025"
        );
        let ident = at(&root, &["identificationInfo", "MD_DataIdentification"]);
        assert_eq!(
            at(
                ident,
                &["citation", "CI_Citation", "title", "CharacterString"]
            )
            .text,
            "Puskesmas <&>\"' Balikpapan"
        );
        let date_type = at(
            ident,
            &["citation", "CI_Citation", "date", "CI_Date", "dateType"],
        );
        assert_eq!(
            date_type.children[0].attr("codeListValue"),
            Some("publication")
        );
        assert_eq!(
            at(ident, &["topicCategory", "MD_TopicCategoryCode"]).text,
            "health"
        );
        let bbox = at(
            ident,
            &[
                "extent",
                "EX_Extent",
                "geographicElement",
                "EX_GeographicBoundingBox",
            ],
        );
        assert_eq!(at(bbox, &["westBoundLongitude", "Decimal"]).text, "116.8");
        assert_eq!(at(bbox, &["southBoundLatitude", "Decimal"]).text, "-1.3");
        let frequency = at(
            ident,
            &[
                "resourceMaintenance",
                "MD_MaintenanceInformation",
                "maintenanceAndUpdateFrequency",
                "MD_MaintenanceFrequencyCode",
            ],
        );
        assert_eq!(
            frequency.attr("codeList"),
            Some(&*format!("{CODELISTS}#MD_MaintenanceFrequencyCode"))
        );
        assert_eq!(
            at(
                &root,
                &[
                    "dataQualityInfo",
                    "DQ_DataQuality",
                    "lineage",
                    "LI_Lineage",
                    "statement",
                    "CharacterString"
                ]
            )
            .text,
            "a < b & c"
        );
        let options = at(
            &root,
            &[
                "distributionInfo",
                "MD_Distribution",
                "transferOptions",
                "MD_DigitalTransferOptions",
            ],
        );
        let first = at(&options.children[0], &["CI_OnlineResource"]);
        assert_eq!(
            at(first, &["linkage", "URL"]).text,
            format!("{BASE}/ogc/collections/puskesmas-2025")
        );
        assert_eq!(
            at(first, &["protocol", "CharacterString"]).text,
            "OGC:API-Features"
        );
        let email = at(
            &root,
            &[
                "contact",
                "CI_ResponsibleParty",
                "contactInfo",
                "CI_Contact",
                "address",
                "CI_Address",
                "electronicMailAddress",
                "CharacterString",
            ],
        );
        assert_eq!(email.text, "dinkes@balikpapan.go.id");
    }

    #[test]
    fn gaps_become_nil_reasons_and_are_left_out() {
        let mut r = sample("a", "A");
        r.metadata.abstract_text.clear();
        r.metadata.topic_category = "kesehatan".into();
        r.extent = None;
        r.metadata.reference_date = "Juni 2025".into();
        let root = parse(document(BASE, &r).as_bytes()).unwrap();
        let ident = at(&root, &["identificationInfo", "MD_DataIdentification"]);
        assert_eq!(
            ident.child("abstract").unwrap().attr("nilReason"),
            Some("missing")
        );
        assert!(ident.child("topicCategory").is_none());
        assert!(ident.child("extent").is_none());
        let date = at(
            ident,
            &["citation", "CI_Citation", "date", "CI_Date", "date"],
        );
        assert_eq!(date.attr("nilReason"), Some("missing"));
    }
}
