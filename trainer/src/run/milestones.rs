//! Milestone epochs: one run measured at its 10-, 15-, 20- and 30-epoch points instead of
//! four runs restarted from scratch. At each point training freezes that epoch's selection
//! on validation and keeps the weights; test is measured for every point only after training
//! and the final selection are done, so no test image is loaded while anything is chosen.

use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use super::history;
use super::RunDir;
use crate::data::device::Samples;
use crate::eval::{measure_test, select, EvalReport, Selection, ThresholdRule};
use crate::models::Classifier;
use crate::train::{checkpoint, EpochRecord};

/// The model as it was at the end of `epoch`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Milestone {
    pub epoch: usize,
    pub evaluation: EvalReport,
}

/// A milestone whose selection is frozen and whose weights wait in `weights` for the test.
pub struct Pending {
    pub epoch: usize,
    selection: Selection,
    weights: PathBuf,
}

/// The `on_epoch` step of a run: rewrites history.csv and, at each of `epochs`, freezes the
/// selection on `val` and keeps the epoch's weights (`last.safetensors`, just written by the
/// epoch loop) as `milestone-e<N>.safetensors`.
pub fn recorder<'a>(
    run: &'a RunDir,
    epochs: &'a [usize],
    val: &'a dyn Samples,
    (batch, rule): (usize, ThresholdRule),
    out: &'a mut Vec<Pending>,
) -> impl FnMut(&[EpochRecord], &dyn Classifier) -> Result<()> + 'a {
    move |h: &[EpochRecord], net: &dyn Classifier| {
        history::write(&run.history(), h)?;
        let epoch = h.last().map_or(0, |r| r.epoch);
        if epochs.contains(&epoch) {
            let weights = run.path().join(format!("milestone-e{epoch}.safetensors"));
            std::fs::copy(run.path().join("last.safetensors"), &weights)?;
            out.push(Pending { epoch, selection: select(net, val, batch, rule), weights });
        }
        Ok(())
    }
}

/// Measures every pending milestone on `test` (loading its weights into `vs`, then deleting
/// the file), and leaves `vs` holding `final_weights` again.
pub fn measure_pending(
    pending: Vec<Pending>,
    (net, vs): (&dyn Classifier, &mut VarStore),
    test: &dyn Samples,
    batch: usize,
    final_weights: &std::path::Path,
) -> Result<Vec<Milestone>> {
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        checkpoint::load(vs, &p.weights)?;
        let (evaluation, _) = measure_test(net, &p.selection, test, batch);
        let t = &evaluation.test.at_chosen_threshold;
        eprintln!("milestone epoch {}: test accuracy {:.2}%", p.epoch, 100.0 * t.accuracy);
        out.push(Milestone { epoch: p.epoch, evaluation });
        let _ = std::fs::remove_file(&p.weights);
    }
    if !out.is_empty() {
        checkpoint::load(vs, final_weights)?;
    }
    Ok(out)
}
