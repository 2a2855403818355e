//! The source attributes of zoning features, held compactly.
//!
//! A plan's rows repeat the same keys in the same order and mostly the same values (kelurahan,
//! zone names, "Tidak Ada"): the 28 attributes of a demo zone take about 740 bytes as JSON text,
//! but only a few values are its own. Each batch of rows read together shares one table of keys,
//! key orders and values (each kept once, already serialised); a feature keeps its key order's
//! number and its values' numbers, about 120 bytes, and writes its JSON object back on demand, in
//! the order the database gave it. (A general-purpose compressor would need decompressing per
//! lookup; interning is simpler and faster, and written here.)

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Keys, key orders and values shared by the features of one batch.
#[derive(Debug, Default)]
pub struct AttributeTable {
    /// Each key serialised with its colon: `"KODBLK":`.
    keys: Vec<Box<str>>,
    /// Each key order: key numbers.
    orders: Vec<Box<[u32]>>,
    /// Each value as JSON text.
    values: Vec<Box<str>>,
}

/// One feature's attributes: a key order of its table and a value for each key.
#[derive(Debug)]
pub struct Attributes {
    table: Arc<AttributeTable>,
    order: u32,
    values: Box<[u32]>,
}

/// Builds a table while rows are read; [`TableBuilder::finish`] freezes it.
#[derive(Default)]
pub struct TableBuilder {
    table: AttributeTable,
    key_ids: HashMap<Box<str>, u32>,
    order_ids: HashMap<Box<[u32]>, u32>,
    value_ids: HashMap<Box<str>, u32>,
}

/// Attributes read but not yet tied to a frozen table.
pub struct Pending {
    order: u32,
    values: Box<[u32]>,
}

/// A JSON object read as its entries, in order, each value kept as text.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

impl TableBuilder {
    /// Reads a JSON object's text into the table; `None` when it is not a JSON object.
    pub fn add(&mut self, json: &str) -> Option<Pending> {
        let Entries(entries) = serde_json::from_str(json).ok()?;
        let mut keys = Vec::with_capacity(entries.len());
        let mut values = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let serialised = format!("{}:", serde_json::to_string(&key).ok()?);
            keys.push(intern(
                &mut self.key_ids,
                &mut self.table.keys,
                serialised.into_boxed_str(),
            ));
            values.push(intern(
                &mut self.value_ids,
                &mut self.table.values,
                Box::<str>::from(value.get()),
            ));
        }
        let order = match self.order_ids.get(keys.as_slice()) {
            Some(id) => *id,
            None => {
                let id = self.table.orders.len() as u32;
                let keys: Box<[u32]> = keys.into_boxed_slice();
                self.table.orders.push(keys.clone());
                self.order_ids.insert(keys, id);
                id
            }
        };
        Some(Pending {
            order,
            values: values.into_boxed_slice(),
        })
    }

    /// The frozen table, to share with the batch's attributes.
    pub fn finish(self) -> Arc<AttributeTable> {
        Arc::new(self.table)
    }
}

fn intern(ids: &mut HashMap<Box<str>, u32>, list: &mut Vec<Box<str>>, text: Box<str>) -> u32 {
    if let Some(id) = ids.get(&text) {
        return *id;
    }
    let id = list.len() as u32;
    list.push(text.clone());
    ids.insert(text, id);
    id
}

impl Pending {
    /// The attributes, tied to their frozen table.
    pub fn with(self, table: &Arc<AttributeTable>) -> Attributes {
        Attributes {
            table: table.clone(),
            order: self.order,
            values: self.values,
        }
    }
}

impl Attributes {
    /// Writes the JSON object, as the database gave it (without insignificant spaces).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let keys = &self.table.orders[self.order as usize];
        out.push(b'{');
        for (i, (key, value)) in keys.iter().zip(self.values.iter()).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.table.keys[*key as usize].as_bytes());
            out.extend_from_slice(self.table.values[*value as usize].as_bytes());
        }
        out.push(b'}');
    }

    /// The JSON object as text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(64 * self.values.len());
        self.write_json(&mut out);
        // Keys and values were read as JSON text: the bytes are UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }
}

impl serde::Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.to_json()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_come_back_as_they_were_in_their_order() {
        let mut builder = TableBuilder::default();
        let rows = [
            r#"{"NAMOBJ": "Perumahan", "LUASHA": 0.0044, "KODBLK": "TM.24-064", "KODSZNTEXT": "R-3", "X": null, "Y": {"a": [1, 2]}}"#,
            r#"{"NAMOBJ": "Perumahan", "LUASHA": 0.5, "KODBLK": "TM.24-065", "KODSZNTEXT": "R-3", "X": null, "Y": {"a": [1, 2]}}"#,
            r#"{"KODSZNTEXT": "K-1", "NAMA \"kutip\"": "é"}"#,
        ];
        let pending: Vec<Pending> = rows.iter().map(|r| builder.add(r).unwrap()).collect();
        let table = builder.finish();
        assert_eq!(table.orders.len(), 2, "two key orders");
        assert_eq!(
            table
                .values
                .iter()
                .filter(|v| &***v == "\"Perumahan\"")
                .count(),
            1,
            "a value is kept once"
        );
        for (row, pending) in rows.iter().zip(pending) {
            let attributes = pending.with(&table);
            let back: serde_json::Value = serde_json::from_str(&attributes.to_json()).unwrap();
            let original: serde_json::Value = serde_json::from_str(row).unwrap();
            assert_eq!(back, original);
            let first_key = attributes.to_json()[2..]
                .split('"')
                .next()
                .unwrap()
                .to_string();
            assert_eq!(first_key, row[2..].split('"').next().unwrap(), "order kept");
        }
        assert!(builder_rejects_non_objects());
    }

    fn builder_rejects_non_objects() -> bool {
        let mut builder = TableBuilder::default();
        builder.add("[1, 2]").is_none() && builder.add("not json").is_none()
    }
}
