//! Makes a JSON body mean what its JSON Schema (the OpenAPI document) says it means.
//!
//! serde's defaults differ from JSON Schema in two ways that a client cannot guess:
//! - An integral number written with a fraction or an exponent (`100001.0`, `1e3`) is an integer to
//!   JSON Schema, but serde refuses it for integer fields. Here it is accepted when its value is whole;
//!   a fraction (`1.5`) is still refused, naming the field.
//! - serde's derived structs also accept a JSON array and fill the fields by position, so
//!   `{"templates": ["a", "b"]}` would set the first two templates. An object is required here.
//!
//! [`Shape`] wraps any serde `Deserializer` (the request body's, under `serde_path_to_error`, which
//! keeps naming the field) and rewrites only those two cases; every other call passes through.
//! Fields of free-form types (`serde_json::Value` metadata) are untouched: they never ask for an
//! integer or a struct.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

/// The deserializer adapter; see the module comment.
pub struct Shape<D>(pub D);

/// What the type being deserialised asked for, which decides what the visitor accepts.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    Other,
    Integer,
    Object,
}

struct Wrap<V> {
    inner: V,
    want: Want,
}

fn wrap<V>(inner: V, want: Want) -> Wrap<V> {
    Wrap { inner, want }
}

macro_rules! forward_plain {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(wrap(visitor, Want::Other))
        }
    )*};
}

macro_rules! forward_integer {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(wrap(visitor, Want::Integer))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Shape<D> {
    type Error = D::Error;

    forward_plain!(
        deserialize_any,
        deserialize_bool,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    forward_integer!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_unit_struct(name, wrap(visitor, Want::Other))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_newtype_struct(name, wrap(visitor, Want::Other))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, wrap(visitor, Want::Other))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_tuple_struct(name, len, wrap(visitor, Want::Other))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, wrap(visitor, Want::Object))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_enum(name, variants, wrap(visitor, Want::Other))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! visit_forward {
    ($($method:ident: $ty:ty),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit_forward!(
        visit_bool: bool,
        visit_i8: i8,
        visit_i16: i16,
        visit_i32: i32,
        visit_i64: i64,
        visit_i128: i128,
        visit_u8: u8,
        visit_u16: u16,
        visit_u32: u32,
        visit_u64: u64,
        visit_u128: u128,
        visit_f32: f32,
        visit_char: char,
        visit_str: &str,
        visit_string: String,
        visit_bytes: &[u8],
        visit_byte_buf: Vec<u8>,
    );

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if self.want != Want::Integer {
            return self.inner.visit_f64(v);
        }
        // 2^63 and 2^64 are exact in f64; a whole number below them fits the integer type.
        const I64_MIN: f64 = -9_223_372_036_854_775_808.0;
        const U64_END: f64 = 18_446_744_073_709_551_616.0;
        if v.fract() != 0.0 || !v.is_finite() {
            Err(E::invalid_value(Unexpected::Float(v), &"an integer"))
        } else if (0.0..U64_END).contains(&v) {
            self.inner.visit_u64(v as u64)
        } else if (I64_MIN..0.0).contains(&v) {
            self.inner.visit_i64(v as i64)
        } else {
            Err(E::invalid_value(
                Unexpected::Float(v),
                &"an integer in range",
            ))
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        self.inner.visit_borrowed_str(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        self.inner.visit_borrowed_bytes(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
        self.inner.visit_some(Shape(d))
    }

    fn visit_newtype_struct<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
        self.inner.visit_newtype_struct(Shape(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.want == Want::Object {
            return Err(de::Error::invalid_type(Unexpected::Seq, &"a JSON object"));
        }
        self.inner.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Map(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Enum(data))
    }
}

/// Passes the adapter on to whatever the seed deserialises.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Shape(d))
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Map<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Enum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, wrap(visitor, Want::Other))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, wrap(visitor, Want::Object))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::web::extract::parse_json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        count: Option<u32>,
        offset: Option<i64>,
        inner: Option<Inner>,
        items: Option<Vec<Inner>>,
        ratio: Option<f64>,
        extra: Option<serde_json::Value>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: Option<String>,
        b: Option<String>,
    }

    #[test]
    fn whole_numbers_with_a_fraction_are_integers() {
        let b: Body = parse_json(br#"{"count": 100001.0, "offset": -3e2}"#).unwrap();
        assert_eq!(b.count, Some(100001));
        assert_eq!(b.offset, Some(-300));
        let b: Body = parse_json(br#"{"count": 7}"#).unwrap();
        assert_eq!(b.count, Some(7));
    }

    #[test]
    fn fractions_and_out_of_range_numbers_name_the_field() {
        let e = parse_json::<Body>(br#"{"count": 1.5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("count"));
        assert!(e.message.contains("integer"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"count": -1.0}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("count"));
        let e = parse_json::<Body>(br#"{"count": 5000000000.0}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("count"));
        let e = parse_json::<Body>(br#"{"offset": 1e300}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("offset"));
    }

    #[test]
    fn floats_and_free_form_values_are_kept_as_sent() {
        let b: Body = parse_json(br#"{"ratio": 2.0, "extra": {"n": 1.0, "l": [1, 2]}}"#).unwrap();
        assert_eq!(b.ratio, Some(2.0));
        let extra = b.extra.unwrap();
        assert!(extra["n"].is_f64(), "{extra}");
        assert_eq!(extra["l"], serde_json::json!([1, 2]));
    }

    #[test]
    fn arrays_are_refused_where_an_object_is_expected() {
        let e = parse_json::<Body>(br#"{"inner": ["x", "y"]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner"));
        assert!(e.message.contains("object"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"items": [{"a": "x"}, ["y"]]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[1]"));
        let e = parse_json::<Body>(br#"[1, 2]"#).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        // Arrays where arrays belong are fine.
        let b: Body = parse_json(br#"{"items": [{"a": "x"}], "inner": {"b": "y"}}"#).unwrap();
        assert_eq!(b.items.unwrap()[0].a.as_deref(), Some("x"));
        assert_eq!(b.inner.unwrap().b.as_deref(), Some("y"));
    }
}
