// --help lists spikeir's passes, dialects and targets; usage errors are argparse's; --version works.
// RUN: spike-opt --help | filecheck %s
// RUN: not spike-opt %s -t no-such-target 2>&1 | filecheck %s --check-prefix=USAGE
// RUN: spike-opt --version | filecheck %s --check-prefix=VERSION
// RUN: spike-opt %s --print-debuginfo | filecheck %s --check-prefix=LOC

func.func @main() {
  func.return
}

// CHECK: usage: spike-opt
// CHECK: --params FILE.npz
// CHECK: spikeir dialects: nn, quant, spikecore
// CHECK: spikeir passes: {{.*}}nn-fold-reshapes, nn-fuse-dense{{.*}}spikecore-pipeline, spikecore-place, spikecore-quantize
// CHECK: spikeir targets: spikecore-asm, spikecore-bin
// USAGE: spike-opt: error: argument -t/--target: invalid choice: 'no-such-target'
// VERSION: spike-opt (spikeir) built on xdsl version
// LOC: func.return loc("{{.*}}help.mlir":8:3)
