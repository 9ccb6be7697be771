// RUN: not spike-opt %s -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy"}' 2>&1 | filecheck %s

// A weight that is still a function argument cannot be quantized: the error names the layer.
// CHECK: quantize-unbound-weight.mlir:7:3: error: fc: the weight of nn.fused_dense is a function argument, not a constant: bind the parameters before quantizing

func.func private @spikecore_0(%arg0: tensor<1x4xf32>, %w: tensor<2x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %y = nn.fused_dense %arg0, %w layer "fc" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>, %w: tensor<2x4xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = func.call @spikecore_0(%0, %w) : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
