//! Empirical bias correction of the final layer. Per-tensor rounding errors upstream are
//! small but not zero-mean, and a 1,280-input dense layer adds them up into a systematic
//! logit shift (MobileNetV2-0.35: about +1.6 logits, enough to move the best threshold).
//! The shift measured on the calibration (training) images is removed from the last bias.

use anyhow::{anyhow, Result};
use infer_core::Model;
use tch::Device;

use super::evaluate::run_engine;
use super::float_exec::TchGraph;
use super::quantize::QuantModel;
use crate::data::device::DeviceImages;
use crate::data::SplitData;

/// Measures the mean int8 − float output of `qm` on the `calibration` images (`tg` runs the
/// float graph), subtracts it from the last layer's float bias and re-quantizes that layer.
/// Returns the shift removed.
pub fn correct_bias(
    qm: &mut QuantModel,
    tg: &TchGraph<'_>,
    p: &SplitData,
    calibration: &[usize],
) -> Result<Vec<f32>> {
    let float: Vec<Vec<f32>> = calibration
        .chunks(32)
        .flat_map(|c| {
            let px = DeviceImages::new(&p.data, c, Device::Cpu).pixels;
            let out = tg.run(&tg.input_from_pixels(&px), |_, _| ()).flatten(1, -1);
            Vec::<Vec<f32>>::try_from(out).unwrap_or_default()
        })
        .collect();
    let blob = qm.blob()?;
    let model = Model::from_bytes(&blob).map_err(|e| anyhow!("{e}"))?;
    let int8 = run_engine(&model, &p.data, calibration)?;
    let shift = mean_error(&model, &int8, &float);
    eprintln!("bias correction: mean int8 - float logit on the calibration images {shift:?}, removed");
    qm.correct_last_bias(&shift)?;
    Ok(shift)
}

/// Mean of (dequantized int8 − float) per output over a set of images.
fn mean_error(model: &Model<'_>, int8: &[Vec<i8>], float: &[Vec<f32>]) -> Vec<f32> {
    let q = model.output_spec().quant;
    let outputs = float.first().map_or(0, Vec::len);
    (0..outputs)
        .map(|j| {
            let sum: f64 =
                int8.iter().zip(float).map(|(i, f)| f64::from(q.dequantize(i[j])) - f64::from(f[j])).sum();
            (sum / int8.len().max(1) as f64) as f32
        })
        .collect()
}
