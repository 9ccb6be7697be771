// A model inside a nested builtin.module is not compiled: each pass with nothing to do says so, and
// says why, instead of exiting silently (quantize even before it looks for its calibration file).
// RUN: spike-opt %s -p partition-for-spikecore --remarks 2>&1 | filecheck %s --check-prefix=PARTITION
// RUN: spike-opt %s -p 'spikecore-quantize{calibration="no-such-file.npy"}' --remarks 2>&1 | filecheck %s --check-prefix=QUANTIZE
// RUN: spike-opt %s -p lower-quant-to-spikecore,spikecore-place --remarks 2>&1 | filecheck %s --check-prefix=LATER
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="no-such-file.npy"}' --remarks 2>&1 | filecheck %s --check-prefix=PIPELINE

// (a file holding one builtin.module is that module: the model here is one level further in)
builtin.module {
  builtin.module {
    func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
      %w = arith.constant dense<1.0> : tensor<2x4xf32>
      %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
      %1 = nn.relu %0 : tensor<1x2xf32>
      func.return %1 : tensor<1x2xf32>
    }
  }
}

// PARTITION: remark: partition-for-spikecore: nothing to partition: the module has no host function; the functions of the 1 nested builtin.module(s) are not compiled (spikeir compiles the top-level module's @main: give an inner module as its own input)
// PARTITION: nn.dense
// QUANTIZE: remark: spikecore-quantize: nothing to quantize: the module has no codegen = "spikecore" function left to quantize; the functions of the 1 nested
// LATER: remark: lower-quant-to-spikecore: nothing to lower: the module has no codegen = "spikecore" function; the functions of the 1 nested
// LATER: remark: spikecore-place: nothing to place: the module has no spikecore.program; the functions of the 1 nested
// PIPELINE: remark: partition-for-spikecore: nothing to partition
// PIPELINE: remark: spikecore-quantize: nothing to quantize
// PIPELINE: remark: lower-quant-to-spikecore: nothing to lower
// PIPELINE: remark: spikecore-place: nothing to place
