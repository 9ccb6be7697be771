// --help lists spikeir's passes, dialects and targets; usage errors are argparse's; --version works.
// RUN: spike-opt --help | filecheck %s
// RUN: not spike-opt %s -t no-such-target 2>&1 | filecheck %s --check-prefix=USAGE
// RUN: not spike-opt %s -t llvm 2>&1 | filecheck %s --check-prefix=XDSL-TARGET
// RUN: spike-opt --version | filecheck %s --check-prefix=VERSION
// RUN: spike-opt %s --print-debuginfo | filecheck %s --check-prefix=LOC

func.func @main() {
  func.return
}

// CHECK: usage: spike-opt
// CHECK: --params FILE.npz
// CHECK: spikeir dialects: nn, quant, spikecore
// CHECK: spikeir passes: {{.*}}nn-fold-reshapes, {{.*}}nn-fuse-dense{{.*}}spikecore-pipeline, spikecore-place, spikecore-quantize
// CHECK: spikeir targets: spikecore-asm, spikecore-bin
// USAGE: spike-opt: error: argument -t/--target: invalid choice: 'no-such-target'
// xDSL's other targets print their own dialects, not spikeir's: spike-opt offers only these three
// XDSL-TARGET: invalid choice: 'llvm' (choose from mlir, spikecore-asm, spikecore-bin)
// VERSION: spike-opt (spikeir) built on xdsl version
// LOC: func.return loc("{{.*}}help.mlir":9:3)
