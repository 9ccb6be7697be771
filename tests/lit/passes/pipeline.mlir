// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy"}' 2>/dev/null | filecheck %s
// RUN: spike-opt %s -p 'spikecore-pipeline{mode=rate calibration="%S/Inputs/pipeline_calibration.npy" neurons-per-core=2 leak-shift=3}' 2>/dev/null | filecheck %s --check-prefix=RATE
// An unknown mode is refused in one line (pipeline-errors.mlir has the other errors):
// RUN: not spike-opt %s -p 'spikecore-pipeline{mode=spiking calibration="%S/Inputs/pipeline_calibration.npy"}' 2>&1 | filecheck %s --check-prefix=MODE

// The float graph of a 4-3-2 MLP with a softmax, from nn to placed SpikeCore programs.

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
  %6 = nn.softmax %5 axis(-1) : tensor<1x2xf32>
  func.return %6 : tensor<1x2xf32>
}

// CHECK:      spikecore.program @spikecore_0 target <"spikecore-v1", cores = 128, neurons_per_core = 1024,
// CHECK-NEXT:   spikecore.synapses @w0 {{.*}} : tensor<3x4xi8>
// CHECK-NEXT:   spikecore.params @b0 {{.*}} : tensor<3xi32>
// CHECK-NEXT:   spikecore.params @m0 {{.*}} : tensor<3xi32>
// CHECK-NEXT:   spikecore.synapses @w1 {{.*}} : tensor<2x3xi8>
// CHECK-NEXT:   spikecore.params @b1 {{.*}} : tensor<2xi32>
// CHECK-NEXT:   %[[IN:.*]] = spikecore.input unit {{.*}} : !spikecore.spikes<4>
// CHECK-NEXT:   %[[G0:.*]] = spikecore.group "fc1" unit [{{.*}}] placed [#spikecore.slice<core = 0, base = 0, count = 3>] : !spikecore.group<3>
// CHECK:        spikecore.fire %[[G0]] graded @m0 shift {{[0-9]+}} clamp[0, 127]
// CHECK:        %[[G1:.*]] = spikecore.group "fc2" unit [{{.*}}] placed [#spikecore.slice<core = 1, base = 0, count = 2>] : !spikecore.group<2>
// CHECK:        spikecore.output %[[G1]]
// CHECK-NEXT:   spikecore.halt
// CHECK:      func.func @main
// CHECK:        nn.batch_flatten
// CHECK-NEXT:   spikecore.launch @spikecore_0
// CHECK-NEXT:   nn.softmax

// RATE:      target <"spikecore-v1", cores = 128, neurons_per_core = 2,
// RATE:      spikecore.params @t0
// RATE:      "fc1" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 1>]
// RATE:      spikecore.leak %{{.*}} shift 3
// RATE-NEXT: spikecore.fire %{{.*}} binary @t0 reset subtract init_half
// RATE:      "fc2" {{.*}} placed [#spikecore.slice<core = 2, base = 0, count = 2>]

// MODE: error: {{.*}}spiking
// MODE-NOT: Traceback

// The resource options reach place: one neuron per core on a 5-core chip.
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" neurons-per-core=1 cores=5}' 2>/dev/null | filecheck %s --check-prefix=CORES
// CORES: target <"spikecore-v1", cores = 5, neurons_per_core = 1,
// CORES: spikecore.group "fc2" {{.*}} placed [#spikecore.slice<core = 3, base = 0, count = 1>, #spikecore.slice<core = 4, base = 0, count = 1>]
