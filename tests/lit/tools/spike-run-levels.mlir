// spike-run executes IR at every level: this nn graph as written (IR interpreter, numpy), the same
// graph after spikecore-pipeline (host ops in numpy, the spikecore.launch on the hardware model),
// and the placed spikecore.program alone (--symbol), exactly as its assembly runs. xDSL's runner
// with spikeir's interpreter functions (python -m spikeir.ir.xdsl_run) runs it too.
// RUN: spike-run %s --input %S/../../../examples/tiny_input.npy | filecheck %s --check-prefix=NN
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/../../../examples/tiny_calibration.npy"}' -o %t.mlir
// RUN: spike-run %t.mlir --input %S/../../../examples/tiny_input.npy -T 4 | filecheck %s --check-prefix=PLACED
// RUN: spike-run %t.mlir --symbol spikecore_0 --input %S/../../../examples/tiny_input.npy --batch-from-file | filecheck %s --check-prefix=PROGRAM
// RUN: python -m spikeir.ir.xdsl_run %s --args "dense<[[[[0.0, 0.5], [1.0, 0.25]]]]> : tensor<1x1x2x2xf32>" --verbose | filecheck %s --check-prefix=XDSL

func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf32>
  %b = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0], [0.5, -0.5, 0.5]]> : tensor<2x3xf32>
  %b1 = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "fc1" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.bias_add %1, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %3 = nn.relu %2 : tensor<1x3xf32>
  %4 = nn.dense %3, %w1 layer "fc2" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  %5 = nn.bias_add %4, %b1 : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  func.return %5 : tensor<1x2xf32>
}

// NN:      spike-run-levels.mlir: @main; 3 samples x 1 timestep
// NN-NEXT: evaluated: arith.constant x4, nn.batch_flatten x1, nn.dense x2, nn.bias_add x2, nn.relu x1, func.return x1
// NN-NEXT: sample 0: argmax 0
// NN-NEXT:   result [
// NN:      sample 2: argmax 0
// NN-NOT:  statistics

// PLACED:      @main; 3 samples x 4 timesteps
// PLACED-NEXT: evaluated: nn.batch_flatten x1, spikecore.launch x1, func.return x1
// PLACED-NEXT: sample 0: argmax 0
// PLACED:      sample 2: argmax 0
// PLACED-NEXT:   result [
// PLACED-NEXT: statistics of spikecore.launch @spikecore_0 on spikecore-v1 (sums over 3 samples; energy is an estimate from the target's energy table):
// PLACED-NEXT:   input_events
// PLACED-NEXT:   synaptic_ops           216

// PROGRAM:      : target spikecore-v1, 6 instructions; 3 samples x 1 timestep
// PROGRAM-NEXT: sample 0: argmax 0
// PROGRAM-NEXT:   V      [6091 1471]
// PROGRAM-NEXT:   logits [9.759511 2.35696 ]  (V * scale / T)

// XDSL: result: {{\[\[}}11.25 {{ *}}2.46249{{[0-9]*}}]]
