//! A model with an operator infer-core does not run is refused with one error naming the
//! operator and its index (a one-operator TANH model, written here with the flatbuffer builder
//! of the same generated schema).

use flatbuffers::FlatBufferBuilder;
use tflite_import::tflite::{
    finish_model_buffer, Buffer, BufferArgs, BuiltinOperator, Model, ModelArgs, Operator, OperatorArgs, OperatorCode,
    OperatorCodeArgs, QuantizationParameters, QuantizationParametersArgs, SubGraph, SubGraphArgs, Tensor, TensorArgs,
    TensorType,
};
use tflite_import::{import, ImportError};

/// An int8 [1, 4] tensor quantized with scale 0.05.
fn tensor<'a>(b: &mut FlatBufferBuilder<'a>, name: &str) -> flatbuffers::WIPOffset<Tensor<'a>> {
    let (scale, zero_point) = (b.create_vector(&[0.05f32]), b.create_vector(&[0i64]));
    let q = QuantizationParameters::create(
        b,
        &QuantizationParametersArgs { scale: Some(scale), zero_point: Some(zero_point), ..Default::default() },
    );
    let (shape, name) = (b.create_vector(&[1, 4]), b.create_string(name));
    let args = TensorArgs { shape: Some(shape), type_: TensorType::INT8, name: Some(name), quantization: Some(q), ..Default::default() };
    Tensor::create(b, &args)
}

/// int8 [1, 4] → `op` → int8 [1, 4].
fn one_op_model(op: BuiltinOperator) -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let tensors = [tensor(&mut b, "x"), tensor(&mut b, "y")];
    let tensors = b.create_vector(&tensors);
    let (inputs, outputs) = (b.create_vector(&[0]), b.create_vector(&[1]));
    let operator = Operator::create(&mut b, &OperatorArgs { opcode_index: 0, inputs: Some(inputs), outputs: Some(outputs), ..Default::default() });
    let operators = b.create_vector(&[operator]);
    let (inputs, outputs) = (b.create_vector(&[0]), b.create_vector(&[1]));
    let subgraph = SubGraph::create(
        &mut b,
        &SubGraphArgs { tensors: Some(tensors), inputs: Some(inputs), outputs: Some(outputs), operators: Some(operators), ..Default::default() },
    );
    let code = OperatorCode::create(&mut b, &OperatorCodeArgs { deprecated_builtin_code: op.0 as i8, builtin_code: op, version: 1, ..Default::default() });
    let (codes, subgraphs) = (b.create_vector(&[code]), b.create_vector(&[subgraph]));
    let empty = Buffer::create(&mut b, &BufferArgs::default());
    let buffers = b.create_vector(&[empty]);
    let model = Model::create(
        &mut b,
        &ModelArgs { version: 3, operator_codes: Some(codes), subgraphs: Some(subgraphs), buffers: Some(buffers), ..Default::default() },
    );
    finish_model_buffer(&mut b, model);
    b.finished_data().to_vec()
}

#[test]
fn an_unsupported_operator_is_named_with_its_index() {
    let err = import(&one_op_model(BuiltinOperator::TANH), "tanh.tflite").err().expect("refused");
    assert!(matches!(err, ImportError::Op { index: 0, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("operator 0 (TANH): not supported by infer-core"), "{msg}");
}

#[test]
fn a_model_that_converts_to_no_layer_is_refused_by_the_engine() {
    // The same builder with RESHAPE of [1, 4] to itself: an empty chain, identity in and out.
    let imported = import(&one_op_model(BuiltinOperator::RESHAPE), "reshape.tflite");
    // infer-core needs at least one layer, so the empty chain is refused by the engine, clearly.
    let err = imported.err().expect("an empty model");
    assert!(matches!(err, ImportError::Engine(_)), "{err}");
}
