//! The "prepare" step (TFLM style): turn one [`LayerDef`] plus the tensor it consumes into
//! kernel parameters, checking every field, scanning the data (weights, per-channel
//! multipliers, shifts, biases) and proving the accumulator bounds. The loader runs it once per
//! layer and keeps the result in the model's plan; `run` never prepares.

use crate::error::{Error, Problem};
use crate::ops::add::AddParams;
use crate::ops::conv2d::Conv2dParams;
use crate::ops::dense::DenseParams;
use crate::ops::depthwise::DepthwiseParams;
use crate::ops::mean::MeanParams;
use crate::ops::requantize::RequantizeParams;
use crate::ops::softmax::{SoftmaxParams, MAX_DEPTH};
use crate::ops::{Dims, Geom};
use crate::quant_math::fold_mean_multiplier;
use crate::schema::{
    AddDef, AvgPoolDef, Conv2dDef, DenseDef, DepthwiseDef, LayerDef, LogisticDef, MeanDef, Quant, Shape,
    SoftmaxDef, TensorSpec,
};
use crate::validate::{
    channels, check_shape, dims_to_shape, max_left, multiplier_ok, quant, scalar, stage, weights, window,
    Ctx,
};

/// Residual slots a model may use.
pub const MAX_SLOTS: usize = 4;
/// Largest tensor, in elements (keeps every index and the arena addressable on 32-bit MCUs).
pub const MAX_TENSOR_LEN: usize = 1 << 30;

/// A layer's kernel with its precomputed parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kernel<'a> {
    Conv2d(Conv2dParams<'a>),
    Depthwise(DepthwiseParams<'a>),
    MaxPool { input: Dims, geom: Geom },
    GlobalAvgPool { input: Dims },
    Dense(DenseParams<'a>),
    Save { slot: usize },
    Add { slot: usize, params: AddParams },
    Requantize(RequantizeParams),
    Mean(MeanParams),
    Softmax(SoftmaxParams),
    Logistic { table: &'a [u8; 256] },
    AvgPool { input: Dims, geom: Geom, act_min: i32, act_max: i32 },
}

/// A prepared layer and the tensor it produces (for `Save`, the unchanged input).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepared<'a> {
    pub kernel: Kernel<'a>,
    pub output: TensorSpec,
}

/// Prepare layer `index` consuming `input`; `slots` holds what each residual slot saved.
pub(crate) fn prepare<'a>(
    index: usize,
    def: &LayerDef<'a>,
    input: &TensorSpec,
    slots: &[Option<TensorSpec>; MAX_SLOTS],
) -> Result<Prepared<'a>, Error> {
    let ctx = Ctx { index, op: def.op_name() };
    let d = check_shape(&input.shape).map_err(|p| ctx.err("input shape", p))?;
    let same_quant = |shape: Shape| TensorSpec { shape, quant: input.quant };
    match def {
        LayerDef::Conv2d(c) => conv2d(&ctx, c, d, input.quant),
        LayerDef::DepthwiseConv2d(c) => depthwise(&ctx, c, d, input.quant),
        LayerDef::MaxPool(w) => {
            let geom = window(&ctx, "window", w, d.h, d.w)?;
            let shape = dims_to_shape(&ctx, Dims { h: geom.out_h, w: geom.out_w, c: d.c })?;
            Ok(Prepared { kernel: Kernel::MaxPool { input: d, geom }, output: same_quant(shape) })
        }
        LayerDef::GlobalAvgPool => {
            // |Σ q| <= 128 · h · w and the rounding adds n/2: h · w <= 2^23 keeps it below 2^31.
            ctx.range("input h*w", (d.h * d.w) as i64, 1, 1 << 23)?;
            let shape = dims_to_shape(&ctx, Dims { h: 1, w: 1, c: d.c })?;
            Ok(Prepared { kernel: Kernel::GlobalAvgPool { input: d }, output: same_quant(shape) })
        }
        LayerDef::Dense(c) => dense(&ctx, c, d, input.quant),
        LayerDef::Save { slot } => {
            ctx.range("slot", i64::from(*slot), 0, MAX_SLOTS as i64 - 1)?;
            Ok(Prepared { kernel: Kernel::Save { slot: usize::from(*slot) }, output: *input })
        }
        LayerDef::Add(a) => add(&ctx, a, input, slots),
        LayerDef::Requantize(r) => {
            quant(&ctx, &r.output)?;
            // |x − zp| <= 255, so the left shift may be at most max_left(255) = 23.
            let max_shift = max_left(255).unwrap_or(0);
            let (multiplier, shift) = scalar(&ctx, "multiplier", &r.multiplier, max_shift)?;
            let in_zp = i32::from(input.quant.zero_point);
            let params =
                RequantizeParams { in_zp, multiplier, shift, out_zp: i32::from(r.output.zero_point) };
            Ok(Prepared {
                kernel: Kernel::Requantize(params),
                output: TensorSpec { shape: input.shape, quant: r.output },
            })
        }
        LayerDef::Mean(m) => mean(&ctx, m, d, input.quant),
        LayerDef::Softmax(m) => softmax(&ctx, m, d, input.shape),
        LayerDef::Logistic(l) => logistic(&ctx, l, input.shape),
        LayerDef::AvgPool(a) => avg_pool(&ctx, a, d, input.quant),
    }
}

fn conv2d<'a>(ctx: &Ctx, c: &Conv2dDef<'a>, d: Dims, in_q: Quant) -> Result<Prepared<'a>, Error> {
    let conv = window(ctx, "window", &c.window, d.h, d.w)?;
    let out_c = usize::from(c.out_channels);
    ctx.range("out_channels", out_c as i64, 1, 65535)?;
    let taps = (conv.kh * conv.kw) as u64 * d.c as u64;
    let weights = weights(ctx, c.weights, taps * out_c as u64)?;
    let channels = channels(ctx, &c.channels, out_c, taps)?;
    let pool = match &c.pool {
        Some(w) => Some(window(ctx, "pool", w, conv.out_h, conv.out_w)?),
        None => None,
    };
    let out = stage(ctx, &c.output, c.activation)?;
    let in_zp = i32::from(in_q.zero_point);
    let params = Conv2dParams { input: d, conv, out_c, pool, in_zp, out, weights, channels };
    let shape = dims_to_shape(ctx, params.output())?;
    Ok(Prepared { kernel: Kernel::Conv2d(params), output: TensorSpec { shape, quant: c.output } })
}

fn depthwise<'a>(ctx: &Ctx, c: &DepthwiseDef<'a>, d: Dims, in_q: Quant) -> Result<Prepared<'a>, Error> {
    let geom = window(ctx, "window", &c.window, d.h, d.w)?;
    let m = usize::from(c.depth_multiplier);
    ctx.range("depth_multiplier", m as i64, 1, 65535)?;
    let oc = d.c * m;
    let taps = (geom.kh * geom.kw) as u64;
    let weights = weights(ctx, c.weights, taps * oc as u64)?;
    let channels = channels(ctx, &c.channels, oc, taps)?;
    let out = stage(ctx, &c.output, c.activation)?;
    let in_zp = i32::from(in_q.zero_point);
    let params = DepthwiseParams { input: d, geom, depth_multiplier: m, in_zp, out, weights, channels };
    let shape = dims_to_shape(ctx, params.output())?;
    Ok(Prepared { kernel: Kernel::Depthwise(params), output: TensorSpec { shape, quant: c.output } })
}

fn dense<'a>(ctx: &Ctx, c: &DenseDef<'a>, d: Dims, in_q: Quant) -> Result<Prepared<'a>, Error> {
    let out_features = usize::from(c.out_features);
    ctx.range("out_features", out_features as i64, 1, 65535)?;
    let in_features = d.len();
    let weights = weights(ctx, c.weights, in_features as u64 * out_features as u64)?;
    let channels = channels(ctx, &c.channels, out_features, in_features as u64)?;
    let out = stage(ctx, &c.output, c.activation)?;
    let in_zp = i32::from(in_q.zero_point);
    let params = DenseParams { in_features, out_features, in_zp, out, weights, channels };
    let shape = dims_to_shape(ctx, Dims { h: 1, w: 1, c: out_features })?;
    Ok(Prepared { kernel: Kernel::Dense(params), output: TensorSpec { shape, quant: c.output } })
}

fn add<'a>(
    ctx: &Ctx,
    a: &AddDef,
    input: &TensorSpec,
    slots: &[Option<TensorSpec>; MAX_SLOTS],
) -> Result<Prepared<'a>, Error> {
    ctx.range("slot", i64::from(a.slot), 0, MAX_SLOTS as i64 - 1)?;
    let slot = usize::from(a.slot);
    let Some(saved) = slots[slot] else {
        return Err(ctx.err("slot", Problem::SlotEmpty));
    };
    if saved.shape != input.shape {
        let t = |s: Shape| (s.h, s.w, s.c);
        return Err(ctx.err("slot", Problem::ShapeMismatch { expected: t(input.shape), got: t(saved.shape) }));
    }
    // Multipliers below one (shift <= 0) keep every intermediate below 2^29.
    let m1 = scalar(ctx, "input1", &a.input1, 0)?;
    let m2 = scalar(ctx, "input2", &a.input2, 0)?;
    let mo = scalar(ctx, "output_multiplier", &a.output_multiplier, 0)?;
    let out = stage(ctx, &a.output, a.activation)?;
    let params = AddParams {
        zp1: i32::from(input.quant.zero_point),
        zp2: i32::from(saved.quant.zero_point),
        m1,
        m2,
        mo,
        out_zp: out.zero_point,
        act_min: out.act_min,
        act_max: out.act_max,
    };
    Ok(Prepared {
        kernel: Kernel::Add { slot, params },
        output: TensorSpec { shape: input.shape, quant: a.output },
    })
}

fn mean<'a>(ctx: &Ctx, m: &MeanDef, d: Dims, in_q: Quant) -> Result<Prepared<'a>, Error> {
    quant(ctx, &m.output)?;
    let n = d.h * d.w;
    // |Σ (q − zp)| <= 255 · n and TFLite's zp · n: n <= 2^23 keeps both below 2^31 − 128.
    ctx.range("input h*w", n as i64, 1, 1 << 23)?;
    let (multiplier, shift) = scalar(ctx, "multiplier", &m.multiplier, 30)?;
    // TFLite's Eval folds 1/n in; the folded shift lies in −31..=shift.
    let (folded, folded_shift) = fold_mean_multiplier(multiplier, shift, n as u64);
    let in_zp = i32::from(in_q.zero_point);
    let bound = n as i64 * i64::from((127 - in_zp).max(in_zp + 128));
    // The sum shifted left by the folded shift (plus the output zero point) must fit an i32.
    let k = i64::from(shift - folded_shift);
    ctx.range("multiplier", i64::from(shift), -31, max_left(bound).unwrap_or(0) + k)?;
    let out_zp = i32::from(m.output.zero_point);
    let params = MeanParams { input: d, in_zp, multiplier: folded, shift: folded_shift, out_zp };
    let shape = dims_to_shape(ctx, Dims { h: 1, w: 1, c: d.c })?;
    Ok(Prepared { kernel: Kernel::Mean(params), output: TensorSpec { shape, quant: m.output } })
}

fn softmax<'a>(ctx: &Ctx, s: &SoftmaxDef, d: Dims, shape: Shape) -> Result<Prepared<'a>, Error> {
    quant(ctx, &s.output)?;
    // TFLite's SoftmaxPrepare for int8: zero point −128, |scale − 1/256| <= 0.001 / 256 (f32).
    ctx.range("output.zero_point", s.output.zero_point.into(), -128, -128)?;
    let delta = (s.output.scale - 1.0 / 256.0).abs();
    if delta > 0.001f32 * 1.0 / 256.0 {
        return Err(ctx.err("output.scale", Problem::QuantMismatch));
    }
    ctx.range("input channels", d.c as i64, 1, MAX_DEPTH as i64)?;
    if !multiplier_ok(s.input_multiplier) {
        let (value, max) = (s.input_multiplier.into(), i32::MAX.into());
        return Err(ctx.err("input_multiplier", Problem::OutOfRange { value, min: 1 << 30, max }));
    }
    ctx.range("input_left_shift", s.input_left_shift.into(), 0, 31)?;
    // Differences kept (>= diff_min, and >= −255) times 2^left must fit an i32.
    let left = s.input_left_shift;
    let fits_any = 255i64 << left <= i64::from(i32::MAX);
    let min = if fits_any { i32::MIN.into() } else { -(i64::from(i32::MAX) >> left) };
    ctx.range("diff_min", s.diff_min.into(), min, 0)?;
    let params = SoftmaxParams {
        pixels: d.h * d.w,
        depth: d.c,
        input_multiplier: s.input_multiplier,
        input_left_shift: left,
        diff_min: s.diff_min,
    };
    Ok(Prepared { kernel: Kernel::Softmax(params), output: TensorSpec { shape, quant: s.output } })
}

fn logistic<'a>(ctx: &Ctx, l: &LogisticDef<'a>, shape: Shape) -> Result<Prepared<'a>, Error> {
    quant(ctx, &l.output)?;
    // TFLite's SigmoidPrepare for int8: output scale exactly 1/256 (any zero point).
    if l.output.scale.to_bits() != (1.0f32 / 256.0).to_bits() {
        return Err(ctx.err("output.scale", Problem::QuantMismatch));
    }
    ctx.len("table", l.table, 256)?;
    let table: &'a [u8; 256] = l.table.try_into().map_err(|_| ctx.err("table", Problem::TooLarge))?;
    // The logistic is non-decreasing and so is its rounded table; one that is not was not made
    // for this layer (or is indexed by q + 128 instead of the input byte).
    let at = |q: i32| i64::from(table[usize::from(q as i8 as u8)] as i8);
    for q in -127..=127 {
        ctx.range("table", at(q), at(q - 1), 127)?;
    }
    Ok(Prepared { kernel: Kernel::Logistic { table }, output: TensorSpec { shape, quant: l.output } })
}

fn avg_pool<'a>(ctx: &Ctx, a: &AvgPoolDef, d: Dims, in_q: Quant) -> Result<Prepared<'a>, Error> {
    // Every window has a tap inside the image (n >= 1), and |Σ q| <= 128 · 255 · 255 < 2^31.
    let geom = window(ctx, "window", &a.window, d.h, d.w)?;
    let out = stage(ctx, &a.output, a.activation)?;
    // TFLite's Prepare for int8: |s_in − s_out| <= 1e−6 (in float), zero points equal; the
    // kernel averages q itself, so no rescale exists.
    if a.output.zero_point != in_q.zero_point {
        return Err(ctx.err("output.zero_point", Problem::QuantMismatch));
    }
    if f64::from((in_q.scale - a.output.scale).abs()) > 1.0e-6 {
        return Err(ctx.err("output.scale", Problem::QuantMismatch));
    }
    let shape = dims_to_shape(ctx, Dims { h: geom.out_h, w: geom.out_w, c: d.c })?;
    let kernel = Kernel::AvgPool { input: d, geom, act_min: out.act_min, act_max: out.act_max };
    Ok(Prepared { kernel, output: TensorSpec { shape, quant: a.output } })
}
