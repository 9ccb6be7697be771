// nn-fold-pool keeps a pooling as a layer of its own, with a remark naming the layer, when the folded
// layer would not fit the target: a conv neuron reading more than max_fan_in inputs, or a neuron
// with more synapses than a core holds (synapse-bytes, as the pipeline passes its own option).
// RUN: spike-opt %s --split-input-file -p nn-fold-pool --remarks 2>&1 | filecheck %s
// RUN: spike-opt %s --split-input-file -p 'nn-fold-pool{synapse-bytes=16}' --remarks 2>&1 | filecheck %s --check-prefix=SMALL
// RUN: not spike-opt %s --split-input-file -p 'nn-fold-pool{target=spikecore-v9}' 2>&1 | filecheck %s --check-prefix=TARGET

// 460 channels, a 2x2 pool then a 3x3 conv: folded, each neuron would read 460 x 6 x 6 = 16,560
// inputs, over spikecore-v1's max_fan_in of 16,384 (unfolded: 460 x 3 x 3 = 4,140).
func.func @wide(%x: tensor<1x460x6x6xf32>) -> tensor<1x4x1x1xf32> {
  %w = arith.constant dense<1.0> : tensor<4x460x3x3xf32>
  %0 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] : tensor<1x460x6x6xf32> -> tensor<1x460x3x3xf32>
  %1 = nn.conv2d %0, %w layer "conv" : (tensor<1x460x3x3xf32>, tensor<4x460x3x3xf32>) -> tensor<1x4x1x1xf32>
  func.return %1 : tensor<1x4x1x1xf32>
}
// CHECK: remark: nn.conv2d "conv": the pooling before it is not folded: each neuron would read 16560 inputs, over the target's max_fan_in 16384
// CHECK: nn.pool2d avg
// SMALL: remark: nn.conv2d "conv": the pooling before it is not folded: each neuron would read 16560 inputs, over the target's max_fan_in 16384

// -----

// A dense layer over a 2x2-pooled 1x4x5 map: folded, each neuron reads all 20 inputs of the map (the
// column the pool drops with weight 0) instead of 4, which 16 bytes of synaptic memory cannot hold.
func.func @dense(%x: tensor<1x1x4x5xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %0 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] : tensor<1x1x4x5xf32> -> tensor<1x1x2x2xf32>
  %1 = nn.reshape %0 : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %2 = nn.dense %1, %w layer "fc" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %2 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func @dense
// CHECK-NOT:   nn.pool2d
// SMALL: remark: nn.dense "fc": the pooling before it is not folded: each neuron would read 20 inputs, over the target's synapse_bytes 16
// SMALL: nn.pool2d avg
// TARGET: nn-fold-pool: error: unknown target 'spikecore-v9'; known targets: spikecore-v1, spikecore-v1-seed
