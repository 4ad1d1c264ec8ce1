//! `trainer bench`: training throughput of the seed CNN in images/s, measured through the
//! same batch slicing and optimizer step as `trainer train`, on synthetic device-resident
//! images so that disk and decoding never enter the figure.

use std::time::Instant;

use anyhow::Result;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::data::device::DeviceImages;
use crate::models::SeedCnn;
use crate::train::fit::train_step;
use crate::train::optimizer::{Optimizer, OptimizerKind};

/// One measured configuration.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    pub device: String,
    pub image_size: i64,
    pub batch_size: i64,
    pub steps: usize,
    pub images_per_second: f64,
}

/// Runs `warmup` untimed steps, then `steps` timed ones, for each batch size.
pub fn bench(
    device: Device,
    image_size: i64,
    batches: &[i64],
    steps: usize,
    warmup: usize,
) -> Result<Vec<BenchResult>> {
    tch::manual_seed(0);
    let pool = 512.max(batches.iter().copied().max().unwrap_or(1) * 2);
    let images = DeviceImages {
        pixels: Tensor::randint(256, [pool, 1, image_size, image_size], (Kind::Uint8, device)),
        labels: Tensor::randint(2, [pool], (Kind::Float, device)),
        len: pool as usize,
    };
    let mut out = Vec::new();
    for &b in batches {
        anyhow::ensure!(b > 0, "batch size must be positive");
        let vs = VarStore::new(device);
        let net = SeedCnn::new(&vs.root(), image_size, 1);
        let mut opt = Optimizer::new(OptimizerKind::Adam, &vs, 1e-4, 0.0)?;
        let mut run = |n: usize| {
            let mut last = Tensor::zeros([], (Kind::Float, device));
            for _ in 0..n {
                let idx = Tensor::randint(pool, [b], (Kind::Int64, device));
                let (x, y) = images.batch(&idx);
                last = train_step(&net, &mut opt, &x, &y).0;
            }
            // Reading the loss waits for the device to finish the queued work.
            last.double_value(&[])
        };
        run(warmup);
        let t = Instant::now();
        run(steps);
        let secs = t.elapsed().as_secs_f64();
        let r = BenchResult {
            device: format!("{device:?}"),
            image_size,
            batch_size: b,
            steps,
            images_per_second: (steps as i64 * b) as f64 / secs,
        };
        println!(
            "seed CNN training, {} px, batch {:>3}, {:?}: {:>9.1} images/s ({} steps in {:.2} s)",
            image_size, b, device, r.images_per_second, steps, secs
        );
        out.push(r);
    }
    Ok(out)
}
