//! AVERAGE_POOL_2D through the importer against TFLite 2.14's reference kernels: each case of
//! infer-core's oracle fixtures (`infer-core/tests/fixtures/tflite_ops/avg_pool.txt`, written by
//! `scripts/tflite_op_fixtures.py`) is rebuilt here as a one-operator `.tflite` model with the
//! flatbuffer builder of the same generated schema (Pool2DOptions: filter, strides, padding,
//! fused activation), imported, and run: every output byte equals TFLite's. Models the engine
//! cannot reproduce are refused, naming the operator.

use flatbuffers::FlatBufferBuilder;
use infer_core::{Activation, LayerDef, Model};
use tflite_import::tflite::{
    finish_model_buffer, ActivationFunctionType, Buffer, BufferArgs, BuiltinOperator, BuiltinOptions,
    Model as TfModel, ModelArgs, Operator, OperatorArgs, OperatorCode, OperatorCodeArgs, Padding,
    Pool2DOptions, Pool2DOptionsArgs, QuantizationParameters, QuantizationParametersArgs, SubGraph,
    SubGraphArgs, Tensor, TensorArgs, TensorType,
};
use tflite_import::{import, ImportError};

const AVG_POOL: &str = include_str!("../../infer-core/tests/fixtures/tflite_ops/avg_pool.txt");

/// Hex int8 values; a piece `hh*count` is a run (pieces joined by '.').
fn values(text: &str) -> Vec<i8> {
    let mut out = Vec::new();
    for piece in text.split('.') {
        let (hex, count) =
            piece.split_once('*').map_or((piece, 1), |(h, n)| (h, n.parse().expect("run length")));
        let bytes: Vec<i8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex byte") as i8)
            .collect();
        for _ in 0..count {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// One AVERAGE_POOL_2D operator and its tensors.
struct Pool {
    input: [i32; 4],
    output: [i32; 4],
    filter: (i32, i32),
    strides: (i32, i32),
    padding: Padding,
    activation: ActivationFunctionType,
    quant_in: (f32, i64),
    quant_out: (f32, i64),
}

/// An int8 tensor quantized per tensor.
fn tensor<'a>(
    b: &mut FlatBufferBuilder<'a>,
    name: &str,
    shape: &[i32],
    (scale, zp): (f32, i64),
) -> flatbuffers::WIPOffset<Tensor<'a>> {
    let (scale, zero_point) = (b.create_vector(&[scale]), b.create_vector(&[zp]));
    let q = QuantizationParameters::create(
        b,
        &QuantizationParametersArgs {
            scale: Some(scale),
            zero_point: Some(zero_point),
            ..Default::default()
        },
    );
    let (shape, name) = (b.create_vector(shape), b.create_string(name));
    let args = TensorArgs {
        shape: Some(shape),
        type_: TensorType::INT8,
        name: Some(name),
        quantization: Some(q),
        ..Default::default()
    };
    Tensor::create(b, &args)
}

fn model(p: &Pool) -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let tensors = [tensor(&mut b, "x", &p.input, p.quant_in), tensor(&mut b, "y", &p.output, p.quant_out)];
    let tensors = b.create_vector(&tensors);
    let options = Pool2DOptions::create(
        &mut b,
        &Pool2DOptionsArgs {
            padding: p.padding,
            stride_w: p.strides.1,
            stride_h: p.strides.0,
            filter_width: p.filter.1,
            filter_height: p.filter.0,
            fused_activation_function: p.activation,
        },
    );
    let (inputs, outputs) = (b.create_vector(&[0]), b.create_vector(&[1]));
    let operator = Operator::create(
        &mut b,
        &OperatorArgs {
            opcode_index: 0,
            inputs: Some(inputs),
            outputs: Some(outputs),
            builtin_options_type: BuiltinOptions::Pool2DOptions,
            builtin_options: Some(options.as_union_value()),
            ..Default::default()
        },
    );
    let operators = b.create_vector(&[operator]);
    let (inputs, outputs) = (b.create_vector(&[0]), b.create_vector(&[1]));
    let subgraph = SubGraph::create(
        &mut b,
        &SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(operators),
            ..Default::default()
        },
    );
    let op = BuiltinOperator::AVERAGE_POOL_2D;
    let code = OperatorCode::create(
        &mut b,
        &OperatorCodeArgs {
            deprecated_builtin_code: op.0 as i8,
            builtin_code: op,
            version: 2,
            ..Default::default()
        },
    );
    let (codes, subgraphs) = (b.create_vector(&[code]), b.create_vector(&[subgraph]));
    let empty = Buffer::create(&mut b, &BufferArgs::default());
    let buffers = b.create_vector(&[empty]);
    let m = TfModel::create(
        &mut b,
        &ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    finish_model_buffer(&mut b, m);
    b.finished_data().to_vec()
}

/// The fixture cases as (operator, input, TFLite's output).
fn cases() -> Vec<(Pool, Vec<i8>, Vec<i8>)> {
    let lines = AVG_POOL.lines().filter(|l| !l.starts_with('#') && !l.is_empty());
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let n = |i: usize| -> i32 { f[i].parse().expect("integer field") };
            let padding = if f[7] == "SAME" { Padding::SAME } else { Padding::VALID };
            let activation = match f[8] {
                "NONE" => ActivationFunctionType::NONE,
                "RELU" => ActivationFunctionType::RELU,
                "RELU6" => ActivationFunctionType::RELU6,
                other => panic!("activation {other}"),
            };
            let scale = f32::from_bits(u32::from_str_radix(f[9], 16).expect("f32 bits"));
            let quant = (scale, i64::from(n(10)));
            let pool = Pool {
                input: [1, n(0), n(1), n(2)],
                output: [1, n(11), n(12), n(2)],
                filter: (n(3), n(4)),
                strides: (n(5), n(6)),
                padding,
                activation,
                quant_in: quant,
                quant_out: quant,
            };
            (pool, values(f[13]), values(f[14]))
        })
        .collect()
}

#[test]
fn imported_average_pools_equal_tflite() {
    let cases = cases();
    assert_eq!(cases.len(), 80);
    for (i, (pool, x, want)) in cases.iter().enumerate() {
        let imported = import(&model(pool), "avg_pool.tflite").unwrap_or_else(|e| panic!("case {i}: {e}"));
        let m = Model::from_bytes(&imported.blob).expect("loads");
        let layers: Vec<LayerDef<'_>> = m.layers().collect();
        assert!(matches!(layers[..], [LayerDef::AvgPool(_)]), "case {i}: {layers:?}");
        let mut arena = vec![0u8; m.arena_len()];
        let got: Vec<i8> = m.run(x, &mut arena).expect("runs").values().collect();
        assert_eq!(&got, want, "case {i}: {:?} {:?} {:?}", pool.input, pool.filter, pool.strides);
        let mut arena = vec![0u8; m.streamed_arena_len()];
        let streamed: Vec<i8> = m.run_streamed(x, &mut arena).expect("runs").values().collect();
        assert_eq!(&streamed, want, "streamed, case {i}");
    }
}

/// The activation, window and quantization the importer writes for one case.
#[test]
fn options_become_the_layer() {
    let (pool, _, _) = cases().swap_remove(6); // 9×5×1, 4×4 / 3×3 'SAME', RELU6 (two lines a model)
    assert_eq!((pool.input, pool.filter, pool.strides), ([1, 9, 5, 1], (4, 4), (3, 3)));
    let imported = import(&model(&pool), "avg_pool.tflite").expect("imports");
    let m = Model::from_bytes(&imported.blob).expect("loads");
    let Some(LayerDef::AvgPool(a)) = m.layers().next() else { panic!("not an average pool") };
    // 'SAME' over 9 rows with stride 3: out 3, total padding 2 · 3 + 4 − 9 = 1, none above (the
    // odd row goes below); 5 columns: out 2, total padding 3 + 4 − 5 = 2, 1 left.
    let w = a.window;
    assert_eq!((w.kernel_h, w.kernel_w, w.stride_h, w.stride_w), (4, 4, 3, 3));
    assert_eq!((w.pad_top, w.pad_left, w.out_h, w.out_w), (0, 1, 3, 2));
    assert_eq!(a.activation, Activation::Relu6);
    assert_eq!((a.output.scale, i64::from(a.output.zero_point)), pool.quant_out);
}

fn refused(pool: &Pool) -> String {
    let err = import(&model(pool), "avg_pool.tflite").err().expect("refused");
    assert!(matches!(err, ImportError::Op { index: 0, .. }), "{err}");
    err.to_string()
}

#[test]
fn unsupported_average_pools_are_refused_by_name() {
    let base = || cases().swap_remove(0).0;
    // Input and output quantized differently: the int8 kernel would not rescale.
    let msg = refused(&Pool { quant_out: (0.06, 3), ..base() });
    assert!(msg.starts_with("operator 0 (AVERAGE_POOL_2D): input and output quantization differ"), "{msg}");
    let msg = refused(&Pool { quant_out: (base().quant_in.0, 4), ..base() });
    assert!(msg.starts_with("operator 0 (AVERAGE_POOL_2D): input and output quantization differ"), "{msg}");
    // A fused activation infer-core has no clamp for.
    let msg = refused(&Pool { activation: ActivationFunctionType::TANH, ..base() });
    assert!(msg.starts_with("operator 0 (AVERAGE_POOL_2D): fused activation TANH"), "{msg}");
    let msg = refused(&Pool { strides: (0, 2), ..base() });
    assert!(msg.contains("all must be positive"), "{msg}");
    // 'VALID' with a kernel taller than the input: TFLite's output has no rows.
    let msg = refused(&Pool {
        input: [1, 3, 5, 2],
        filter: (4, 2),
        strides: (2, 2),
        padding: Padding::VALID,
        ..base()
    });
    assert!(msg.starts_with("operator 0 (AVERAGE_POOL_2D): window does not fit"), "{msg}");
    // An output shape that is not the window's.
    let msg = refused(&Pool { output: [1, 2, 2, 2], ..base() });
    assert!(msg.contains("output shape does not match the window"), "{msg}");
}
