// A CNN through the whole pipeline. By default nn-fold-pool folds the average pool into the dense
// layer reading it: one dense layer over the 2x4x4 map, each weight spread over its 2x2 window.
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/cnn_calibration.npy"}' | filecheck %s --check-prefix=FOLD
// With fold-pools=false the conv layer is a group over its 2x4x4 output map with a conv ACC
// (#spikecore.conv) and a bias ACC, the average pool a depthwise conv ACC of a ones kernel with the
// 1/4 in its FIRE's multiplier, the flatten is free (the dense layer reads the pool's spikes), and
// placement keeps whole channels on a core; -t spikecore-asm emits ISA v2 conv ACCs.
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/cnn_calibration.npy" fold-pools=false}' | filecheck %s
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/cnn_calibration.npy" fold-pools=false neurons-per-core=16}' | filecheck %s --check-prefix=SPLIT
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/cnn_calibration.npy" fold-pools=false}' -t spikecore-asm | filecheck %s --check-prefix=ASM

func.func @main(%x: tensor<1x1x6x6xf32>) -> tensor<1x2xf32> {
  %k = arith.constant dense<[[[[0.5, -0.25, 0.0], [0.25, 1.0, -0.5], [0.0, 0.5, 0.25]]], [[[-0.5, 0.25, 0.5], [1.0, 0.0, -0.25], [0.25, 0.5, -1.0]]]]> : tensor<2x1x3x3xf32>
  %b = arith.constant dense<[0.1, -0.1]> : tensor<2xf32>
  %w = arith.constant dense<[[0.25, -0.5, 0.5, 1.0, -0.25, 0.5, 0.75, -1.0], [1.0, 0.5, -0.5, 0.25, 0.5, -0.75, 0.25, 0.5]]> : tensor<2x8xf32>
  %0 = nn.conv2d %x, %k layer "c1" : (tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32>
  %1 = nn.bias_add %0, %b axis(1) : (tensor<1x2x4x4xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %2 = nn.relu %1 : tensor<1x2x4x4xf32>
  %3 = nn.pool2d avg %2 kernel [2, 2] strides [2, 2] layer "p1" : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  %4 = nn.batch_flatten %3 : tensor<1x2x2x2xf32> -> tensor<1x8xf32>
  %5 = nn.dense %4, %w layer "fc" : (tensor<1x8xf32>, tensor<2x8xf32>) -> tensor<1x2xf32>
  func.return %5 : tensor<1x2xf32>
}

// FOLD:      spikecore.synapses @w0 {{.*}} : tensor<2x9xi8>
// FOLD:      spikecore.synapses @w1 {{.*}} : tensor<2x32xi8>
// FOLD-NOT:  "p1"
// FOLD:      spikecore.group "c1"
// FOLD:      spikecore.group "fc" {{.*}} : !spikecore.group<2>
// FOLD-NEXT: spikecore.acc %{{.*}}, %{{.*}}, @w1 : !spikecore.group<2>, !spikecore.spikes<32>

// CHECK:      spikecore.synapses @w0 {{.*}} : tensor<2x9xi8>
// CHECK:      spikecore.synapses @w1 dense<1> : tensor<2x4xi8>
// CHECK:      %[[IN:.*]] = spikecore.input unit {{.*}} : !spikecore.spikes<36>
// CHECK:      %{{.*}} = spikecore.group "c1" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 32>] : !spikecore.group<32>
// CHECK-NEXT: spikecore.acc_conv %{{.*}}, %[[IN]], @w0 conv <in = 1x6x6, out = 2x4x4, kernel = 3x3, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1>
// CHECK-NEXT: spikecore.acc_bias
// CHECK-NEXT: spikecore.fire {{.*}} graded @m0 {{.*}} clamp[0, 127]
// CHECK:      spikecore.group "p1" {{.*}} : !spikecore.group<8>
// CHECK-NEXT: spikecore.acc_conv {{.*}} @w1 conv <in = 2x4x4, out = 2x2x2, kernel = 2x2, stride = 2x2, pad = 0x0, dilation = 1x1, groups = 2>
// CHECK-NEXT: spikecore.fire
// CHECK:      spikecore.group "fc" {{.*}} : !spikecore.group<2>
// CHECK-NEXT: spikecore.acc %{{.*}}, %{{.*}}, @w2 : !spikecore.group<2>, !spikecore.spikes<8>
// CHECK:      spikecore.output

// With 16 neurons per core the 2x4x4 map is one channel per core.
// SPLIT: spikecore.group "c1" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 16>, #spikecore.slice<core = 1, base = 0, count = 16>]

// ASM: ACC  c0[0:32], S0[0:2, 0:9], bus[0:36], conv, in=1x6x6, out=2x4x4[0:32], kernel=3x3
// ASM: ACC  c1[0:8], S1[0:2, 0:4], bus[36:68], conv, in=2x4x4, out=2x2x2[0:8], kernel=2x2, stride=[2,2], pad=[0,0], dilation=[1,1], groups=2
