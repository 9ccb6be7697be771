// Passes with nothing to do say so in a remark instead of exiting silently.
// RUN: spike-opt %s -p spikecore-place --remarks 2>&1 | filecheck %s --check-prefix=PLACE
// RUN: spike-opt %s -p lower-quant-to-spikecore --remarks 2>&1 | filecheck %s --check-prefix=LOWER

func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = nn.relu %x : tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}

// PLACE: remark: spikecore-place: nothing to place: the module has no spikecore.program
// PLACE: func.func @main
// LOWER: remark: lower-quant-to-spikecore: nothing to lower: the module has no codegen = "spikecore" function
// LOWER: func.func @main

// The same module, already partitioned or not, has nothing to quantize: said, and the calibration
// file is not looked for.
// RUN: spike-opt %s -p 'spikecore-quantize{calibration="no-such-file.npy"}' --remarks 2>&1 | filecheck %s --check-prefix=QUANTIZE
// QUANTIZE: remark: spikecore-quantize: nothing to quantize: the module has no codegen = "spikecore" function left to quantize
// QUANTIZE-NOT: nested
// QUANTIZE: func.func @main
