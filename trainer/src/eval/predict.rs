//! Probabilities of a network over a whole split, in batches, without gradients.

use tch::{Kind, Reduction, Tensor};

use crate::data::device::Samples;
use crate::models::Classifier;

/// p(pneumonia) per image, the true labels, and the mean binary cross-entropy.
#[derive(Clone, Debug)]
pub struct Predictions {
    pub probs: Vec<f32>,
    pub labels: Vec<bool>,
    pub loss: f64,
}

pub fn predict(net: &dyn Classifier, images: &dyn Samples, batch_size: usize) -> Predictions {
    let device = images.device();
    let total = images.len();
    let mut logits = Vec::with_capacity(total.div_ceil(batch_size.max(1)));
    tch::no_grad(|| {
        let mut start = 0;
        while start < total {
            let n = batch_size.max(1).min(total - start);
            let idx = Tensor::arange_start(start as i64, (start + n) as i64, (Kind::Int64, device));
            let (x, _) = images.batch(&idx);
            logits.push(net.forward_t(&x, false).squeeze_dim(1));
            start += n;
        }
    });
    if logits.is_empty() {
        return Predictions { probs: vec![], labels: vec![], loss: 0.0 };
    }
    let logits = Tensor::cat(&logits, 0);
    let loss = logits
        .binary_cross_entropy_with_logits::<Tensor>(images.labels(), None, None, Reduction::Mean)
        .double_value(&[]);
    let probs: Vec<f32> = Vec::try_from(logits.sigmoid().to_device(tch::Device::Cpu))
        .expect("a float tensor converts to Vec<f32>");
    let labels: Vec<f32> = Vec::try_from(images.labels().to_device(tch::Device::Cpu))
        .expect("a float tensor converts to Vec<f32>");
    Predictions { probs, labels: labels.iter().map(|&y| y > 0.5).collect(), loss }
}
