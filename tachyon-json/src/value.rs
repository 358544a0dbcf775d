//! A plain Rust tree for JSON documents, built by the reader's [`ValueSink`].

use std::vec::Drain;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::error::{Error, ReadError};
use crate::read::{Entries, Sink, parse};

/// A parsed JSON value, keeping everything Python's `json.loads` keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer within `i64`.
    Int(i64),
    /// An integer beyond `i64`, as its decimal text.
    BigInt(String),
    /// A float (also `NaN` and the infinities).
    Float(f64),
    /// A string (lone surrogates replaced by U+FFFD).
    Str(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's entries in input order, duplicate keys included.
    Object(Vec<(String, Value)>),
}

/// The [`Sink`] that builds [`Value`]s.
#[derive(Debug, Default, Clone, Copy)]
pub struct ValueSink;

impl Sink for ValueSink {
    type Value = Value;
    type Error = core::convert::Infallible;

    fn null(&mut self) -> Result<Value, Self::Error> {
        Ok(Value::Null)
    }
    fn bool(&mut self, v: bool) -> Result<Value, Self::Error> {
        Ok(Value::Bool(v))
    }
    fn int(&mut self, v: i64) -> Result<Value, Self::Error> {
        Ok(Value::Int(v))
    }
    fn big_int(&mut self, text: &str) -> Result<Value, Self::Error> {
        Ok(Value::BigInt(text.to_owned()))
    }
    fn float(&mut self, _text: &str, v: f64) -> Result<Value, Self::Error> {
        Ok(Value::Float(v))
    }
    fn str(&mut self, s: &str, _ascii: bool) -> Result<Value, Self::Error> {
        Ok(Value::Str(s.to_owned()))
    }
    fn array(&mut self, items: Drain<'_, Value>) -> Result<Value, Self::Error> {
        Ok(Value::Array(items.collect()))
    }
    fn object(&mut self, entries: Entries<'_, Value>) -> Result<Value, Self::Error> {
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Value::Str(k) = k else {
                unreachable!("keys are built by Sink::str")
            };
            out.push((k, v));
        }
        Ok(Value::Object(out))
    }
}

/// Parses `input` into a [`Value`].
pub fn from_slice(input: &[u8]) -> Result<Value, Error> {
    parse(input, &mut ValueSink).map_err(|e| match e {
        ReadError::Syntax(e) => e,
        ReadError::Sink(never) => match never {},
    })
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::BigInt(t) => match t.parse::<i128>() {
                Ok(v) => s.serialize_i128(v),
                Err(_) => Err(serde::ser::Error::custom("integer beyond 128 bits")),
            },
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}
