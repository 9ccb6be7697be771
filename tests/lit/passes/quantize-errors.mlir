// RUN: not spike-opt %s -p quantize 2>&1 | filecheck %s --check-prefix=NOCALIB
// RUN: not spike-opt %s -p 'quantize{calibration="%S/Inputs/quantize_calibration.npy" method=mse}' 2>&1 | filecheck %s --check-prefix=METHOD
// RUN: not spike-opt %s -p 'quantize{calibration="%S/Inputs/missing.npy"}' 2>&1 | filecheck %s --check-prefix=MISSING

// NOCALIB: quantize: error: no calibration inputs given: use quantize{calibration="inputs.npy"} (a .npy of @main inputs)
// METHOD: quantize: error: unknown calibration method 'mse' (expected one of: max, percentile)
// MISSING: {{.*}}Inputs/missing.npy: error: cannot read calibration data

func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w layer "fc" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
