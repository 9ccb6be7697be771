// The quant level and the chip agree bit for bit: @main_quant evaluates the quantized region with the
// integer semantics of docs/quantization.md (IR interpreter), @main_chip launches the placed program
// lowered from it on the hardware model (graded mode); both print the same dequantized outputs.
// RUN: spike-run %s --symbol main_quant --input %S/../../../examples/tiny_input.npy | filecheck %s
// RUN: spike-run %s --symbol main_chip --input %S/../../../examples/tiny_input.npy | filecheck %s --check-prefixes=CHECK,CHIP
// RUN: spike-run %s --symbol main_quant --input %S/../../../examples/tiny_input.npy --json | filecheck %s --check-prefix=JSON

func.func private @region(%0: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %x_q = quant.quantize %0 : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.007852046508488692>>
  %w_q = quant.constant dense<[[32, 64, 95, 127], [16, 16, 16, 16], [-32, 0, 32, 0]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32, 0.031496062992125984>>
  %b_q = quant.constant dense<[404, 809, 1213]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32, 0.00024730855144846275>>
  %acc = quant.dense %x_q, %w_q, %b_q layer "fc1" : (tensor<1x4x!quant.uniform<i8:f32, 0.007852046508488692>>, tensor<3x4x!quant.uniform<i8:f32, 0.031496062992125984>>, tensor<3x!quant.uniform<i32:f32, 0.00024730855144846275>>) -> tensor<1x3x!quant.uniform<i32:f32, 0.00024730855144846275>>
  %y_q = quant.requantize %acc multiplier array<i32: 2004412171> shift 39 : tensor<1x3x!quant.uniform<i32:f32, 0.00024730855144846275>> -> tensor<1x3x!quant.uniform<i8:f32, 0.06783001817117526>>
  %y_r = quant.relu %y_q : tensor<1x3x!quant.uniform<i8:f32, 0.06783001817117526>>
  %w_q_1 = quant.constant dense<[[42, 85, 127], [21, -21, 21]]> : tensor<2x3xi8> -> tensor<2x3x!quant.uniform<i8:f32, 0.023622047244094488>>
  %b_q_1 = quant.constant dense<[62, -125]> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 0.0016022838938072896>>
  %acc_1 = quant.dense %y_r, %w_q_1, %b_q_1 layer "fc2" : (tensor<1x3x!quant.uniform<i8:f32, 0.06783001817117526>>, tensor<2x3x!quant.uniform<i8:f32, 0.023622047244094488>>, tensor<2x!quant.uniform<i32:f32, 0.0016022838938072896>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.0016022838938072896>>
  %1 = quant.dequantize %acc_1 : tensor<1x2x!quant.uniform<i32:f32, 0.0016022838938072896>> -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}

func.func @main_quant(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = func.call @region(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}

spikecore.program @chip target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[32, 64, 95, 127], [16, 16, 16, 16], [-32, 0, 32, 0]]> : tensor<3x4xi8>
  spikecore.params @b0 dense<[404, 809, 1213]> : tensor<3xi32>
  spikecore.params @m0 dense<2004412171> : tensor<3xi32>
  spikecore.synapses @w1 dense<[[42, 85, 127], [21, -21, 21]]> : tensor<2x3xi8>
  spikecore.params @b1 dense<[62, -125]> : tensor<2xi32>
  %0 = spikecore.input unit 0.0078520465084886918 : !spikecore.spikes<4>
  %1 = spikecore.group "fc1" unit [0.00024730855144846275 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 3>] : !spikecore.group<3>
  spikecore.acc %1, %0, @w0 : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.acc_bias %1, @b0 : !spikecore.group<3>
  %2 = spikecore.fire %1 "graded" @m0 shift 39 clamp[0, 127] unit 0.06783001817117526 : !spikecore.group<3> -> !spikecore.spikes<3>
  %3 = spikecore.group "fc2" unit [0.0016022838938072896 : f64] placed [#spikecore.slice<core = 1, base = 0, count = 2>] : !spikecore.group<2>
  spikecore.acc %3, %2, @w1 : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.acc_bias %3, @b1 : !spikecore.group<2>
  spikecore.output %3 : !spikecore.group<2>
  spikecore.halt
}

func.func @main_chip(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = spikecore.launch @chip(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}

// CHECK:      sample 0: argmax 0
// CHECK-NEXT:   result [9.759511 2.35696 ]
// CHECK-NEXT: sample 1: argmax 0
// CHECK-NEXT:   result [8.279001 1.684   ]
// CHECK-NEXT: sample 2: argmax 0
// CHECK-NEXT:   result [6.795286 1.246577]
// CHIP-NEXT:  statistics of spikecore.launch @chip on spikecore-v1

// JSON: "symbol": "main_quant"
// JSON-SAME: "ops": {"nn.batch_flatten": 1, "func.call": 1, "quant.quantize": 1, "quant.constant": 4, "quant.dense": 2, "quant.requantize": 1, "quant.relu": 1, "quant.dequantize": 1, "func.return": 2}, "launches": []
