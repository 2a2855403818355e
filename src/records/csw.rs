//! CSW 2.0.2 (OGC 07-006r1), the catalogue interface GeoNetwork harvesters and the national
//! geoportal speak: requests read from KVP (`GET /csw?service=CSW&...`, keys in any case) or from
//! an XML POST body, into a [`CswRequest`]; [`respond`] renders the answer and
//! [`exception_report`] an `ows:ExceptionReport`. Operations: GetCapabilities, DescribeRecord,
//! GetRecords and GetRecordById.

pub mod filter;
mod response;

pub use filter::{Filter, Queryable};
pub use response::{exception_report, next_record, respond};

use super::xml::{self, Element};
use super::{RecordsError, Result};

/// The CSW namespace, also the Dublin Core output schema.
pub const CSW_NS: &str = "http://www.opengis.net/cat/csw/2.0.2";
/// The only version spoken.
pub const VERSION: &str = "2.0.2";
/// The default `maxRecords`.
pub const DEFAULT_MAX_RECORDS: usize = 10;
/// The largest `maxRecords`; larger values are clamped.
pub const MAX_RECORDS: usize = 1000;

/// OWS exception code: a required parameter is missing.
pub const MISSING: &str = "MissingParameterValue";
/// OWS exception code: a parameter has a value this server cannot use.
pub const INVALID: &str = "InvalidParameterValue";
/// OWS exception code: the operation is not offered.
pub const NOT_SUPPORTED: &str = "OperationNotSupported";
/// OWS exception code: no version both sides speak.
pub const VERSION_FAILED: &str = "VersionNegotiationFailed";
/// OWS exception code: anything else.
pub const NO_CODE: &str = "NoApplicableCode";

/// A CSW request, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum CswRequest {
    /// The service description.
    GetCapabilities,
    /// The schemas of the record types asked for.
    DescribeRecord(Vec<TypeName>),
    /// A search.
    GetRecords(GetRecords),
    /// Records by id.
    GetRecordById(GetRecordById),
}

/// The record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeName {
    /// `csw:Record` (Dublin Core).
    Record,
    /// `gmd:MD_Metadata` (ISO 19139).
    MdMetadata,
}

/// The schema records are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputSchema {
    /// `http://www.opengis.net/cat/csw/2.0.2`.
    DublinCore,
    /// `http://www.isotc211.org/2005/gmd`.
    Iso,
}

/// How much of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementSet {
    /// `csw:BriefRecord`.
    Brief,
    /// `csw:SummaryRecord`.
    Summary,
    /// `csw:Record`.
    Full,
}

/// What GetRecords returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    /// Only the count.
    Hits,
    /// The records.
    Results,
    /// Only whether the request is valid.
    Validate,
}

/// A GetRecords request.
#[derive(Debug, Clone, PartialEq)]
pub struct GetRecords {
    /// The record type searched.
    pub type_name: TypeName,
    /// Count, records or validation.
    pub result_type: ResultType,
    /// How much of each record.
    pub element_set: ElementSet,
    /// The schema of the records.
    pub output_schema: OutputSchema,
    /// The first record returned, from 1.
    pub start_position: usize,
    /// The most records returned.
    pub max_records: usize,
    /// The constraint, if any.
    pub constraint: Option<Filter>,
}

/// A GetRecordById request.
#[derive(Debug, Clone, PartialEq)]
pub struct GetRecordById {
    /// The ids asked for.
    pub ids: Vec<String>,
    /// How much of each record.
    pub element_set: ElementSet,
    /// The schema of the records.
    pub output_schema: OutputSchema,
}

impl TypeName {
    fn parse(text: &str) -> Result<Self> {
        match text.rsplit(':').next().unwrap_or(text) {
            "Record" => Ok(Self::Record),
            "MD_Metadata" => Ok(Self::MdMetadata),
            _ => Err(RecordsError::csw(
                INVALID,
                "typeNames",
                format!("`{text}` is not a record type here; use csw:Record or gmd:MD_Metadata"),
            )),
        }
    }
}

fn type_names(text: Option<&str>, locator: &str) -> Result<Vec<TypeName>> {
    let names: Vec<&str> = text
        .unwrap_or("")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(vec![TypeName::Record]);
    }
    names
        .into_iter()
        .map(TypeName::parse)
        .collect::<Result<_>>()
        .map_err(|e| relocate(e, locator))
}

fn relocate(error: RecordsError, locator: &str) -> RecordsError {
    match error {
        RecordsError::Csw { code, text, .. } => RecordsError::csw(code, locator, text),
        other => other,
    }
}

fn output_schema(text: Option<&str>) -> Result<OutputSchema> {
    match text.map(str::trim) {
        None | Some("" | CSW_NS) => Ok(OutputSchema::DublinCore),
        Some(super::iso19139::GMD) => Ok(OutputSchema::Iso),
        Some(other) => Err(RecordsError::csw(
            INVALID,
            "outputSchema",
            format!(
                "`{other}` is not offered; use {CSW_NS} or {}",
                super::iso19139::GMD
            ),
        )),
    }
}

fn element_set(text: Option<&str>) -> Result<ElementSet> {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "summary") => Ok(ElementSet::Summary),
        Some("brief") => Ok(ElementSet::Brief),
        Some("full") => Ok(ElementSet::Full),
        Some(_) => Err(RecordsError::csw(
            INVALID,
            "ElementSetName",
            "must be brief, summary or full",
        )),
    }
}

fn result_type(text: Option<&str>) -> Result<ResultType> {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "hits") => Ok(ResultType::Hits),
        Some("results") => Ok(ResultType::Results),
        Some("validate") => Ok(ResultType::Validate),
        Some(_) => Err(RecordsError::csw(
            INVALID,
            "resultType",
            "must be hits, results or validate",
        )),
    }
}

fn whole_number(text: Option<&str>, locator: &str, default: usize, least: usize) -> Result<usize> {
    let Some(text) = text else {
        return Ok(default);
    };
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= least)
        .ok_or_else(|| {
            RecordsError::csw(
                INVALID,
                locator,
                format!("`{text}` is not a whole number ≥ {least}"),
            )
        })
}

fn output_format(text: Option<&str>) -> Result<()> {
    match text.map(str::trim) {
        None | Some("" | "application/xml" | "text/xml") => Ok(()),
        Some(other) => Err(RecordsError::csw(
            INVALID,
            "outputFormat",
            format!("`{other}` is not offered; use application/xml"),
        )),
    }
}

/// The parts of GetRecords common to KVP and XML.
struct GetRecordsParts<'a> {
    type_names: Option<&'a str>,
    result_type: Option<&'a str>,
    element_set: Option<&'a str>,
    output_schema: Option<&'a str>,
    output_format: Option<&'a str>,
    start_position: Option<&'a str>,
    max_records: Option<&'a str>,
}

impl GetRecordsParts<'_> {
    fn build(&self, constraint: Option<Filter>) -> Result<GetRecords> {
        output_format(self.output_format)?;
        let max = whole_number(self.max_records, "maxRecords", DEFAULT_MAX_RECORDS, 0)?;
        Ok(GetRecords {
            type_name: type_names(self.type_names, "typeNames")?
                .first()
                .copied()
                .unwrap_or(TypeName::Record),
            result_type: result_type(self.result_type)?,
            element_set: element_set(self.element_set)?,
            output_schema: output_schema(self.output_schema)?,
            start_position: whole_number(self.start_position, "startPosition", 1, 1)?,
            max_records: max.min(MAX_RECORDS),
            constraint,
        })
    }
}

// ---- KVP --------------------------------------------------------------------------------------

/// Query pairs with their keys in lower case.
struct Kvp<'a>(Vec<(String, &'a str)>);

impl<'a> Kvp<'a> {
    fn new(pairs: &'a [(String, String)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    fn required(&self, key: &str, locator: &str) -> Result<&'a str> {
        self.get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| RecordsError::csw(MISSING, locator, format!("{locator} is required")))
    }
}

/// Reads a KVP request (`service=CSW&version=2.0.2&request=…`), keys in any case.
pub fn request_from_kvp(pairs: &[(String, String)]) -> Result<CswRequest> {
    let kvp = Kvp::new(pairs);
    check_service(Some(kvp.required("service", "service")?))?;
    let request = kvp.required("request", "request")?;
    if request.eq_ignore_ascii_case("GetCapabilities") {
        check_accept_versions(kvp.get("acceptversions"))?;
        return Ok(CswRequest::GetCapabilities);
    }
    check_operation(request)?;
    check_version(Some(kvp.required("version", "version")?))?;
    match request.to_ascii_lowercase().as_str() {
        "describerecord" => Ok(CswRequest::DescribeRecord(type_names(
            kvp.get("typename"),
            "typeName",
        )?)),
        "getrecords" => get_records_kvp(&kvp),
        _ => get_record_by_id_kvp(&kvp),
    }
}

fn check_operation(request: &str) -> Result<()> {
    const OFFERED: [&str; 3] = ["DescribeRecord", "GetRecords", "GetRecordById"];
    if OFFERED.iter().any(|o| o.eq_ignore_ascii_case(request)) {
        return Ok(());
    }
    Err(RecordsError::csw(
        NOT_SUPPORTED,
        "request",
        format!(
            "`{request}` is not offered; use GetCapabilities, DescribeRecord, GetRecords or \
             GetRecordById"
        ),
    ))
}

fn check_service(service: Option<&str>) -> Result<()> {
    match service.map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("CSW") => Ok(()),
        None | Some("") => Err(RecordsError::csw(MISSING, "service", "service is required")),
        Some(other) => Err(RecordsError::csw(
            INVALID,
            "service",
            format!("`{other}` is not this service; use CSW"),
        )),
    }
}

fn check_version(version: Option<&str>) -> Result<()> {
    match version.map(str::trim) {
        Some(VERSION) => Ok(()),
        None | Some("") => Err(RecordsError::csw(MISSING, "version", "version is required")),
        Some(other) => Err(RecordsError::csw(
            INVALID,
            "version",
            format!("version `{other}` is not spoken; use {VERSION}"),
        )),
    }
}

fn check_accept_versions(versions: Option<&str>) -> Result<()> {
    match versions {
        Some(list) if !list.split(',').any(|v| v.trim() == VERSION) => Err(RecordsError::csw(
            VERSION_FAILED,
            "AcceptVersions",
            format!("only version {VERSION} is spoken"),
        )),
        _ => Ok(()),
    }
}

fn get_records_kvp(kvp: &Kvp<'_>) -> Result<CswRequest> {
    unsupported_kvp(kvp)?;
    let parts = GetRecordsParts {
        type_names: kvp.get("typenames"),
        result_type: kvp.get("resulttype"),
        element_set: kvp.get("elementsetname"),
        output_schema: kvp.get("outputschema"),
        output_format: kvp.get("outputformat"),
        start_position: kvp.get("startposition"),
        max_records: kvp.get("maxrecords"),
    };
    let constraint = match (kvp.get("constraint"), kvp.get("constraintlanguage")) {
        (None, _) => None,
        (Some(c), _) if c.trim().is_empty() => None,
        (Some(_), None) => {
            return Err(RecordsError::csw(
                MISSING,
                "constraintLanguage",
                "a constraint needs constraintLanguage CQL_TEXT or FILTER",
            ));
        }
        (Some(text), Some(language)) => Some(constraint(text, language)?),
    };
    parts.build(constraint).map(CswRequest::GetRecords)
}

fn unsupported_kvp(kvp: &Kvp<'_>) -> Result<()> {
    if kvp.get("elementname").is_some() {
        return Err(RecordsError::csw(
            INVALID,
            "ElementName",
            "ElementName projections are not supported; use ElementSetName",
        ));
    }
    if kvp.get("responsehandler").is_some() {
        return Err(RecordsError::csw(
            NOT_SUPPORTED,
            "ResponseHandler",
            "asynchronous responses are not supported",
        ));
    }
    Ok(())
}

fn constraint(text: &str, language: &str) -> Result<Filter> {
    filter::check_length(text)?;
    match language.trim().to_ascii_uppercase().as_str() {
        "CQL_TEXT" => filter::from_cql(text).and_then(Filter::within_budget),
        "FILTER" => filter::from_filter_text(text).and_then(Filter::within_budget),
        other => Err(RecordsError::csw(
            INVALID,
            "constraintLanguage",
            format!("`{other}` is not supported; use CQL_TEXT or FILTER"),
        )),
    }
}

fn get_record_by_id_kvp(kvp: &Kvp<'_>) -> Result<CswRequest> {
    let ids = kvp
        .required("id", "Id")?
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(CswRequest::GetRecordById(GetRecordById {
        ids,
        element_set: element_set(kvp.get("elementsetname"))?,
        output_schema: output_schema(kvp.get("outputschema"))?,
    }))
}

// ---- XML --------------------------------------------------------------------------------------

/// Reads an XML POST body. DOCTYPE, entities, bodies over 32 KiB and nesting deeper than 32 are
/// refused (`NoApplicableCode`).
pub fn request_from_xml(body: &[u8]) -> Result<CswRequest> {
    let root = xml::parse(body)?;
    check_service(root.attr("service"))?;
    if root.name == "GetCapabilities" {
        let versions = root.child("AcceptVersions").map(|a| {
            a.children
                .iter()
                .map(|v| v.text.as_str())
                .collect::<Vec<_>>()
                .join(",")
        });
        check_accept_versions(versions.as_deref())?;
        return Ok(CswRequest::GetCapabilities);
    }
    check_operation(&root.name)?;
    check_version(root.attr("version"))?;
    match root.name.as_str() {
        "DescribeRecord" => describe_record_xml(&root),
        "GetRecords" => get_records_xml(&root),
        _ => get_record_by_id_xml(&root),
    }
}

fn describe_record_xml(root: &Element) -> Result<CswRequest> {
    let names: Vec<&str> = root
        .children
        .iter()
        .filter(|c| c.name == "TypeName")
        .map(|c| c.text.as_str())
        .collect();
    Ok(CswRequest::DescribeRecord(type_names(
        Some(&names.join(",")),
        "TypeName",
    )?))
}

fn get_records_xml(root: &Element) -> Result<CswRequest> {
    if root.child("ResponseHandler").is_some() {
        return Err(RecordsError::csw(
            NOT_SUPPORTED,
            "ResponseHandler",
            "asynchronous responses are not supported",
        ));
    }
    let query = root
        .child("Query")
        .ok_or_else(|| RecordsError::csw(MISSING, "Query", "GetRecords needs a csw:Query"))?;
    if query.child("ElementName").is_some() {
        return Err(RecordsError::csw(
            INVALID,
            "ElementName",
            "ElementName projections are not supported; use ElementSetName",
        ));
    }
    let parts = GetRecordsParts {
        type_names: query.attr("typeNames"),
        result_type: root.attr("resultType"),
        element_set: query.child("ElementSetName").map(|e| e.text.as_str()),
        output_schema: root.attr("outputSchema"),
        output_format: root.attr("outputFormat"),
        start_position: root.attr("startPosition"),
        max_records: root.attr("maxRecords"),
    };
    let constraint = query.child("Constraint").map(constraint_xml).transpose()?;
    parts.build(constraint).map(CswRequest::GetRecords)
}

fn constraint_xml(element: &Element) -> Result<Filter> {
    if let Some(filter) = element.child("Filter") {
        return filter::from_filter(filter).and_then(Filter::within_budget);
    }
    if let Some(cql) = element.child("CqlText") {
        return filter::from_cql(&cql.text).and_then(Filter::within_budget);
    }
    Err(RecordsError::csw(
        MISSING,
        "Constraint",
        "csw:Constraint needs an ogc:Filter or a csw:CqlText",
    ))
}

fn get_record_by_id_xml(root: &Element) -> Result<CswRequest> {
    let ids: Vec<String> = root
        .children
        .iter()
        .filter(|c| c.name == "Id" && !c.text.is_empty())
        .map(|c| c.text.clone())
        .collect();
    if ids.is_empty() {
        return Err(RecordsError::csw(
            MISSING,
            "Id",
            "GetRecordById needs a csw:Id",
        ));
    }
    Ok(CswRequest::GetRecordById(GetRecordById {
        ids,
        element_set: element_set(root.child("ElementSetName").map(|e| e.text.as_str()))?,
        output_schema: output_schema(root.attr("outputSchema"))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kvp(list: &[(&str, &str)]) -> Result<CswRequest> {
        let pairs: Vec<(String, String)> = list
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        request_from_kvp(&pairs)
    }

    fn code_and_locator(result: Result<CswRequest>) -> (&'static str, String) {
        match result {
            Err(RecordsError::Csw { code, locator, .. }) => (code, locator),
            other => panic!("expected an exception, got {other:?}"),
        }
    }

    fn get_records(result: Result<CswRequest>) -> GetRecords {
        match result {
            Ok(CswRequest::GetRecords(g)) => g,
            other => panic!("expected GetRecords, got {other:?}"),
        }
    }

    #[test]
    fn kvp_keys_in_any_case() {
        assert_eq!(
            kvp(&[("SERVICE", "CSW"), ("Request", "GetCapabilities")]).unwrap(),
            CswRequest::GetCapabilities
        );
        let g = get_records(kvp(&[
            ("service", "CSW"),
            ("VERSION", "2.0.2"),
            ("request", "GetRecords"),
            ("typeNames", "gmd:MD_Metadata"),
            ("resultType", "results"),
            ("ElementSetName", "full"),
            ("outputSchema", "http://www.isotc211.org/2005/gmd"),
            ("startPosition", "11"),
            ("maxRecords", "5000"),
            ("constraintLanguage", "CQL_TEXT"),
            ("constraint", "csw:AnyText LIKE '%jalan%'"),
        ]));
        assert_eq!(g.type_name, TypeName::MdMetadata);
        assert_eq!(g.result_type, ResultType::Results);
        assert_eq!(g.element_set, ElementSet::Full);
        assert_eq!(g.output_schema, OutputSchema::Iso);
        assert_eq!((g.start_position, g.max_records), (11, MAX_RECORDS));
        assert!(g.constraint.is_some());
    }

    #[test]
    fn kvp_defaults() {
        let g = get_records(kvp(&[
            ("service", "CSW"),
            ("version", "2.0.2"),
            ("request", "GetRecords"),
        ]));
        assert_eq!(g.type_name, TypeName::Record);
        assert_eq!(g.result_type, ResultType::Hits, "the CSW 2.0.2 default");
        assert_eq!(g.element_set, ElementSet::Summary);
        assert_eq!((g.start_position, g.max_records), (1, DEFAULT_MAX_RECORDS));
        assert_eq!(g.constraint, None);
    }

    #[test]
    fn kvp_errors_carry_code_and_locator() {
        let base = [("service", "CSW"), ("version", "2.0.2")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            kvp(&all)
        };
        assert_eq!(
            code_and_locator(kvp(&[("request", "GetCapabilities")])),
            (MISSING, "service".into())
        );
        assert_eq!(
            code_and_locator(kvp(&[("service", "WMS"), ("request", "GetCapabilities")])),
            (INVALID, "service".into())
        );
        assert_eq!(code_and_locator(with(&[])), (MISSING, "request".into()));
        assert_eq!(
            code_and_locator(with(&[("request", "Transaction")])),
            (NOT_SUPPORTED, "request".into())
        );
        assert_eq!(
            code_and_locator(kvp(&[("service", "CSW"), ("request", "GetRecords")])),
            (MISSING, "version".into())
        );
        assert_eq!(
            code_and_locator(kvp(&[
                ("service", "CSW"),
                ("request", "GetCapabilities"),
                ("acceptVersions", "3.0.0")
            ])),
            (VERSION_FAILED, "AcceptVersions".into())
        );
        /// Extra parameters, the exception code and the locator expected.
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static str,
            &'static str,
        );
        let cases: [Case; 8] = [
            (&[("typeNames", "csw:Service")], INVALID, "typeNames"),
            (&[("outputSchema", "urn:x")], INVALID, "outputSchema"),
            (&[("resultType", "all")], INVALID, "resultType"),
            (&[("startPosition", "0")], INVALID, "startPosition"),
            (&[("maxRecords", "-1")], INVALID, "maxRecords"),
            (
                &[("constraint", "Title = 'a'")],
                MISSING,
                "constraintLanguage",
            ),
            (
                &[
                    ("constraint", "Title = 'a'"),
                    ("constraintLanguage", "CQL2"),
                ],
                INVALID,
                "constraintLanguage",
            ),
            (&[("ElementSetName", "huge")], INVALID, "ElementSetName"),
        ];
        for (extra, code, locator) in cases {
            let mut all = vec![("request", "GetRecords")];
            all.extend_from_slice(extra);
            assert_eq!(
                code_and_locator(with(&all)),
                (code, locator.into()),
                "{extra:?}"
            );
        }
    }

    #[test]
    fn kvp_constraint_of_40_kb_is_refused_clearly() {
        let long = format!("AnyText LIKE '%{}%'", "a".repeat(40 * 1024));
        let result = kvp(&[
            ("service", "CSW"),
            ("version", "2.0.2"),
            ("request", "GetRecords"),
            ("constraintLanguage", "CQL_TEXT"),
            ("constraint", &long),
        ]);
        match result {
            Err(RecordsError::Csw {
                code,
                locator,
                text,
            }) => {
                assert_eq!((code, locator.as_str()), (INVALID, "constraint"));
                assert!(text.contains("at most 8192"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kvp_get_record_by_id_and_describe_record() {
        let r = kvp(&[
            ("service", "CSW"),
            ("version", "2.0.2"),
            ("request", "GetRecordById"),
            ("id", "a, b"),
            ("outputSchema", "http://www.isotc211.org/2005/gmd"),
        ])
        .unwrap();
        assert_eq!(
            r,
            CswRequest::GetRecordById(GetRecordById {
                ids: vec!["a".into(), "b".into()],
                element_set: ElementSet::Summary,
                output_schema: OutputSchema::Iso,
            })
        );
        let missing = kvp(&[
            ("service", "CSW"),
            ("version", "2.0.2"),
            ("request", "GetRecordById"),
        ]);
        assert_eq!(code_and_locator(missing), (MISSING, "Id".into()));
        let d = kvp(&[
            ("service", "CSW"),
            ("version", "2.0.2"),
            ("request", "DescribeRecord"),
            ("typeName", "csw:Record,gmd:MD_Metadata"),
        ])
        .unwrap();
        assert_eq!(
            d,
            CswRequest::DescribeRecord(vec![TypeName::Record, TypeName::MdMetadata])
        );
    }

    const GET_RECORDS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"
    xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml"
    service="CSW" version="2.0.2" resultType="results" startPosition="1" maxRecords="20"
    outputSchema="http://www.opengis.net/cat/csw/2.0.2">
  <csw:Query typeNames="csw:Record">
    <csw:ElementSetName>brief</csw:ElementSetName>
    <csw:Constraint version="1.1.0">
      <ogc:Filter><ogc:PropertyIsLike wildCard="%" singleChar="_" escapeChar="\">
        <ogc:PropertyName>csw:AnyText</ogc:PropertyName><ogc:Literal>%kesehatan%</ogc:Literal>
      </ogc:PropertyIsLike></ogc:Filter>
    </csw:Constraint>
    <ogc:SortBy><ogc:SortProperty><ogc:PropertyName>dc:title</ogc:PropertyName></ogc:SortProperty></ogc:SortBy>
  </csw:Query>
</csw:GetRecords>"#;

    #[test]
    fn xml_get_records() {
        let g = get_records(request_from_xml(GET_RECORDS.as_bytes()));
        assert_eq!(g.element_set, ElementSet::Brief);
        assert_eq!((g.start_position, g.max_records), (1, 20));
        assert!(matches!(
            g.constraint,
            Some(Filter::Like {
                property: Queryable::AnyText,
                ..
            })
        ));
        let cql = GET_RECORDS.replace(
            "<ogc:Filter>",
            "<csw:CqlText>Title LIKE 'a%'</csw:CqlText><ogc:Nothing>",
        );
        let cql = cql.replace("</ogc:Filter>", "</ogc:Nothing>");
        let g = get_records(request_from_xml(cql.as_bytes()));
        assert!(matches!(
            g.constraint,
            Some(Filter::Like {
                property: Queryable::Title,
                ..
            })
        ));
    }

    #[test]
    fn xml_other_operations() {
        let caps = br#"<csw:GetCapabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:ows="http://www.opengis.net/ows" service="CSW"><ows:AcceptVersions><ows:Version>2.0.2</ows:Version></ows:AcceptVersions></csw:GetCapabilities>"#;
        assert_eq!(request_from_xml(caps).unwrap(), CswRequest::GetCapabilities);
        let by_id = br#"<GetRecordById service="CSW" version="2.0.2"><Id>a</Id><Id>b</Id><ElementSetName>full</ElementSetName></GetRecordById>"#;
        let CswRequest::GetRecordById(r) = request_from_xml(by_id).unwrap() else {
            panic!()
        };
        assert_eq!((r.ids.len(), r.element_set), (2, ElementSet::Full));
        let harvest = br#"<csw:Harvest xmlns:csw="x" service="CSW" version="2.0.2"/>"#;
        assert_eq!(
            code_and_locator(request_from_xml(harvest)),
            (NOT_SUPPORTED, "request".into())
        );
        let no_query = br#"<GetRecords service="CSW" version="2.0.2"/>"#;
        assert_eq!(
            code_and_locator(request_from_xml(no_query)),
            (MISSING, "Query".into())
        );
    }

    #[test]
    fn xml_hostile_bodies_are_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE GetRecords [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<GetRecords service="CSW" version="2.0.2"><Query typeNames="csw:Record">&b;</Query></GetRecords>"#;
        let external =
            r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><GetRecords>&e;</GetRecords>"#;
        for body in [bomb, external] {
            match request_from_xml(body.as_bytes()) {
                Err(RecordsError::Csw { code, text, .. }) => {
                    assert_eq!(code, NO_CODE);
                    assert!(text.contains("DOCTYPE"), "{text}");
                }
                other => panic!("{other:?}"),
            }
        }
        let deep = format!(
            r#"<GetRecords service="CSW" version="2.0.2"><Query><Constraint><Filter>{}{}</Filter></Constraint></Query></GetRecords>"#,
            "<And>".repeat(200),
            "</And>".repeat(200)
        );
        assert_eq!(
            code_and_locator(request_from_xml(deep.as_bytes())).0,
            NO_CODE
        );
        let big = GET_RECORDS.replace("%kesehatan%", &format!("%{}%", "k".repeat(40 * 1024)));
        match request_from_xml(big.as_bytes()) {
            Err(RecordsError::Csw { text, .. }) => assert!(text.contains("at most"), "{text}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(code_and_locator(request_from_xml(b"not xml")).0, NO_CODE);
    }
}
