use super::*;
use tch::nn::VarStore;
use tch::Device;

fn numel(ts: &[(String, Tensor)]) -> i64 {
    ts.iter().map(|(_, t)| t.numel() as i64).sum()
}

#[test]
fn make_divisible_follows_the_reference() {
    assert_eq!(make_divisible(32.0 * 0.35, 8), 16);
    assert_eq!(make_divisible(5.0, 8), 8);
    assert_eq!(make_divisible(11.0, 8), 16);
    assert_eq!(make_divisible(22.0, 8), 24);
    assert_eq!(make_divisible(33.0, 8), 32);
    assert_eq!(make_divisible(56.0, 8), 56);
    assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
}

#[test]
fn channel_plans_match_the_weights_files() {
    let one = ChannelPlan::new(1.0);
    assert_eq!((one.stem, one.last, one.blocks.len()), (32, 1280, 17));
    let outs: Vec<i64> = one.blocks.iter().map(|b| b.1).collect();
    assert_eq!(outs, [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320]);
    let small = ChannelPlan::new(0.35);
    assert_eq!((small.stem, small.last), (16, 1280));
    let outs: Vec<i64> = small.blocks.iter().map(|b| b.1).collect();
    assert_eq!(outs, [8, 8, 8, 16, 16, 16, 24, 24, 24, 24, 32, 32, 32, 56, 56, 56, 112]);
    assert_eq!(small.blocks[14], (56, 56, 6, 1));
}

#[test]
fn var_names_are_torchvision_keys_and_sizes_match() {
    let vs = VarStore::new(Device::Cpu);
    let net = MobileNetV2::new(&vs.root(), Config::KERAS_0_35_BN);
    let mut mine: Vec<String> = net.named_tensors().into_iter().map(|(n, _)| n).collect();
    let mut store: Vec<String> = vs.variables().into_keys().collect();
    mine.sort();
    store.sort();
    assert_eq!(mine, store);
    for key in ["features.1.conv.2.running_var", "features.5.conv.3.weight", "features.18.1.bias"] {
        assert!(store.iter().any(|k| k == key), "{key}");
    }
    assert_eq!(numel(&net.named_tensors()), 410_208);

    let vs = VarStore::new(Device::Cpu);
    let net = MobileNetV2::new(&vs.root(), Config::IMAGENET_1_0_FOLDED);
    assert_eq!(numel(&net.named_tensors()), 3_489_097);
    assert_eq!(vs.variables().len(), net.named_tensors().len());
    assert!(vs.variables().contains_key("features.1.conv.1.bias"));
}

#[test]
fn feature_map_sizes_follow_same_padding() {
    let vs = VarStore::new(Device::Cpu);
    let net = MobileNetV2::new(&vs.root(), Config::KERAS_0_35_BN);
    let x = Tensor::zeros([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward_features_t(&x, false).size(), vec![2, 1280, 2, 2]);
    // 90 → 45 → 23 → 12 → 6 → 3: odd sides pad symmetrically, as TF does.
    let x = Tensor::zeros([1, 3, 90, 90], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward_features_t(&x, false).size(), vec![1, 1280, 3, 3]);
    assert_eq!(net.pooled_features(&x).size(), vec![1, 1280]);
    assert!(net.logits_t(&x, false).is_none());
}

#[test]
fn grey_input_is_three_channels_in_minus_one_to_one() {
    let x = Tensor::from_slice(&[0.0f32, 0.5, 1.0]).view([1, 1, 1, 3]);
    let y = grey_to_input(&x);
    assert_eq!(y.size(), vec![1, 3, 1, 3]);
    let v = Vec::<f32>::try_from(y.flatten(0, -1)).unwrap();
    assert_eq!(v, [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 1.0]);
}

#[test]
fn frozen_blocks_get_no_gradient_and_keep_their_statistics() {
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let mut net = MobileNetV2::new(&vs.root(), Config::KERAS_0_35_BN);
    net.set_trainable_blocks(2);
    assert_eq!(net.trainable_blocks(), 2);
    let (frozen, trainable) = net.frozen_and_trainable();
    // features.17: 3 convs + 3 BNs (weight, bias each); features.18: conv + BN.
    assert_eq!(trainable.len(), 3 * 3 + 3);
    assert!(frozen.iter().all(|t| !t.requires_grad()));
    assert!(trainable.iter().all(|t| t.requires_grad()));

    let frozen_mean = net.blocks[15].depthwise.bn.as_ref().unwrap().bn.running_mean.copy();
    let top_mean = net.last.bn.as_ref().unwrap().bn.running_mean.copy();
    let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    net.pooled_features_t(&x, true).sum(Kind::Float).backward();
    assert!(trainable.iter().all(|t| t.grad().defined()));
    assert!(frozen.iter().all(|t| !t.grad().defined()));
    let bn = |u: &ConvUnit| u.bn.as_ref().unwrap().bn.running_mean.copy();
    assert!(bn(&net.blocks[15].depthwise).equal(&frozen_mean), "frozen BN statistics moved");
    assert!(!bn(&net.last).equal(&top_mean), "trainable BN statistics did not move");

    net.set_trainable_blocks(FEATURE_COUNT);
    let (frozen, trainable) = net.frozen_and_trainable();
    assert!(frozen.is_empty());
    assert_eq!(trainable.len(), vs.trainable_variables().len());
}

#[test]
fn conv_units_are_named_in_forward_order() {
    let vs = VarStore::new(Device::Cpu);
    let net = MobileNetV2::new(&vs.root(), Config::IMAGENET_1_0_FOLDED);
    let names: Vec<&str> = net.conv_units().iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names.len(), 1 + 2 + 16 * 3 + 1);
    assert_eq!(
        &names[..4],
        ["features.0.0", "features.1.conv.0.0", "features.1.conv.1", "features.2.conv.0.0"]
    );
    assert_eq!(names[names.len() - 2..], ["features.17.conv.2", "features.18.0"]);
    assert!(net.conv_units().iter().all(|u| u.bn.is_none() && u.conv.bs.is_some()));
}

#[test]
fn standard_widths_are_told_apart_by_stem_and_top_block() {
    let keys: Vec<(i64, i64)> = STANDARD_WIDTHS
        .iter()
        .map(|&w| ChannelPlan::new(w))
        .map(|p| (p.stem, p.blocks.last().unwrap().1))
        .collect();
    assert_eq!(keys, [(16, 112), (16, 160), (24, 240), (32, 320), (40, 416), (48, 448)]);
}
