// spike-run reports IR it cannot run as one line, `file:line:col: error: message` at the op (or the
// program or function) at fault, with exit status 1 and no traceback. Without --symbol and without
// @main, it runs the module's only spikecore.program (here the unplaced one).
// RUN: not spike-run %s --symbol drops_batch --input %S/../../../examples/tiny_input.npy 2>&1 | filecheck %s --check-prefix=RESHAPE
// RUN: not spike-run %s --symbol unsupported --input %S/../../../examples/tiny_input.npy 2>&1 | filecheck %s --check-prefix=UNKNOWN-OP
// RUN: not spike-run %s --symbol unplaced --input %S/../../../examples/tiny_input.npy --batch-from-file 2>&1 | filecheck %s --check-prefix=UNPLACED
// RUN: not spike-run %s --symbol launch_unplaced --input %S/../../../examples/tiny_input.npy 2>&1 | filecheck %s --check-prefix=UNPLACED
// RUN: not spike-run %s --symbol nope --input %S/../../../examples/tiny_input.npy 2>&1 | filecheck %s --check-prefix=SYMBOL
// RUN: not spike-run %s --input %S/../../../examples/tiny_input.npy --batch-from-file 2>&1 | filecheck %s --check-prefix=UNPLACED
// RUN: not spike-run %s --symbol wide --input %S/../../../examples/tiny_input.npy 2>&1 | filecheck %s --check-prefix=SHAPE
// RUN: not spike-run %s --symbol drops_batch --input %S/../../../examples/tiny_input.npy 2>&1 | filecheck %s --check-prefix=NOTRACE

func.func @drops_batch(%x: tensor<1x1x2x2xf32>) -> tensor<4xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.reshape %0 : tensor<1x4xf32> -> tensor<4xf32>
  func.return %1 : tensor<4xf32>
}

func.func @unsupported(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %0 = nn.relu %x : tensor<1x1x2x2xf32>
  %1 = arith.addf %0, %0 : tensor<1x1x2x2xf32>
  func.return %1 : tensor<1x1x2x2xf32>
}

spikecore.program @unplaced target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[32, 64, 95, 127], [16, 16, 16, 16]]> : tensor<2x4xi8>
  %0 = spikecore.input unit 0.0078125 : !spikecore.spikes<4>
  %1 = spikecore.group "fc1" unit [0.00025 : f64] : !spikecore.group<2>
  spikecore.acc %1, %0, @w0 : !spikecore.group<2>, !spikecore.spikes<4>
  spikecore.output %1 : !spikecore.group<2>
  spikecore.halt
}

func.func @launch_unplaced(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = spikecore.launch @unplaced(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}

func.func @wide(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  func.return %x : tensor<1x8xf32>
}

// RESHAPE:     spike-run-errors.mlir:15:3: error: nn.reshape: cannot reshape [1, 4] -> [4] for a batch of 3: the result type drops the batch axis; run this function with batch 1
// RESHAPE-NOT: {{.}}
// UNKNOWN-OP:  spike-run-errors.mlir:21:3: error: the interpreter cannot evaluate 'arith.addf' (it evaluates the nn and quant dialects, arith.constant, func.call, func.return and spikecore.launch)
// UNPLACED:    spike-run-errors.mlir:25:1: error: @unplaced: group "fc1" is not placed: run the spikecore-place pass first
// SYMBOL:      spike-run-errors.mlir: error: no func.func or spikecore.program @nope (runnable: @drops_batch, @unsupported, @unplaced, @launch_unplaced, @wide)
// SHAPE:       tiny_input.npy: error: the input has shape [3, 1, 2, 2], but the function expects Bx8 (type tensor<1x8xf32>)
// NOTRACE-NOT: Traceback
