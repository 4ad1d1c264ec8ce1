//! Early stopping on validation loss with patience (Keras' EarlyStopping with
//! restore_best_weights): remembers the best epoch and says when to stop.

/// Tracks the best validation loss seen so far.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    patience: Option<usize>,
    best_loss: f64,
    best_epoch: Option<usize>,
    epochs_without_improvement: usize,
}

/// What to do after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// This epoch has the lowest validation loss so far: keep its weights.
    pub improved: bool,
    /// Patience ran out: stop training.
    pub stop: bool,
}

impl EarlyStopping {
    /// `patience = None` never stops but still tracks the best epoch.
    pub fn new(patience: Option<usize>) -> EarlyStopping {
        EarlyStopping { patience, best_loss: f64::INFINITY, best_epoch: None, epochs_without_improvement: 0 }
    }

    /// Records epoch `epoch` (1-based) with validation loss `val_loss`. A NaN loss never improves.
    pub fn observe(&mut self, epoch: usize, val_loss: f64) -> Verdict {
        let improved = val_loss < self.best_loss;
        if improved {
            self.best_loss = val_loss;
            self.best_epoch = Some(epoch);
            self.epochs_without_improvement = 0;
        } else {
            self.epochs_without_improvement += 1;
        }
        let stop = self.patience.is_some_and(|p| self.epochs_without_improvement >= p);
        Verdict { improved, stop }
    }

    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut es = EarlyStopping::new(Some(2));
        assert_eq!(es.observe(1, 1.0), Verdict { improved: true, stop: false });
        assert_eq!(es.observe(2, 0.8), Verdict { improved: true, stop: false });
        assert_eq!(es.observe(3, 0.9), Verdict { improved: false, stop: false });
        assert_eq!(es.observe(4, 0.8), Verdict { improved: false, stop: true });
        assert_eq!(es.best_epoch(), Some(2));
    }

    #[test]
    fn without_patience_never_stops_and_nan_never_improves() {
        let mut es = EarlyStopping::new(None);
        es.observe(1, 0.5);
        for e in 2..50 {
            assert!(!es.observe(e, f64::NAN).stop);
        }
        assert_eq!(es.best_epoch(), Some(1));
    }
}
