//! history.csv: one line per epoch, rewritten atomically after every epoch.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::data::cache::write_atomic;
use crate::train::EpochRecord;

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
        let csv = to_csv(&[r.clone(), EpochRecord { epoch: 2, ..r }]);
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[1], "1,0.500000,0.750000,0.250000,0.875000,1.500,20.0");
    }
}
