//! How closely do int8 blobs follow their float model on the run's validation images (never
//! test)? For a run and one or more blobs of it, prints per blob the share of validation
//! images given the same label at the float model's validation threshold, and the mean
//! |p(int8) − p(float)|. A way to compare quantization settings without touching test data.
//!
//! `cargo run --release -p trainer --example int8_agreement -- runs/<name> <blob>...`

use anyhow::{anyhow, Result};
use infer_core::Model;
use tch::Device;
use trainer::data::SplitData;
use trainer::eval::Selection;
use trainer::quant::evaluate::{label_agreement, run_engine, to_predictions};
use trainer::quant::FloatModel;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let run = args.get(1).ok_or_else(|| anyhow!("usage: int8_agreement <run> <blob>..."))?;
    let float = FloatModel::load(run.as_ref(), Device::Cpu)?;
    let p = SplitData::load(&float.config().split_spec())?;
    let val = &p.split.val;
    let float_val = float.predict(&float.images(&p.data, val, Device::Cpu));
    let threshold = Selection::freeze(float_val.clone(), float.config().threshold_rule).threshold();
    for blob in &args[2..] {
        let bytes = std::fs::read(blob)?;
        let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{blob}: {e}"))?;
        let int8_val = to_predictions(&model, &run_engine(&model, &p.data, val)?, &p.data, val);
        let same = label_agreement(&float_val, threshold, &int8_val, threshold);
        let gap =
            float_val.probs.iter().zip(&int8_val.probs).map(|(a, b)| f64::from((a - b).abs())).sum::<f64>()
                / val.len().max(1) as f64;
        println!(
            "{blob}: validation {} images, float threshold {threshold:.2}: same label {:.2}%, mean |Δp| {gap:.5}",
            val.len(),
            same * 100.0
        );
    }
    Ok(())
}
