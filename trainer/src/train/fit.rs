//! The training loop: shuffled mini-batches sliced from the device-resident images, one
//! optimizer step each, validation after every epoch, early stopping, and checkpoints.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
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
use super::weight_average::WeightAverage;
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

impl EpochRecord {
    /// The epoch's line on the terminal.
    fn report(&self, total: usize) {
        eprintln!(
            "epoch {}/{total}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4} | {:.0} img/s, {:.1}s",
            self.epoch,
            self.train_loss,
            self.train_accuracy,
            self.val_loss,
            self.val_accuracy,
            self.train_images_per_second,
            self.seconds
        );
    }
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

/// One pass over `train` in shuffled batches, folding every step into `average` when there is
/// one; returns the mean loss and accuracy (at 0.5, or argmax for several classes; a blended
/// image counts against its own label).
fn train_epoch(
    net: &dyn Classifier,
    (opt, mut average): (&mut Optimizer, Option<&mut WeightAverage>),
    (objective, augment, alpha): (&TrainLoss, Augment, f64),
    train: &dyn Samples,
    batch_size: usize,
    label: String,
) -> (f64, f64) {
    let bar = progress::bar((train.len() as u64).div_ceil(batch_size as u64), label, "batches");
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
        if let Some(a) = average.as_deref_mut() {
            a.update();
        }
        tch::no_grad(|| {
            let _ = loss_sum.g_add_(&(loss.detach() * len as f64));
            let _ = hits.g_add_(&loss::hits(&logits, &y));
        });
        start += len;
        bar.inc(1);
    }
    bar.finish_and_clear();
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
/// The loss is the run's: class weights, smoothing and focal term (`training_loss`).
/// With `cfg.ema_decay` the network is the moving average of its weights (train/weight_average.rs)
/// whenever it is not training: validated, checkpointed, shown to `on_epoch` and left in `vs`.
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
    let objective = training_loss(cfg, train);
    let mut stopper = EarlyStopping::new(cfg.patience);
    let best_path = checkpoints.join("best.safetensors");
    let mut history = Vec::new();
    let mut stopped_early = false;
    let started = Instant::now();
    let n = train.len();
    let mut average = (cfg.ema_decay > 0.0).then(|| WeightAverage::new(vs, cfg.ema_decay));

    for epoch in 1..=total {
        let epoch_start = Instant::now();
        // The average stood in for the network since the last epoch ended: back to training.
        if let (Some(a), true) = (average.as_mut(), epoch > 1) {
            a.swap();
        }
        set_rates(&mut opt, cfg, phase_factors(cfg.lr_schedule, cfg.head_epochs, epoch, cfg.epochs));
        let (train_loss, train_accuracy) = train_epoch(
            net,
            (&mut opt, average.as_mut()),
            (&objective, cfg.augment, cfg.mixup),
            train,
            cfg.batch_size,
            format!("epoch {epoch}/{total}"),
        );
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        if let Some(a) = average.as_mut() {
            a.swap();
        }
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
        record.report(total);
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

/// The training loss `cfg` asks for, its class weights counted on `train`'s labels.
fn training_loss(cfg: &TrainConfig, train: &dyn Samples) -> TrainLoss {
    let classes = cfg.outputs().max(2) as usize;
    TrainLoss::new(cfg.class_weight, cfg.label_smoothing, train.labels(), classes)
        .with_focal_gamma(cfg.focal_gamma)
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
        /// The batch's points in index order, whatever order the shuffle drew them in: a
        /// whole-set batch is then the same batch every epoch and in every run, so the toy
        /// runs below do not depend on the global random generator other tests share.
        fn batch(&self, idx: &Tensor) -> (Tensor, Tensor) {
            let (idx, _) = idx.sort(0, false);
            (self.x.index_select(0, &idx), self.y.index_select(0, &idx))
        }
    }

    /// Runs `fit` on the two-number model from base 0.5, head 0.1 and returns (base, head)
    /// as `on_epoch` saw them after each epoch, and as `vs` holds them at the end.
    fn toy_run(cfg: &TrainConfig) -> (Vec<(f64, f64)>, (f64, f64)) {
        let mut vs = VarStore::new(Device::Cpu);
        let base = vs.root().set_group(BASE_GROUP).var("base", &[1, 1], tch::nn::Init::Const(0.5));
        let head = vs.root().var("head", &[1, 1], tch::nn::Init::Const(0.1));
        let net = TwoStage { base: base.shallow_clone(), head: head.shallow_clone() };
        let x = Tensor::linspace(-2.0, 2.0, 64, (Kind::Float, Device::Cpu)).view([64, 1]);
        let points = Points { y: x.gt(0.0).to_kind(Kind::Float).view([-1]), x };
        let read = || (base.double_value(&[0, 0]), head.double_value(&[0, 0]));
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let val = |_: &dyn Classifier| ValScore { loss: 0.0, accuracy: 0.0 };
        fit(&net, &mut vs, &points, val, cfg, dir.path(), |_, _| {
            seen.push(read());
            Ok(())
        })
        .unwrap();
        (seen, read())
    }

    fn toy_config() -> TrainConfig {
        TrainConfig {
            model: ModelKind::MobilenetV2,
            mode: TransferMode::Finetune,
            epochs: 2,
            lr: 0.05,
            base_lr_factor: 0.5,
            batch_size: 16,
            optimizer: super::super::OptimizerKind::Adam,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn with_weight_averaging_the_model_is_the_average_of_the_trajectory_trained_as_usual() {
        // One batch an epoch, so the epochs of a plain run are every step of the trajectory.
        let cfg = TrainConfig { epochs: 5, batch_size: 64, ..toy_config() };
        let (plain, _) = toy_run(&cfg);
        let (averaged, end) = toy_run(&TrainConfig { ema_decay: 0.9, ..cfg });
        // The average of that same trajectory (training itself must not see the average).
        let probe = WeightAverage::new(&VarStore::new(Device::Cpu), 0.9);
        let mut expected = (0.5, 0.1);
        for (t, &(b, h)) in plain.iter().enumerate() {
            let d = probe.decay_at(t as u64 + 1);
            expected = (d * expected.0 + (1.0 - d) * b, d * expected.1 + (1.0 - d) * h);
            let got = averaged[t];
            assert!(
                (got.0 - expected.0).abs() < 1e-5 && (got.1 - expected.1).abs() < 1e-5,
                "epoch {}: {got:?} vs {expected:?}",
                t + 1
            );
        }
        assert_eq!(end, *averaged.last().unwrap(), "the average is what the run keeps");
        assert_ne!(end, *plain.last().unwrap());
    }

    #[test]
    fn head_epochs_leave_the_base_alone_and_then_it_learns() {
        let (seen, _) = toy_run(&TrainConfig { head_epochs: 2, ..toy_config() });
        assert_eq!(seen.len(), 4, "head epochs come before --epochs");
        assert_eq!((seen[0].0, seen[1].0), (0.5, 0.5), "the base moved during a head epoch: {seen:?}");
        assert_ne!(seen[0].1, 0.1, "the head did not learn");
        assert_ne!(seen[2].0, 0.5, "the base did not learn after the head epochs: {seen:?}");
    }
}
