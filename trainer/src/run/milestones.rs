//! Milestone epochs: one run measured at its 10-, 15-, 20- and 30-epoch points instead of
//! four runs restarted from scratch. Each point records the full evaluation (threshold chosen
//! on that epoch's validation predictions, test beside it), so a grid chooses its epoch count
//! on validation and reports test without training again.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::history;
use super::RunDir;
use crate::data::device::Samples;
use crate::eval::{measure, EvalReport};
use crate::models::Classifier;
use crate::train::EpochRecord;

/// The model as it was at the end of `epoch`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Milestone {
    pub epoch: usize,
    pub evaluation: EvalReport,
}

/// The `on_epoch` step of a run: rewrites history.csv and, at each of `epochs`, measures
/// the network on `val` and `test` into `out`.
pub fn recorder<'a>(
    run: &'a RunDir,
    epochs: &'a [usize],
    val: &'a dyn Samples,
    test: Option<&'a dyn Samples>,
    batch: usize,
    out: &'a mut Vec<Milestone>,
) -> impl FnMut(&[EpochRecord], &dyn Classifier) -> Result<()> + 'a {
    move |h: &[EpochRecord], net: &dyn Classifier| {
        history::write(&run.history(), h)?;
        let epoch = h.last().map_or(0, |r| r.epoch);
        if let (Some(test), true) = (test, epochs.contains(&epoch)) {
            let (evaluation, _) = measure(net, val, test, batch);
            let t = &evaluation.test.at_chosen_threshold;
            eprintln!("milestone epoch {epoch}: test accuracy {:.2}%", 100.0 * t.accuracy);
            out.push(Milestone { epoch, evaluation });
        }
        Ok(())
    }
}
