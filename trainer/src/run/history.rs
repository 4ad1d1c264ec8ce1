//! history.csv: one line per epoch, rewritten atomically after every epoch.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{ensure, Context, Result};

use crate::train::EpochRecord;
use crate::util::fs::write_atomic;

pub const HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,train_images_per_second";

pub fn to_csv(history: &[EpochRecord]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for r in history {
        let _ = writeln!(
            s,
            "{},{:.6},{:.6},{:.6},{:.6},{:.3},{:.1}",
            r.epoch,
            r.train_loss,
            r.train_accuracy,
            r.val_loss,
            r.val_accuracy,
            r.seconds,
            r.train_images_per_second
        );
    }
    s
}

pub fn write(path: &Path, history: &[EpochRecord]) -> Result<()> {
    write_atomic(path, to_csv(history).as_bytes())
}

/// Reads a history.csv written by `write`.
pub fn read(path: &Path) -> Result<Vec<EpochRecord>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    from_csv(&text).with_context(|| format!("{} is not a history file", path.display()))
}

fn from_csv(text: &str) -> Result<Vec<EpochRecord>> {
    let mut lines = text.lines();
    ensure!(lines.next() == Some(HEADER), "unexpected header");
    lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            ensure!(f.len() == 7, "line {} has {} fields, expected 7", i + 2, f.len());
            let num = |k: usize| {
                f[k].parse::<f64>().with_context(|| format!("line {}: bad number {:?}", i + 2, f[k]))
            };
            Ok(EpochRecord {
                epoch: f[0].parse().with_context(|| format!("line {}: bad epoch {:?}", i + 2, f[0]))?,
                train_loss: num(1)?,
                train_accuracy: num(2)?,
                val_loss: num(3)?,
                val_accuracy: num(4)?,
                seconds: num(5)?,
                train_images_per_second: num(6)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_epoch_under_the_header() {
        let r = EpochRecord {
            epoch: 1,
            train_loss: 0.5,
            train_accuracy: 0.75,
            val_loss: 0.25,
            val_accuracy: 0.875,
            seconds: 1.5,
            train_images_per_second: 20.0,
        };
        let csv = to_csv(&[r.clone(), EpochRecord { epoch: 2, ..r.clone() }]);
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[1], "1,0.500000,0.750000,0.250000,0.875000,1.500,20.0");
        let back = from_csv(&csv).unwrap();
        assert_eq!((back.len(), back[1].epoch, back[0].val_accuracy), (2, 2, r.val_accuracy));
        assert!(from_csv("epoch,loss\n1,2\n").is_err());
        assert!(from_csv(&format!("{HEADER}\n1,x,0,0,0,0,0\n")).is_err());
    }
}
