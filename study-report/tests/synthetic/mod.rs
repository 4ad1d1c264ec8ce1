//! A small synthetic study folder, written the way `trainer suite` writes one (FORMAT.md):
//! predictions are generated first and every metric is computed from them, so the files agree.

use std::path::Path;

use serde_json::{json, Value};

pub struct Spec {
    pub name: &'static str,
    pub phase: &'static str,
    pub task: &'static str,
    pub protocol: &'static str,
    pub optimizer: &'static str,
    pub lr: f64,
    pub seed: u64,
    /// Seeds the generated probabilities (distinct per run).
    pub data_seed: u64,
    pub epochs: usize,
    pub milestones: Vec<usize>,
    pub patience: Option<usize>,
    /// Higher = better separated probabilities.
    pub quality: f64,
}

/// Deterministic pseudo-random numbers in [0, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct Pred {
    patient: String,
    kind: &'static str,
    p: [f32; 3],
}

impl Pred {
    fn label(&self) -> bool {
        self.kind != "normal"
    }
    fn pneumonia(&self) -> f32 {
        self.p[1] + self.p[2]
    }
}

fn predictions(n: usize, quality: f64, seed: u64) -> Vec<Pred> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|i| {
            let kind = ["normal", "bacterial", "viral"][i % 3];
            let truth = i % 3;
            let mut p = [0.0f32; 3];
            for (k, v) in p.iter_mut().enumerate() {
                *v = (rng.next() + if k == truth { quality } else { 0.0 }) as f32;
            }
            let sum: f32 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= sum);
            Pred { patient: format!("patient{}", i / 2), kind, p }
        })
        .collect()
}

fn at(preds: &[Pred], t: f64) -> Value {
    let (mut tn, mut fp, mut fn_, mut tp) = (0usize, 0usize, 0usize, 0usize);
    for p in preds {
        match (p.pneumonia() >= t as f32, p.label()) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let r = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (r(tp, tp + fp), r(tp, tp + fn_));
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    json!({"threshold": t, "accuracy": r(tp + tn, preds.len()), "precision": precision, "recall": recall,
           "specificity": r(tn, tn + fp), "f1": f1, "confusion": {"tn": tn, "fp": fp, "fn": fn_, "tp": tp}})
}

fn argmax(p: &[f32; 3]) -> usize {
    (0..3).fold(0, |b, i| if p[i] > p[b] { i } else { b })
}

fn classes(preds: &[Pred]) -> Value {
    let mut m = vec![vec![0usize; 3]; 3];
    for p in preds {
        let t = ["normal", "bacterial", "viral"].iter().position(|k| *k == p.kind).unwrap();
        m[t][argmax(&p.p)] += 1;
    }
    let correct: usize = (0..3).map(|i| m[i][i]).sum();
    let per_class: Vec<Value> = (0..3)
        .map(|i| {
            let col: usize = (0..3).map(|r| m[r][i]).sum();
            let row: usize = m[i].iter().sum();
            let (pr, rc) = (m[i][i] as f64 / col.max(1) as f64, m[i][i] as f64 / row.max(1) as f64);
            let f1 = if pr + rc == 0.0 { 0.0 } else { 2.0 * pr * rc / (pr + rc) };
            let label = ["normal", "bacterial", "viral"][i];
            json!({"label": label, "precision": pr, "recall": rc, "f1": f1, "support": row})
        })
        .collect();
    let mean = |k: &str| per_class.iter().map(|c| c[k].as_f64().unwrap()).sum::<f64>() / 3.0;
    json!({"images": preds.len(), "accuracy": correct as f64 / preds.len() as f64,
           "macro_precision": mean("precision"), "macro_recall": mean("recall"), "macro_f1": mean("f1"),
           "per_class": per_class, "confusion": m})
}

fn split_eval(preds: &[Pred], threshold: f64) -> Value {
    let sweep: Vec<Value> = (0..17).map(|k| at(preds, (10 + 5 * k) as f64 / 100.0)).collect();
    json!({"images": preds.len(), "loss": 0.3, "roc_auc": 0.9, "at_chosen_threshold": at(preds, threshold),
           "at_0_5": at(preds, 0.5), "sweep": sweep})
}

fn evaluation(spec: &Spec, epoch: usize) -> (Value, Vec<Pred>) {
    let q = spec.quality + 0.02 * epoch as f64;
    let val = predictions(60, q, spec.data_seed * 7 + epoch as u64);
    let test = predictions(90, q, spec.data_seed * 13 + epoch as u64 + 1);
    let threshold = 0.5;
    let three = spec.task == "cnn_3class";
    let cls = if three {
        json!({"labels": ["normal", "bacterial", "viral"], "validation": classes(&val), "test": classes(&test)})
    } else {
        Value::Null
    };
    (
        json!({"threshold": threshold, "validation": split_eval(&val, threshold), "test": split_eval(&test, threshold), "classes": cls}),
        test,
    )
}

pub fn write_run(study: &Path, spec: &Spec) {
    let dir = study.join(spec.name);
    std::fs::create_dir_all(&dir).unwrap();
    let three = spec.task == "cnn_3class";
    let (final_eval, test) = evaluation(spec, spec.epochs);
    let milestones: Vec<Value> =
        spec.milestones.iter().map(|&e| json!({"epoch": e, "evaluation": evaluation(spec, e).0})).collect();
    let metrics = json!({
        "model": if spec.task.starts_with("mobilenet") { "mobilenet_v2" } else { "seed_cnn" },
        "config": {"optimizer": spec.optimizer, "lr": spec.lr, "momentum": 0.9, "epochs": spec.epochs, "batch_size": 20,
                   "image_size": 64, "seed": spec.seed, "protocol": spec.protocol, "patience": spec.patience,
                   "model": "seed_cnn", "mode": "frozen", "classes": if three { 3 } else { 2 }},
        "training": {"epochs_run": spec.epochs, "best_epoch": spec.epochs, "stopped_early": false, "restored_best": false,
                     "seconds": 1.0, "mean_train_images_per_second": 100.0},
        "evaluation": final_eval,
        "milestones": milestones,
        "provenance": {"git_commit": "abc", "device": "cpu", "threads": 2, "command": "x", "started_unix": 0, "wall_seconds": 1.0}
    });
    std::fs::write(dir.join("metrics.json"), serde_json::to_vec_pretty(&metrics).unwrap()).unwrap();
    let mut h = String::from(
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,train_images_per_second\n",
    );
    for e in 1..=spec.epochs {
        let x = e as f64;
        h += &format!("{e},{},{},{},{},1.0,100\n", 1.0 / x, 0.7 + 0.02 * x, 1.1 / x, 0.68 + 0.02 * x);
    }
    std::fs::write(dir.join("history.csv"), h).unwrap();
    let mut p = String::from("path,patient,kind,label,p_pneumonia,p_normal,p_bacterial,p_viral\n");
    for (i, t) in test.iter().enumerate() {
        let extra = if three { format!("{},{},{}", t.p[0], t.p[1], t.p[2]) } else { ",,".into() };
        p += &format!(
            "img{i}.jpeg,{},{},{},{},{extra}\n",
            t.patient,
            t.kind,
            u8::from(t.label()),
            t.pneumonia()
        );
    }
    std::fs::write(dir.join("test_predictions.csv"), p).unwrap();
}

pub fn write_suite(study: &Path, specs: &[Spec]) {
    let runs: Vec<Value> = specs
        .iter()
        .map(|s| json!({"name": s.name, "phase": s.phase, "task": s.task, "protocol": s.protocol, "optimizer": s.optimizer,
                        "lr": s.lr, "seed": s.seed, "epochs": s.epochs, "milestones": s.milestones, "patience": s.patience}))
        .collect();
    let suite = json!({"grid_file": "experiments/seed_study.toml", "profile": "quick", "device": "cpu",
                       "commit": "582f467-dirty", "runs": runs});
    std::fs::create_dir_all(study).unwrap();
    std::fs::write(study.join("suite.json"), serde_json::to_vec_pretty(&suite).unwrap()).unwrap();
}

/// A spec from its run name, `<phase>-<task>-<protocol>-<optimizer>-lr<lr>-s<seed>` (the
/// suite's naming), and how well its probabilities separate the classes.
fn spec(name: &'static str, quality: f64) -> Spec {
    let parts: Vec<&'static str> = name.split('-').collect();
    let phase = parts[0];
    Spec {
        name,
        phase,
        task: parts[1],
        protocol: parts[2],
        optimizer: parts[3],
        lr: parts[4].trim_start_matches("lr").parse().unwrap(),
        seed: parts[5].trim_start_matches('s').parse().unwrap(),
        data_seed: 0,
        epochs: 4,
        milestones: if phase == "grid" { vec![2, 4] } else { vec![] },
        patience: (phase == "early_stopping").then_some(2),
        quality,
    }
}

/// The plan: a full pooled study (grid, early stopping, fine-tuning, seeds) and an official
/// protocol with only the CNN grid.
pub fn plan() -> Vec<Spec> {
    let runs = [
        ("grid-cnn-pooled-sgd-lr0.01-s42", 0.3),
        ("grid-cnn-pooled-sgd-lr0.001-s42", 0.5),
        ("grid-cnn-pooled-adam-lr0.001-s42", 0.7),
        ("grid-cnn-pooled-adam-lr0.0001-s42", 0.4),
        ("grid-mobilenet_v2_frozen-pooled-adam-lr0.001-s42", 0.6),
        ("grid-cnn_3class-pooled-sgd-lr0.0005-s42", 0.6),
        ("early_stopping-cnn-pooled-adam-lr0.001-s42", 0.65),
        ("finetune-mobilenet_v2_finetune-pooled-adam-lr0.001-s42", 0.55),
        ("seeds-cnn-pooled-adam-lr0.001-s1", 0.7),
        ("seeds-cnn-pooled-adam-lr0.001-s2", 0.7),
        ("seeds-cnn-pooled-adam-lr0.001-s3", 0.7),
        ("grid-cnn-official-sgd-lr0.01-s42", 0.4),
        ("grid-cnn-official-adam-lr0.001-s42", 0.5),
    ];
    runs.iter()
        .enumerate()
        .map(|(i, &(name, quality))| Spec { data_seed: 100 + i as u64, ..spec(name, quality) })
        .collect()
}

pub fn write_study(study: &Path) -> Vec<Spec> {
    let specs = plan();
    write_suite(study, &specs);
    for s in &specs {
        write_run(study, s);
    }
    specs
}
