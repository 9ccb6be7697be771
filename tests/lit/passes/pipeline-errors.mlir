// What stops spikecore-pipeline, as a user sees it from spike-opt: one `place: error: message` line
// on stderr, exit status 1, no traceback. Each case is its own input; the first error ends a run.
// RUN: not spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" mode=spiking}' 2>&1 | filecheck %s --check-prefix=MODE
// RUN: not spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" method=median}' 2>&1 | filecheck %s --check-prefix=METHOD
// RUN: not spike-opt %s -p 'spikecore-pipeline' 2>&1 | filecheck %s --check-prefix=NOCALIB
// RUN: not spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/missing.npy"}' 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" cores=1}' 2>&1 | filecheck %s --check-prefix=FIT
// RUN: not spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" mode=rate}' 2>&1 | filecheck %s --check-prefix=SIGNED
// RUN: not spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" mode=rate leak-shift=40}' 2>&1 | filecheck %s --check-prefix=LEAK
// The pass failures are diagnostics too:
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" cores=1}' --verify-diagnostics | filecheck %s --check-prefix=FIT-DIAG
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" mode=rate}' --verify-diagnostics | filecheck %s --check-prefix=SIGNED-DIAG

// Two layers, the hidden one without a ReLU: fine in graded mode, not in rate mode (binary spikes
// cannot carry its negative values); two layers cannot share one core. Errors about the region are
// placed at its first layer, where the program came from.
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf32>
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0], [0.5, -0.5, 0.5]]> : tensor<2x3xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "signed" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.dense %1, %w1 layer "out" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %2 : tensor<1x2xf32>
}

// MODE:    spike-opt: error: invalid pass pipeline {{.*}}spiking
// METHOD:  spike-opt: error: invalid pass pipeline {{.*}}median
// NOCALIB: error: {{.*}}no calibration inputs given
// MISSING: missing.npy: {{(error: )?}}cannot read calibration data
// FIT:     pipeline-errors.mlir:21:3: error: @spikecore_0: the network needs 2 cores
// SIGNED:  pipeline-errors.mlir:21:3: error: @spikecore_0: layer "signed": rate mode needs ReLU layers
// LEAK:    error: {{.*}}leak{{.*}}1..31, got 40
// FIT-DIAG: @spikecore_0: the network needs 2 cores
// SIGNED-DIAG: @spikecore_0: layer "signed": rate mode needs ReLU layers
// MODE-NOT: Traceback
