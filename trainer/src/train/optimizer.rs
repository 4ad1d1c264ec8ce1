//! The optimizers the seed compared, with Keras' defaults where Keras and PyTorch differ
//! (the seed was written in Keras): RMSprop rho 0.9 and eps 1e-7, Adam eps 1e-7, Adagrad with
//! an initial accumulator of 0.1 and eps 1e-7. tch has no Adagrad, so it is written here.

use anyhow::Result;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain stochastic gradient descent.
    Sgd,
    /// SGD with momentum (see --momentum, default 0.9).
    Momentum,
    Adam,
    Rmsprop,
    /// The seed's choice for tasks I–II.
    Adagrad,
}

/// Either a tch optimizer or our Adagrad, behind one interface.
pub enum Optimizer {
    Tch(nn::Optimizer),
    Adagrad(Adagrad),
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, vs: &nn::VarStore, lr: f64, momentum: f64) -> Result<Optimizer> {
        Ok(match kind {
            OptimizerKind::Sgd => Optimizer::Tch(nn::Sgd::default().build(vs, lr)?),
            OptimizerKind::Momentum => {
                Optimizer::Tch(nn::Sgd { momentum, ..Default::default() }.build(vs, lr)?)
            }
            OptimizerKind::Adam => Optimizer::Tch(nn::Adam::default().eps(1e-7).build(vs, lr)?),
            OptimizerKind::Rmsprop => {
                Optimizer::Tch(nn::RmsProp { alpha: 0.9, eps: 1e-7, ..Default::default() }.build(vs, lr)?)
            }
            OptimizerKind::Adagrad => {
                let vars = vs.variables_.lock().map_err(|_| anyhow::anyhow!("var store lock poisoned"))?;
                let grouped = vars.trainable_variables.iter().map(|v| (v.tensor.shallow_clone(), v.group));
                Optimizer::Adagrad(Adagrad::with_groups(grouped.collect(), lr))
            }
        })
    }

    /// Sets the learning rate of the variables created under `nn::Path::set_group(group)`
    /// (the others keep theirs). The group must hold at least one variable.
    pub fn set_lr_group(&mut self, group: usize, lr: f64) {
        match self {
            Optimizer::Tch(o) => o.set_lr_group(group, lr),
            Optimizer::Adagrad(a) => {
                a.group_lr.retain(|(g, _)| *g != group);
                a.group_lr.push((group, lr));
            }
        }
    }

    /// Zeroes gradients, back-propagates `loss` and updates the weights.
    pub fn backward_step(&mut self, loss: &Tensor) {
        match self {
            Optimizer::Tch(o) => o.backward_step(loss),
            Optimizer::Adagrad(a) => {
                a.zero_grad();
                loss.backward();
                a.step();
            }
        }
    }
}

/// Adagrad as Keras defines it: `acc += g²; w -= lr · g / (√acc + eps)`, acc starting at 0.1.
pub struct Adagrad {
    vars: Vec<Tensor>,
    /// Var-store group of each variable.
    groups: Vec<usize>,
    acc: Vec<Tensor>,
    lr: f64,
    /// Learning rates of groups that do not use `lr`.
    group_lr: Vec<(usize, f64)>,
}

impl Adagrad {
    const INITIAL_ACCUMULATOR: f64 = 0.1;
    const EPS: f64 = 1e-7;

    /// All variables in group 0 at learning rate `lr`.
    pub fn new(vars: Vec<Tensor>, lr: f64) -> Adagrad {
        Adagrad::with_groups(vars.into_iter().map(|v| (v, 0)).collect(), lr)
    }

    /// Variables with their var-store groups; every group starts at `lr`.
    pub fn with_groups(vars: Vec<(Tensor, usize)>, lr: f64) -> Adagrad {
        let (vars, groups): (Vec<Tensor>, Vec<usize>) = vars.into_iter().unzip();
        let acc = vars.iter().map(|v| v.zeros_like().fill_(Self::INITIAL_ACCUMULATOR)).collect();
        Adagrad { vars, groups, acc, lr, group_lr: vec![] }
    }

    fn lr_of(&self, group: usize) -> f64 {
        self.group_lr.iter().find(|(g, _)| *g == group).map_or(self.lr, |&(_, lr)| lr)
    }

    pub fn zero_grad(&mut self) {
        for v in &mut self.vars {
            v.zero_grad();
        }
    }

    pub fn step(&mut self) {
        tch::no_grad(|| {
            let lrs: Vec<f64> = self.groups.iter().map(|&g| self.lr_of(g)).collect();
            for ((v, acc), lr) in self.vars.iter_mut().zip(&mut self.acc).zip(lrs) {
                let g = v.grad();
                if !g.defined() {
                    continue;
                }
                let _ = acc.addcmul_(&g, &g);
                let update = g / (acc.sqrt() + Self::EPS) * lr;
                let _ = v.f_sub_(&update).expect("shapes of a variable and its gradient agree");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// One Adagrad step on f(w) = w²/2 (gradient w) from w = 1:
    /// acc = 0.1 + 1 = 1.1, w = 1 − lr · 1 / √1.1.
    #[test]
    fn adagrad_matches_its_formula() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[1], nn::Init::Const(1.0));
        let mut opt = Optimizer::new(OptimizerKind::Adagrad, &vs, 0.5, 0.0).unwrap();
        let loss = (&w * &w).sum(Kind::Float) / 2.0;
        opt.backward_step(&loss);
        let expected = 1.0 - 0.5 / 1.1f64.sqrt();
        assert!((w.double_value(&[0]) - expected).abs() < 1e-6);
    }

    /// A group at a tenth of the learning rate moves a tenth as far on the first step of
    /// SGD, and Adagrad honours groups too.
    #[test]
    fn group_learning_rates() {
        for kind in [OptimizerKind::Sgd, OptimizerKind::Adagrad] {
            let vs = nn::VarStore::new(Device::Cpu);
            let a = vs.root().var("a", &[1], nn::Init::Const(1.0));
            let b = vs.root().set_group(1).var("b", &[1], nn::Init::Const(1.0));
            let mut opt = Optimizer::new(kind, &vs, 0.5, 0.0).unwrap();
            opt.set_lr_group(1, 0.05);
            let loss = (&a + &b).sum(Kind::Float);
            opt.backward_step(&loss);
            let (da, db) = (1.0 - a.double_value(&[0]), 1.0 - b.double_value(&[0]));
            assert!(da > 0.0 && (db / da - 0.1).abs() < 1e-5, "{kind:?}: {da} {db}");
        }
    }

    #[test]
    fn every_optimizer_reduces_a_quadratic() {
        for kind in OptimizerKind::value_variants() {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().var("w", &[3], nn::Init::Const(2.0));
            let mut opt = Optimizer::new(*kind, &vs, 0.05, 0.9).unwrap();
            let start = (&w * &w).sum(Kind::Float).double_value(&[]);
            for _ in 0..20 {
                let loss = (&w * &w).sum(Kind::Float);
                opt.backward_step(&loss);
            }
            let end = (&w * &w).sum(Kind::Float).double_value(&[]);
            assert!(end < start, "{kind:?}: {start} -> {end}");
        }
    }
}
