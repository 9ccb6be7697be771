// spike-opt reports bad input as `file:line:col: error: message` on stderr, exit status 1, no traceback.
// RUN: not spike-opt %s 2>&1 | filecheck %s
// RUN: not spike-opt %s 2>&1 | filecheck %s --check-prefix=NOTRACE
// RUN: not spike-opt %t.absent.mlir 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not spike-opt %s -p fuse-dens 2>&1 | filecheck %s --check-prefix=PASS
// RUN: not spike-opt %s -p 'fuse-dense{' 2>&1 | filecheck %s --check-prefix=SPEC

func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = nn.relu %x : tensor<1x4xf32>
  %1 = nn.relu %0 tensor<1x4xf32>
  func.return %1 : tensor<1x4xf32>
}

// CHECK:      errors.mlir:10:19: error: Expected ':'
// CHECK-NEXT:   %1 = nn.relu %0 tensor<1x4xf32>
// CHECK-NEXT:                   ^
// NOTRACE-NOT: Traceback
// MISSING:    .absent.mlir: error: cannot read input file: No such file or directory
// PASS:       spike-opt: error: unknown pass 'fuse-dens' in -p; did you mean 'nn-fuse-dense'?
// SPEC:       spike-opt: error: invalid pass pipeline -p 'fuse-dense{' at column 12

// An unquoted path in a pass option: the error says how to quote it (numbers are not paths).
// RUN: not spike-opt %s -p 'spikecore-pipeline{percentile=99.5 calibration=data/x.npy}' 2>&1 | filecheck %s --check-prefix=QUOTE
// RUN: not spike-opt %s -p 'spikecore-pipeline{percentile=99.5 calibration=' 2>&1 | filecheck %s --check-prefix=NOQUOTE
// QUOTE:      spike-opt: error: invalid pass pipeline -p 'spikecore-pipeline{percentile=99.5 calibration=data/x.npy}' at column {{[0-9]+}}: {{.*}} (quote paths: calibration="data/x.npy")
// NOQUOTE:    spike-opt: error: invalid pass pipeline
// NOQUOTE-NOT: quote paths
