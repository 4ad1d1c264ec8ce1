//! `trainer bench`: training throughput of the seed CNN, or of a MobileNetV2 being fine-tuned,
//! in images/s, measured through the
//! same batch slicing and optimizer step as `trainer train`, on synthetic device-resident
//! images so that disk and decoding never enter the figure.

use std::time::Instant;

use anyhow::Result;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::data::device::DeviceImages;
use crate::models::mobilenet_v2::Config;
use crate::models::transfer::{HeadKind, BASE_GROUP};
use crate::models::{Classifier, SeedCnn, TransferModel};
use crate::train::fit::train_step;
use crate::train::loss::TrainLoss;
use crate::train::optimizer::{Optimizer, OptimizerKind};

/// The network whose training step is timed.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub enum BenchModel {
    SeedCnn,
    /// MobileNetV2 of this width (random weights: speed does not depend on them) fine-tuning
    /// its top `trainable_blocks` features, base at a tenth of the head's learning rate.
    MobileNetV2 {
        width: f64,
        trainable_blocks: usize,
    },
}

impl BenchModel {
    fn build(self, vs: &VarStore, image_size: i64) -> Box<dyn Classifier> {
        match self {
            BenchModel::SeedCnn => Box::new(SeedCnn::new(&vs.root(), image_size, 1)),
            BenchModel::MobileNetV2 { width, trainable_blocks } => {
                let mut m = TransferModel::new(
                    &vs.root(),
                    Config::shipped_base(width),
                    HeadKind::Gap,
                    0.2,
                    image_size,
                    1,
                );
                m.base.set_trainable_blocks(trainable_blocks);
                Box::new(m)
            }
        }
    }
}

/// One measured configuration.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    pub model: BenchModel,
    pub device: String,
    pub image_size: i64,
    pub batch_size: i64,
    pub steps: usize,
    pub images_per_second: f64,
}

/// Runs `warmup` untimed steps, then `steps` timed ones, for each batch size.
pub fn bench(
    model: BenchModel,
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
        let net = model.build(&vs, image_size);
        let mut opt = Optimizer::new(OptimizerKind::Adam, &vs, 1e-4, 0.0)?;
        if let BenchModel::MobileNetV2 { .. } = model {
            opt.set_lr_group(BASE_GROUP, 1e-5);
        }
        let mut run = |n: usize| {
            let mut last = Tensor::zeros([], (Kind::Float, device));
            for _ in 0..n {
                let idx = Tensor::randint(pool, [b], (Kind::Int64, device));
                let (x, y) = images.batch(&idx);
                last = train_step(net.as_ref(), &mut opt, &x, |l| TrainLoss::default().loss(l, &y)).0;
            }
            // Reading the loss waits for the device to finish the queued work.
            last.double_value(&[])
        };
        run(warmup);
        let t = Instant::now();
        run(steps);
        let secs = t.elapsed().as_secs_f64();
        let r = BenchResult {
            model,
            device: format!("{device:?}"),
            image_size,
            batch_size: b,
            steps,
            images_per_second: (steps as i64 * b) as f64 / secs,
        };
        println!(
            "{:?} training, {} px, batch {:>3}, {:?}: {:>9.1} images/s ({} steps in {:.2} s)",
            model, image_size, b, device, r.images_per_second, steps, secs
        );
        out.push(r);
    }
    Ok(out)
}
