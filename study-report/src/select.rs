//! Which run speaks for a model: the `seeds`-phase runs when the study has them (the first
//! seed's run gives the figures and the interval, all seeds give mean ± sd), else the run with
//! the best validation accuracy among the other phases. Test accuracy never chooses.

use crate::study::{Run, Study};

pub struct Headline<'a> {
    pub task: &'a str,
    pub protocol: &'a str,
    /// `seeds`, or the phase of the best-validation run.
    pub source: String,
    /// The reported run first; with `seeds`, every seed's run in plan order.
    pub runs: Vec<&'a Run>,
}

impl<'a> Headline<'a> {
    pub fn run(&self) -> &'a Run {
        self.runs[0]
    }
}

/// The first run with the highest validation accuracy (plan order breaks ties).
pub fn best_by_validation<'a>(runs: impl Iterator<Item = &'a Run>) -> Option<&'a Run> {
    runs.fold(None, |best: Option<&Run>, r| match best {
        Some(b) if b.eval().val_accuracy() >= r.eval().val_accuracy() => Some(b),
        _ => Some(r),
    })
}

pub fn headline<'a>(study: &'a Study, task: &'a str, protocol: &'a str) -> Option<Headline<'a>> {
    let seeds: Vec<&Run> = study.runs_of(task, protocol).filter(|r| r.plan.phase == "seeds").collect();
    if !seeds.is_empty() {
        return Some(Headline { task, protocol, source: "seeds".into(), runs: seeds });
    }
    let best = best_by_validation(study.runs_of(task, protocol))?;
    Some(Headline { task, protocol, source: best.plan.phase.clone(), runs: vec![best] })
}
