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
            OptimizerKind::Adagrad => Optimizer::Adagrad(Adagrad::new(vs.trainable_variables(), lr)),
        })
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
    acc: Vec<Tensor>,
    lr: f64,
}

impl Adagrad {
    const INITIAL_ACCUMULATOR: f64 = 0.1;
    const EPS: f64 = 1e-7;

    pub fn new(vars: Vec<Tensor>, lr: f64) -> Adagrad {
        let acc = vars.iter().map(|v| v.zeros_like().fill_(Self::INITIAL_ACCUMULATOR)).collect();
        Adagrad { vars, acc, lr }
    }

    pub fn zero_grad(&mut self) {
        for v in &mut self.vars {
            v.zero_grad();
        }
    }

    pub fn step(&mut self) {
        tch::no_grad(|| {
            for (v, acc) in self.vars.iter_mut().zip(&mut self.acc) {
                let g = v.grad();
                if !g.defined() {
                    continue;
                }
                let _ = acc.addcmul_(&g, &g);
                let update = g / (acc.sqrt() + Self::EPS) * self.lr;
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
