//! The verdict of one image and the line the firmware prints for it, e.g.
//! `person1_virus_6 PNEUMONIA p=0.9731 q=[31] instr=61234560`. The raw int8 outputs (`q`) are
//! in the line so the host can compare the device with infer-core byte for byte; the host
//! builds the same line with this code (without `instr`) and compares the text too.

use core::fmt::Write;

use infer_core::Output;

/// Most int8 outputs a verdict keeps (the seed CNN has one).
pub const MAX_OUTPUTS: usize = 4;

/// A printed line: the name, class, probability, outputs and instruction count fit easily.
pub type Line = heapless::String<160>;

/// How a model's output is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Head {
    /// One sigmoid unit, p(pneumonia); the class is `p >= threshold` (the model card's).
    Sigmoid {
        /// The decision threshold.
        threshold: f32,
    },
    /// One output per class, already probabilities (a softmax, e.g. an imported ImageNet
    /// model); the class is the most probable.
    Classes,
}

/// The class a verdict names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The sigmoid head's answer: pneumonia or normal.
    Pneumonia(bool),
    /// The most probable class of a multi-class head.
    Index(usize),
}

/// What the firmware concludes from one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The raw int8 outputs (a multi-class head: the top class's only).
    pub q: heapless::Vec<i8, MAX_OUTPUTS>,
    /// p(pneumonia), or the top class's probability.
    pub probability: f32,
    /// The answer.
    pub class: Class,
}

impl Verdict {
    /// The verdict of a run's output read as `head`; `None` for an empty output, or a sigmoid
    /// head with more than [`MAX_OUTPUTS`] values.
    pub fn of(output: &Output<'_>, head: &Head) -> Option<Verdict> {
        match *head {
            Head::Sigmoid { threshold } => {
                let q = output.values().collect::<heapless::Vec<i8, MAX_OUTPUTS>>();
                if q.len() != output.len() {
                    return None;
                }
                let probability = output.probability()?;
                Some(Verdict { q, probability, class: Class::Pneumonia(probability >= threshold) })
            }
            Head::Classes => {
                let top = output.argmax()?;
                let q = heapless::Vec::from_slice(&[output.get(top)?]).ok()?;
                Some(Verdict { q, probability: output.dequantize(top)?, class: Class::Index(top) })
            }
        }
    }

    /// The class as printed: `PNEUMONIA`, `NORMAL`, or `#<index>`.
    pub fn class(&self) -> heapless::String<12> {
        let mut s = heapless::String::new();
        let _ = match self.class {
            Class::Pneumonia(true) => s.push_str("PNEUMONIA"),
            Class::Pneumonia(false) => s.push_str("NORMAL"),
            Class::Index(i) => write!(s, "#{i}").map_err(|_| ()),
        };
        s
    }

    /// The probability with four decimals, computed in integers so device and host print the
    /// same digits (`core`'s float formatting would do, but costs flash).
    pub fn probability_text(&self) -> heapless::String<8> {
        let e4 = (self.probability.clamp(0.0, 1.0) * 10_000.0 + 0.5) as u32;
        let mut s = heapless::String::new();
        // 6 characters at most ("1.0000"): cannot overflow 8.
        let _ = write!(s, "{}.{:04}", e4 / 10_000, e4 % 10_000);
        s
    }

    /// `name CLASS p=0.xxxx q=[a,b]`, then ` instr=N` when a count is given. A name too long
    /// for the line is cut.
    pub fn line(&self, name: &str, instructions: Option<u64>) -> Line {
        let mut line = Line::new();
        let name = name.get(..100).unwrap_or(name);
        // Fits: 100 + 1 + 9 + 3 + 6 + 4 + 4 · 5 + 1 + 7 + 20 < 160.
        let _ = write!(line, "{name} {} p={} q=[", self.class(), self.probability_text());
        for (i, q) in self.q.iter().enumerate() {
            let _ = write!(line, "{}{q}", if i == 0 { "" } else { "," });
        }
        let _ = line.push(']');
        if let Some(n) = instructions {
            let _ = write!(line, " instr={n}");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FirmwareModel, BLOB, HEAD, INPUT_LEN};

    #[test]
    fn line_of_a_real_run() {
        let model = FirmwareModel::from_bytes(BLOB).unwrap();
        let mut arena = vec![0u8; model.arena_len()];
        let out = model.run_u8(&[128u8; INPUT_LEN], &mut arena).unwrap();
        let v = Verdict::of(&out, &HEAD).unwrap();
        let line = v.line("flat", Some(1234));
        assert!(line.starts_with(&format!("flat {} p=0.", v.class())), "{line}");
        assert!(line.ends_with(&format!("q=[{}] instr=1234", out.get(0).unwrap())), "{line}");
    }

    #[test]
    fn probability_text_rounds_and_clamps() {
        let v = |p: f32| Verdict { q: heapless::Vec::new(), probability: p, class: Class::Pneumonia(p >= 0.5) };
        assert_eq!(v(0.97314).probability_text(), "0.9731");
        assert_eq!(v(0.99996).probability_text(), "1.0000");
        assert_eq!(v(-1.0).probability_text(), "0.0000");
        assert_eq!(v(0.5).class(), "PNEUMONIA");
        assert_eq!(v(0.49).class(), "NORMAL");
        assert_eq!(v(0.25).line("x", None), "x NORMAL p=0.2500 q=[]");
    }
}
