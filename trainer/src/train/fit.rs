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
use super::lr_schedule::phase_factors;
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

/// Sets the var-store groups' learning rates: group 0 (the head) `head` times `cfg.lr`, the
/// others `base` times `cfg.lr` times their `cfg.lr_group_factors()`.
fn set_rates(opt: &mut Optimizer, cfg: &TrainConfig, (head, base): (f64, f64)) {
    opt.set_lr_group(0, cfg.lr * head);
    for (group, factor) in cfg.lr_group_factors() {
        opt.set_lr_group(group, cfg.lr * factor * base);
    }
}

/// Trains `net` (whose variables live in `vs`) and leaves the final weights in `vs`.
/// Var-store groups other than 0 learn at `cfg.lr` times their `cfg.lr_group_factors()`,
/// every group times `cfg.lr_schedule`'s factor of the epoch; the first `cfg.head_epochs`
/// epochs train group 0 (the head) alone, and the schedule starts after them.
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
    let total = cfg.total_epochs();
    let objective =
        TrainLoss::new(cfg.class_weight, cfg.label_smoothing, train.labels(), cfg.outputs().max(2) as usize);
    let mut stopper = EarlyStopping::new(cfg.patience);
    let best_path = checkpoints.join("best.safetensors");
    let mut history = Vec::new();
    let mut stopped_early = false;
    let started = Instant::now();
    let n = train.len();
    let batches = (train.len() as u64).div_ceil(cfg.batch_size as u64);

    for epoch in 1..=total {
        let epoch_start = Instant::now();
        set_rates(&mut opt, cfg, phase_factors(cfg.lr_schedule, cfg.head_epochs, epoch, cfg.epochs));
        let bar = progress::bar(batches, format!("epoch {epoch}/{total}"), "batches");
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
            "epoch {epoch}/{total}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4} | {:.0} img/s, {:.1}s",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::transfer::BASE_GROUP;
    use crate::train::config::{ModelKind, TransferMode};
    use tch::Device;

    /// A "transfer model" of two numbers: a base weight (in the base's var-store group) and
    /// a head weight; logit = head · base · x.
    struct TwoStage {
        base: Tensor,
        head: Tensor,
    }

    impl Classifier for TwoStage {
        fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
            (xs * &self.base * &self.head).sum_dim_intlist([1].as_slice(), true, Kind::Float)
        }
    }

    struct Points {
        x: Tensor,
        y: Tensor,
    }

    impl Samples for Points {
        fn len(&self) -> usize {
            self.y.size()[0] as usize
        }
        fn labels(&self) -> &Tensor {
            &self.y
        }
        fn batch(&self, idx: &Tensor) -> (Tensor, Tensor) {
            (self.x.index_select(0, idx), self.y.index_select(0, idx))
        }
    }

    #[test]
    fn head_epochs_leave_the_base_alone_and_then_it_learns() {
        tch::manual_seed(1);
        let mut vs = VarStore::new(Device::Cpu);
        let base = vs.root().set_group(BASE_GROUP).var("base", &[1, 1], tch::nn::Init::Const(0.5));
        let head = vs.root().var("head", &[1, 1], tch::nn::Init::Const(0.1));
        let net = TwoStage { base: base.shallow_clone(), head: head.shallow_clone() };
        let x = Tensor::randn([64, 1], (Kind::Float, Device::Cpu));
        let points = Points { y: x.gt(0.0).to_kind(Kind::Float).view([-1]), x };
        let cfg = TrainConfig {
            model: ModelKind::MobilenetV2,
            mode: TransferMode::Finetune,
            head_epochs: 2,
            epochs: 2,
            lr: 0.05,
            base_lr_factor: 0.5,
            batch_size: 16,
            optimizer: super::super::OptimizerKind::Adam,
            ..TrainConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let out = fit(
            &net,
            &mut vs,
            &points,
            |_| ValScore { loss: 0.0, accuracy: 0.0 },
            &cfg,
            dir.path(),
            |h, _| {
                seen.push((h.len(), base.double_value(&[0, 0]), head.double_value(&[0, 0])));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(out.history.len(), 4, "head epochs come before --epochs");
        assert_eq!(seen.len(), 4);
        assert_eq!((seen[0].1, seen[1].1), (0.5, 0.5), "the base moved during a head epoch: {seen:?}");
        assert_ne!(seen[0].2, 0.1, "the head did not learn");
        assert_ne!(seen[2].1, 0.5, "the base did not learn after the head epochs: {seen:?}");
    }
}
