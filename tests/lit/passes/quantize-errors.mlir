// User errors of spikecore-quantize are pass diagnostics (--verify-diagnostics sees them) and, from
// the CLI, one `place: error: message` line.
// RUN: not spike-opt %s --split-input-file -p spikecore-quantize 2>&1 | filecheck %s --check-prefix=NOCALIB
// RUN: not spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy" method=mse}' 2>&1 | filecheck %s --check-prefix=METHOD
// RUN: not spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/missing.npy"}' 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy" method=percentile percentile=0}' --verify-diagnostics | filecheck %s --check-prefix=PERCENTILE
// RUN: spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/missing.npy"}' --verify-diagnostics | filecheck %s --check-prefix=MISSING
// RUN: spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy"}' --verify-diagnostics | filecheck %s

// NOCALIB: spikecore-quantize: error: no calibration inputs given: use spikecore-quantize{calibration="inputs.npy"} (a .npy of @main inputs)
// The method is checked while the pipeline is parsed:
// METHOD: spike-opt: error: invalid pass pipeline -p '{{.*}}method=mse}': {{.*}}'mse'{{.*}}'max', 'percentile'
// MISSING: {{.*}}Inputs/missing.npy: {{(error: )?}}cannot read calibration data
// PERCENTILE: spikecore-quantize: percentile must be in (0, 100], got 0.0

// A one-layer region, calibrated: the only case here that quantizes.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w layer "fc" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %f = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %0 = func.call @spikecore_0(%f) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK: quant.dense

// -----

// A ReLU inside a region that is not an add's: the region is not what partition-for-spikecore outlines.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> attributes {codegen = "spikecore"} {
  %r = nn.relu %arg0 : tensor<1x4xf32>
  func.return %r : tensor<1x4xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x4xf32> {
  %f = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %0 = func.call @spikecore_0(%f) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
// CHECK: nn.relu in @spikecore_0: a ReLU in a region must follow an nn.add (a layer's ReLU is its activation)

// -----

// The region's last layer keeps its accumulator: its ReLU belongs on the host.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w activation relu layer "last" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %f = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %0 = func.call @spikecore_0(%f) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK: last: a region's last layer outputs its raw accumulator and cannot apply 'relu' (partition-for-spikecore moves that ReLU to the host)

// -----

// A NaN weight has no int8 value. (As a hex blob: xDSL 0.74 prints a NaN element as 0x7fc00000 but
// reads that back as the integer 2143289344.)
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<"0x0000803F0000C07F00000000000000000000000000000000000000000000803F"> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w layer "nan" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %f = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %0 = func.call @spikecore_0(%f) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK: nan: {{.*}}NaN

// -----

// The calibration inputs (8 x 1x2x2) do not fit @main's input.
func.func private @spikecore_0(%arg0: tensor<1x3xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x3xf32>
  %y = nn.fused_dense %arg0, %w layer "fc" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x3xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK: calibration: calibration data has shape [8, 1, 2, 2], but @main's input tensor<1x3xf32> needs Nx3

// -----

// A region @main never calls cannot be calibrated.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w layer "fc" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  func.return %x : tensor<1x1x2x2xf32>
}
// CHECK: @spikecore_0: @spikecore_0 is never called from @main, so it cannot be calibrated

// -----

// Calibration runs @main: a module without one cannot be calibrated.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w layer "fc" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
// CHECK: spikecore-quantize: calibration runs @main, and the module has none
