//! Serde helpers that keep model floats bit-exact through JSON. serde_json's default float
//! parser (without its `float_roundtrip` feature) can be off by one ulp, which would move a
//! split threshold or leaf value after a save/load. So thresholds, leaf values and covers are
//! written as strings holding Rust's shortest round-trip decimal (`"0.30000000000000004"`,
//! `"inf"`), which `str::parse::<f64>` reads back exactly. Plain JSON numbers are accepted on
//! input too (hand-written models). (Enabling serde_json's `float_roundtrip` feature would make
//! plain numbers exact as well; this module keeps models exact without it.)

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

fn to_text(v: f64) -> String {
    format!("{v:?}")
}

struct F64Visitor;

impl<'de> Visitor<'de> for F64Visitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a float as a number or a decimal string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        v.parse::<f64>()
            .map_err(|_| E::custom(format!("`{v}` is not a number")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
}

/// `#[serde(with = "exact_float")]` for an `f64` field.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_text(*v))
}

/// `#[serde(with = "exact_float")]` for an `f64` field.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(F64Visitor)
}

/// `#[serde(with = "exact_float::option")]` for an `Option<f64>` field (`null` = `None`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.serialize_some(&to_text(*x)),
            None => s.serialize_none(),
        }
    }

    struct OptVisitor;

    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("null or a float")
        }

        fn visit_none<E: de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
            d.deserialize_any(F64Visitor).map(Some)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_option(OptVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Holder {
        #[serde(with = "super")]
        x: f64,
        #[serde(with = "super::option")]
        o: Option<f64>,
    }

    #[test]
    fn awkward_floats_survive_json_bit_for_bit() {
        // 17-significant-digit values are where serde_json's default parser can miss by an ulp.
        let awkward = [
            0.1 + 0.2,
            1.0 / 3.0,
            -2.2250738585072014e-308,
            123456.78901234567,
            0.6601776968087152,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
        ];
        for &x in &awkward {
            for o in [Some(x), None] {
                let h = Holder { x, o };
                let text = serde_json::to_string(&h).expect("serialize");
                let back: Holder = serde_json::from_str(&text).expect("deserialize");
                assert_eq!(back.x.to_bits(), x.to_bits(), "{text}");
                assert_eq!(back, h);
            }
        }
        let plain: Holder = serde_json::from_str(r#"{"x": 2.5, "o": 1}"#).expect("numbers");
        assert_eq!(
            plain,
            Holder {
                x: 2.5,
                o: Some(1.0)
            }
        );
    }
}
