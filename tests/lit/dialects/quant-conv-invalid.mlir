// The verifiers of the quant conv ops name the broken scale rule.
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @conv_scale(%x: tensor<1x1x4x4x!quant.uniform<i8:f32, 0.5>>, %w: tensor<2x1x3x3x!quant.uniform<i8:f32, 0.1>>, %b: tensor<2x!quant.uniform<i32:f32, 0.05>>) -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.1>> {
  %0 = quant.conv2d %x, %w, %b : (tensor<1x1x4x4x!quant.uniform<i8:f32, 0.5>>, tensor<2x1x3x3x!quant.uniform<i8:f32, 0.1>>, tensor<2x!quant.uniform<i32:f32, 0.05>>) -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.1>>
  func.return %0 : tensor<1x2x2x2x!quant.uniform<i32:f32, 0.1>>
}
// CHECK: 'quant.conv2d' result scale must be input scale x weight scale (0.05), got 0.1

// -----

func.func @conv_shape(%x: tensor<1x1x4x4x!quant.uniform<i8:f32, 0.5>>, %w: tensor<2x1x3x3x!quant.uniform<i8:f32, 0.1>>, %b: tensor<2x!quant.uniform<i32:f32, 0.05>>) -> tensor<1x2x4x4x!quant.uniform<i32:f32, 0.05>> {
  %0 = quant.conv2d %x, %w, %b : (tensor<1x1x4x4x!quant.uniform<i8:f32, 0.5>>, tensor<2x1x3x3x!quant.uniform<i8:f32, 0.1>>, tensor<2x!quant.uniform<i32:f32, 0.05>>) -> tensor<1x2x4x4x!quant.uniform<i32:f32, 0.05>>
  func.return %0 : tensor<1x2x4x4x!quant.uniform<i32:f32, 0.05>>
}
// CHECK: 'quant.conv2d' result must have shape [1, 2, 2, 2], got [1, 2, 4, 4]

// -----

func.func @avg_scale(%x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>> {
  %0 = quant.pool2d avg %x kernel [2, 2] strides [2, 2] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>>
  func.return %0 : tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>>
}
// CHECK: 'quant.pool2d' avg result scale must be 0.125 (the input scale / window), got 0.5

// -----

func.func @max_pool(%x: tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>> {
  %0 = quant.pool2d max %x kernel [2, 2] strides [2, 2] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>>
  func.return %0 : tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>>
}
// CHECK: 'quant.pool2d' cannot take a maximum (SpikeCore accumulates sums): use average or sum pooling

// -----

func.func @add_scale(%x: tensor<1x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x4x!quant.uniform<i32:f32, 0.25>> {
  %0 = quant.add %x, %x : tensor<1x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x4x!quant.uniform<i32:f32, 0.25>>
  func.return %0 : tensor<1x4x!quant.uniform<i32:f32, 0.25>>
}
// CHECK: 'quant.add' result scale must be the inputs' 0.5, got 0.25

// -----

func.func @reshape_count(%x: tensor<1x2x2x2x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x6x!quant.uniform<i8:f32, 0.5>> {
  %0 = quant.reshape %x : tensor<1x2x2x2x!quant.uniform<i8:f32, 0.5>> -> tensor<1x6x!quant.uniform<i8:f32, 0.5>>
  func.return %0 : tensor<1x6x!quant.uniform<i8:f32, 0.5>>
}
// CHECK: 'quant.reshape' cannot change the element count: [1, 2, 2, 2] -> [1, 6]

// -----

func.func @requant_channels(%x: tensor<1x2x4x4x!quant.uniform<i32:f32:1, {0.05, 0.1}>>) -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> {
  %0 = quant.requantize %x multiplier array<i32: 1, 2, 3> shift 3 : tensor<1x2x4x4x!quant.uniform<i32:f32:1, {0.05, 0.1}>> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>>
  func.return %0 : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>>
}
// CHECK: 'quant.requantize' needs 1 or 2 multipliers, got 3
