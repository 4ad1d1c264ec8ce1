//! Probabilities of a network over a whole split, in batches, without gradients.

use tch::{Kind, Tensor};

use crate::data::device::{inputs_in_order, Samples};
use crate::models::Classifier;
use crate::train::loss;

/// p(pneumonia) per image, the true labels, and the mean loss (binary cross-entropy, or
/// cross-entropy for a 3-class network). A 3-class network also gives its class
/// probabilities (normal, bacterial, viral) and the true classes; p(pneumonia) is then
/// p(bacterial) + p(viral).
#[derive(Clone, Debug, Default)]
pub struct Predictions {
    pub probs: Vec<f32>,
    pub labels: Vec<bool>,
    pub loss: f64,
    /// 3-class networks only: softmax per image.
    pub class_probs: Vec<[f32; 3]>,
    /// 3-class networks only: the true class index per image.
    pub classes: Vec<u8>,
}

pub fn predict(net: &dyn Classifier, images: &dyn Samples, batch_size: usize) -> Predictions {
    let logits: Vec<Tensor> =
        tch::no_grad(|| inputs_in_order(images, batch_size).map(|x| net.forward_t(&x, false)).collect());
    if logits.is_empty() {
        return Predictions::default();
    }
    let logits = Tensor::cat(&logits, 0);
    let loss = tch::no_grad(|| loss::loss(&logits, images.labels()).double_value(&[]));
    let labels = to_vec(images.labels());
    if logits.size()[1] == 1 {
        let probs = to_vec(&logits.squeeze_dim(1).sigmoid());
        return Predictions {
            probs,
            labels: labels.iter().map(|&y| y > 0.5).collect(),
            loss,
            ..Default::default()
        };
    }
    let soft = to_vec(&logits.softmax(1, Kind::Float));
    let class_probs: Vec<[f32; 3]> = soft.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    Predictions::from_classes(class_probs, labels.iter().map(|&y| y as u8).collect(), loss)
}

impl Predictions {
    /// A 3-class network's predictions: p(pneumonia) = p(bacterial) + p(viral), and the binary
    /// label is "not normal".
    pub fn from_classes(class_probs: Vec<[f32; 3]>, classes: Vec<u8>, loss: f64) -> Predictions {
        Predictions {
            probs: class_probs.iter().map(|c| c[1] + c[2]).collect(),
            labels: classes.iter().map(|&c| c != 0).collect(),
            loss,
            class_probs,
            classes,
        }
    }
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::try_from(t.to_device(tch::Device::Cpu).to_kind(Kind::Float).flatten(0, -1))
        .expect("a float tensor converts to Vec<f32>")
}
