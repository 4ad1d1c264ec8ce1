//! `trainer bench-int8`: single-thread inference throughput of a blob in infer-core beside
//! the float model in tch on the same CPU (batch 1, one thread each), plus blob and arena
//! bytes. Synthetic pixels: decoding never enters the figures.

use std::time::Instant;

use anyhow::{anyhow, Result};
use infer_core::Model;
use tch::{Device, Kind, Tensor};

use super::float_model::FloatModel;
use super::reference;

#[derive(Clone, Debug, serde::Serialize)]
pub struct InferenceBench {
    pub blob_bytes: usize,
    pub arena_bytes: usize,
    pub macs: u64,
    pub int8_images_per_second: f64,
    /// The trainer's integer reference (plain loops; a correctness tool, not an engine).
    pub reference_images_per_second: f64,
    pub float_images_per_second: Option<f64>,
}

/// Times `images` single-image runs of each (after one warm-up run).
pub fn bench_int8(blob: &[u8], float: Option<&FloatModel>, images: usize) -> Result<InferenceBench> {
    let model = Model::from_bytes(blob).map_err(|e| anyhow!("{e}"))?;
    let shape = model.input_shape();
    let len = shape.len();
    let inputs: Vec<Vec<i8>> = (0..images.max(1))
        .map(|k| (0..len).map(|i| ((i * 31 + k * 17) % 256) as u8 as i8).collect())
        .collect();
    let mut arena = vec![0u8; model.arena_len()];
    model.run(&inputs[0], &mut arena).map_err(|e| anyhow!("{e}"))?;
    let t = Instant::now();
    for x in &inputs {
        model.run(x, &mut arena).map_err(|e| anyhow!("{e}"))?;
    }
    let int8 = inputs.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for x in inputs.iter().take(10) {
        reference::run(&model, x).map_err(|e| anyhow!("{e}"))?;
    }
    let reference_ips = inputs.len().min(10) as f64 / t.elapsed().as_secs_f64();

    let float_ips = float.map(|f| {
        let threads = tch::get_num_threads();
        tch::set_num_threads(1);
        let (h, w) = (i64::from(shape.h), i64::from(shape.w));
        let px: Vec<Tensor> = inputs
            .iter()
            .map(|x| {
                let bytes: Vec<u8> = x.iter().map(|&q| (q as u8) ^ 0x80).collect();
                Tensor::from_slice(&bytes).view([1, 1, h, w]).to_device(Device::Cpu)
            })
            .collect();
        let _ = f.logits(&px[0]);
        let t = Instant::now();
        for p in &px {
            let _ = f.logits(p).to_kind(Kind::Float).double_value(&[0]);
        }
        let ips = px.len() as f64 / t.elapsed().as_secs_f64();
        tch::set_num_threads(threads);
        ips
    });
    Ok(InferenceBench {
        blob_bytes: blob.len(),
        arena_bytes: model.arena_len(),
        macs: model.macs(),
        int8_images_per_second: int8,
        reference_images_per_second: reference_ips,
        float_images_per_second: float_ips,
    })
}

impl InferenceBench {
    /// The figures, one line each, as `trainer bench-int8` prints them.
    pub fn print(&self, name: &str) {
        println!(
            "{name}: blob {} bytes, arena {} bytes, {:.1} M MAC/image",
            self.blob_bytes,
            self.arena_bytes,
            self.macs as f64 / 1e6
        );
        println!("infer-core int8, 1 thread: {:.1} images/s", self.int8_images_per_second);
        println!("integer reference, 1 thread: {:.1} images/s", self.reference_images_per_second);
        match self.float_images_per_second {
            Some(f) => println!("tch float32, 1 thread, batch 1: {f:.1} images/s"),
            None => println!("tch float32: skipped (no run folder; pass --run runs/<name>)"),
        }
    }
}
