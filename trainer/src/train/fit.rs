//! The training loop: shuffled mini-batches sliced from the device-resident images, one
//! optimizer step each, validation after every epoch, early stopping, and checkpoints.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

use super::augment::Augment;
use super::checkpoint;
use super::config::TrainConfig;
use super::early_stopping::EarlyStopping;
use super::loss::{self, TrainLoss};
use super::lr_schedule::LrSchedule;
use super::mixup;
use super::optimizer::Optimizer;
use crate::data::device::Samples;
use crate::models::Classifier;
use crate::util::progress;

/// One line of history.csv.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub seconds: f64,
    pub train_images_per_second: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitOutcome {
    pub history: Vec<EpochRecord>,
    /// Epoch with the lowest validation loss.
    pub best_epoch: Option<usize>,
    pub stopped_early: bool,
    /// The returned weights are those of `best_epoch` (early stopping on), else of the last epoch.
    pub restored_best: bool,
    pub seconds: f64,
}

/// A network's validation loss and accuracy at 0.5 after an epoch. The caller measures it
/// (measuring is evaluation's job, a layer above training).
#[derive(Clone, Copy, Debug)]
pub struct ValScore {
    pub loss: f64,
    pub accuracy: f64,
}

/// One optimizer step on a batch `x` whose loss `objective` gives from the logits; returns
/// the mean loss and the logits `[N, outputs]`.
pub fn train_step(
    net: &dyn Classifier,
    opt: &mut Optimizer,
    x: &Tensor,
    objective: impl Fn(&Tensor) -> Tensor,
) -> (Tensor, Tensor) {
    let logits = net.forward_t(x, true);
    let loss = objective(&logits);
    opt.backward_step(&loss);
    (loss, logits)
}

/// One pass over `train` in shuffled batches; returns the mean loss and accuracy (at 0.5, or
/// argmax for several classes; a blended image counts against its own label).
fn train_epoch(
    net: &dyn Classifier,
    opt: &mut Optimizer,
    (objective, augment, alpha): (&TrainLoss, Augment, f64),
    train: &dyn Samples,
    batch_size: usize,
    bar: &ProgressBar,
) -> (f64, f64) {
    let device = train.device();
    let n = train.len() as i64;
    // Loss and hits accumulate on the device, read once per epoch: no per-batch sync.
    let mut loss_sum = Tensor::zeros([], (Kind::Float, device));
    let mut hits = Tensor::zeros([], (Kind::Int64, device));
    let perm = Tensor::randperm(n, (Kind::Int64, device));
    let mut start = 0i64;
    while start < n {
        let len = (batch_size as i64).min(n - start);
        let (x, y) = train.batch(&perm.narrow(0, start, len));
        let x = augment.apply(&x);
        let (loss, logits) = match mixup::blend(&x, alpha) {
            Some(b) => train_step(net, opt, &b.images, |l| b.loss(objective, l, &y)),
            None => train_step(net, opt, &x, |l| objective.loss(l, &y)),
        };
        tch::no_grad(|| {
            let _ = loss_sum.g_add_(&(loss.detach() * len as f64));
            let _ = hits.g_add_(&loss::hits(&logits, &y));
        });
        start += len;
        bar.inc(1);
    }
    let n = n.max(1) as f64;
    (loss_sum.double_value(&[]) / n, hits.int64_value(&[]) as f64 / n)
}

/// Sets every var-store group's learning rate to `scale` times its rate in `cfg` (group 0
/// `cfg.lr`, the others `cfg.lr` times their `cfg.lr_group_factors()`).
fn set_rates(opt: &mut Optimizer, cfg: &TrainConfig, scale: f64) {
    opt.set_lr_group(0, cfg.lr * scale);
    for (group, factor) in cfg.lr_group_factors() {
        opt.set_lr_group(group, cfg.lr * factor * scale);
    }
}

/// Trains `net` (whose variables live in `vs`) and leaves the final weights in `vs`.
/// Var-store groups other than 0 learn at `cfg.lr` times their `cfg.lr_group_factors()`,
/// every group times `cfg.lr_schedule`'s factor of the epoch.
/// `validate` scores the network after each epoch (early stopping watches its loss);
/// `checkpoints` receives `last.safetensors` every epoch and `best.safetensors` on every
/// improvement; `on_epoch` sees the history and the network after each epoch (to persist
/// the history as it grows and to measure milestone epochs).
pub fn fit(
    net: &dyn Classifier,
    vs: &mut VarStore,
    train: &dyn Samples,
    mut validate: impl FnMut(&dyn Classifier) -> ValScore,
    cfg: &TrainConfig,
    checkpoints: &Path,
    mut on_epoch: impl FnMut(&[EpochRecord], &dyn Classifier) -> Result<()>,
) -> Result<FitOutcome> {
    let mut opt = Optimizer::new(cfg.optimizer, vs, cfg.lr, cfg.momentum)?;
    set_rates(&mut opt, cfg, 1.0);
    let objective =
        TrainLoss::new(cfg.class_weight, cfg.label_smoothing, train.labels(), cfg.outputs().max(2) as usize);
    let mut stopper = EarlyStopping::new(cfg.patience);
    let best_path = checkpoints.join("best.safetensors");
    let mut history = Vec::new();
    let mut stopped_early = false;
    let started = Instant::now();
    let n = train.len();
    let batches = (train.len() as u64).div_ceil(cfg.batch_size as u64);

    for epoch in 1..=cfg.epochs {
        let epoch_start = Instant::now();
        if cfg.lr_schedule != LrSchedule::Constant {
            set_rates(&mut opt, cfg, cfg.lr_schedule.factor(epoch, cfg.epochs));
        }
        let bar = progress::bar(batches, format!("epoch {epoch}/{}", cfg.epochs), "batches");
        let (train_loss, train_accuracy) =
            train_epoch(net, &mut opt, (&objective, cfg.augment, cfg.mixup), train, cfg.batch_size, &bar);
        bar.finish_and_clear();
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let v = validate(net);
        let record = EpochRecord {
            epoch,
            train_loss,
            train_accuracy,
            val_loss: v.loss,
            val_accuracy: v.accuracy,
            seconds: epoch_start.elapsed().as_secs_f64(),
            train_images_per_second: n as f64 / train_seconds,
        };
        eprintln!(
            "epoch {epoch}/{}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4} | {:.0} img/s, {:.1}s",
            cfg.epochs,
            record.train_loss,
            record.train_accuracy,
            record.val_loss,
            record.val_accuracy,
            record.train_images_per_second,
            record.seconds
        );
        history.push(record);
        checkpoint::save_atomic(vs, &checkpoints.join("last.safetensors"))?;
        let verdict = stopper.observe(epoch, v.loss);
        if verdict.improved {
            checkpoint::save_atomic(vs, &best_path)?;
        }
        on_epoch(&history, net)?;
        if verdict.stop {
            eprintln!(
                "early stopping: no lower validation loss for {} epochs (best epoch {})",
                cfg.patience.unwrap_or(0),
                stopper.best_epoch().unwrap_or(0)
            );
            stopped_early = true;
            break;
        }
    }
    let restored_best = cfg.patience.is_some() && stopper.best_epoch().is_some();
    if restored_best {
        checkpoint::load(vs, &best_path)?;
    }
    Ok(FitOutcome {
        history,
        best_epoch: stopper.best_epoch(),
        stopped_early,
        restored_best,
        seconds: started.elapsed().as_secs_f64(),
    })
}
