// spikecore-pipeline from the float nn graph to placed programs, on more shapes of network.
// Inputs/pipeline_calibration.npy: 32 samples of 1x1x2x2.
// RUN: spike-opt %s --split-input-file -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" per-channel=true}' | filecheck %s
// Run twice, the second run finds programs already placed and changes nothing:
// RUN: spike-opt %s --split-input-file -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" per-channel=true},spikecore-pipeline' | filecheck %s
// Rate mode on one-neuron cores: every hidden layer split over its cores and spiking.
// RUN: spike-opt %s --split-input-file -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy" mode=rate neurons-per-core=1 reset=zero init-half=false}' | filecheck %s --check-prefix=RATE

// Three layers, per channel: the two hidden layers carry one multiplier per neuron; the output layer
// is the program's output. A reshape chain in front folds into the one flatten the host runs.
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %w0 = arith.constant dense<[[0.5, -0.25, 1.0, 0.0], [0.2, 0.4, -0.6, 0.8], [-1.0, 0.5, 0.25, -0.125]]> : tensor<3x4xf32>
  %b0 = arith.constant dense<[0.1, -0.2, 0.05]> : tensor<3xf32>
  %w1 = arith.constant dense<[[1.0, -1.0, 0.5], [-0.5, 0.25, 1.0], [0.1, 0.2, 0.3]]> : tensor<3x3xf32>
  %w2 = arith.constant dense<[[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]]> : tensor<2x3xf32>
  %r = nn.reshape %x : tensor<1x1x2x2xf32> -> tensor<1x2x2xf32>
  %0 = nn.batch_flatten %r : tensor<1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w0 layer "l0" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.bias_add %1, %b0 : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %3 = nn.relu %2 : tensor<1x3xf32>
  %4 = nn.dense %3, %w1 layer "l1" : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
  %5 = nn.relu %4 : tensor<1x3xf32>
  %6 = nn.dense %5, %w2 layer "l2" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %6 : tensor<1x2xf32>
}
// CHECK-LABEL: spikecore.program @spikecore_0
// CHECK:         spikecore.params @m0 dense<[{{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}]> : tensor<3xi32>
// CHECK:         spikecore.params @m1 dense<[{{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}]> : tensor<3xi32>
// CHECK:         spikecore.group "l0" unit [{{.*}}, {{.*}}, {{.*}}] placed [#spikecore.slice<core = 0, base = 0, count = 3>]
// CHECK:         spikecore.fire %{{.*}} graded @m0 {{.*}} clamp[0, 127]
// CHECK:         spikecore.group "l1" unit [{{.*}}, {{.*}}, {{.*}}] placed [#spikecore.slice<core = 1, base = 0, count = 3>]
// CHECK:         spikecore.fire %{{.*}} graded @m1 {{.*}} clamp[0, 127]
// CHECK:         %[[OUT:.*]] = spikecore.group "l2" unit [{{[^,]*}}] placed [#spikecore.slice<core = 2, base = 0, count = 2>]
// CHECK:         spikecore.output %[[OUT]]
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    nn.batch_flatten %x {{.*}} : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
// CHECK-NEXT:    spikecore.launch @spikecore_0
// CHECK-NEXT:    func.return
// RATE-LABEL:  spikecore.program @spikecore_0 target <"spikecore-v1", cores = 128, neurons_per_core = 1,
// RATE:          spikecore.group "l0" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 1>, #spikecore.slice<core = 1, base = 0, count = 1>, #spikecore.slice<core = 2, base = 0, count = 1>]
// RATE:          spikecore.fire %{{.*}} binary @t0 reset zero unit
// RATE:          spikecore.group "l1" {{.*}} placed [#spikecore.slice<core = 3, {{.*}}, #spikecore.slice<core = 5, base = 0, count = 1>]
// RATE:          spikecore.fire %{{.*}} binary @t1 reset zero unit
// RATE:          spikecore.group "l2" {{.*}} placed [#spikecore.slice<core = 6, base = 0, count = 1>, #spikecore.slice<core = 7, base = 0, count = 1>]

// -----

// One constant shared by two layers, and the last layer's ReLU: the region takes one copy of the
// weight, and the last ReLU runs on the host after the launch.
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.5]]> : tensor<4x4xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "a" : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %2 = nn.relu %1 : tensor<1x4xf32>
  %3 = nn.dense %2, %w layer "b" : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %4 = nn.relu %3 : tensor<1x4xf32>
  func.return %4 : tensor<1x4xf32>
}
// CHECK-LABEL: spikecore.program @spikecore_0
// CHECK:         spikecore.synapses @w0 {{.*}} : tensor<4x4xi8>
// CHECK:         spikecore.synapses @w1 {{.*}} : tensor<4x4xi8>
// CHECK:         spikecore.group "b"
// CHECK-LABEL: func.func @main
// CHECK-NOT:     arith.constant
// CHECK:         %[[L:.*]] = spikecore.launch @spikecore_0
// CHECK-NEXT:    nn.relu %[[L]] {host_reason = "a region's output is its last layer's accumulator, before the ReLU"}

// -----

// Nothing SpikeCore can run (the weight is an argument): no program, every op labelled on the host,
// and no calibration is spent.
func.func @main(%x: tensor<1x1x2x2xf32>, %w: tensor<2x4xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "unbound" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
// CHECK-NOT:   spikecore.program
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    nn.batch_flatten
// CHECK-NEXT:    nn.fused_dense %0, %w layer "unbound" {host_reason = "its weights are not constants: bind the parameters before compiling"}
