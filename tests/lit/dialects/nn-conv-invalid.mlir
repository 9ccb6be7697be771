// The verifiers of the convolutional nn ops name the bad shape, stride or channel count.
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.conv2d %x, %w : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.conv2d' input has 3 channels but the weight [4, 2, 3, 3] expects 2 (2 per group x 1 groups)

// -----

func.func @conv_result(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %0 = nn.conv2d %x, %w strides [2, 2] : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x8x8xf32>
  func.return %0 : tensor<1x4x8x8xf32>
}
// CHECK: 'nn.conv2d' result must have shape [1, 4, 3, 3], got [1, 4, 8, 8]

// -----

func.func @conv_stride(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.conv2d %x, %w strides [0, 1] : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.conv2d' strides must be two integers >= 1 ([h, w]), got [0, 1]

// -----

func.func @conv_padding_rank(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.conv2d %x, %w padding [1, 1, 1, 1] : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.conv2d' padding must be two integers >= 0 ([h, w]), got [1, 1, 1, 1]

// -----

func.func @conv_groups(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32> {
  %0 = nn.conv2d %x, %w groups 4 : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return %0 : tensor<1x6x6x6xf32>
}
// CHECK: 'nn.conv2d' groups 4 must divide the input channels 4 and the output channels 6

// -----

func.func @conv_kernel(%x: tensor<1x2x4x4xf32>, %w: tensor<4x2x5x5xf32>) -> tensor<1x4x1x1xf32> {
  %0 = nn.conv2d %x, %w : (tensor<1x2x4x4xf32>, tensor<4x2x5x5xf32>) -> tensor<1x4x1x1xf32>
  func.return %0 : tensor<1x4x1x1xf32>
}
// CHECK: 'nn.conv2d' kernel 5x5 (dilation [1, 1]) does not fit the 4x4 input padded by [0, 0]

// -----

func.func @conv_rank(%x: tensor<1x32xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.conv2d %x, %w : (tensor<1x32xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.conv2d' expects a 4-D NCHW input, got shape [1, 32]

// -----

func.func @fused_conv_bias(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.fused_conv2d %x, %w, %b activation relu : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>, tensor<3xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.fused_conv2d' bias must have shape [4], got [3]

// -----

func.func @bias_axis(%x: tensor<1x4x6x6xf32>, %b: tensor<6xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.bias_add %x, %b axis(1) : (tensor<1x4x6x6xf32>, tensor<6xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.bias_add' bias must have shape [4] to match the input's axis 1, got [6]

// -----

func.func @bias_axis_range(%x: tensor<1x4x6x6xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %0 = nn.bias_add %x, %b axis(4) : (tensor<1x4x6x6xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  func.return %0 : tensor<1x4x6x6xf32>
}
// CHECK: 'nn.bias_add' axis 4 is out of range for a rank-4 input

// -----

func.func @pool_result(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x3x3xf32> {
  %0 = nn.pool2d sum %x kernel [2, 2] strides [2, 2] : tensor<1x4x8x8xf32> -> tensor<1x4x3x3xf32>
  func.return %0 : tensor<1x4x3x3xf32>
}
// CHECK: 'nn.pool2d' result must have shape [1, 4, 4, 4], got [1, 4, 3, 3]

// -----

func.func @pool_padding(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x5x5xf32> {
  %0 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] padding [2, 2] : tensor<1x4x8x8xf32> -> tensor<1x4x5x5xf32>
  func.return %0 : tensor<1x4x5x5xf32>
}
// CHECK: 'nn.pool2d' padding [2, 2] must be at most half the kernel [2, 2]

// -----

func.func @pool_kernel(%x: tensor<1x4x2x2xf32>) -> tensor<1x4x1x1xf32> {
  %0 = nn.pool2d max %x kernel [3, 3] strides [1, 1] : tensor<1x4x2x2xf32> -> tensor<1x4x1x1xf32>
  func.return %0 : tensor<1x4x1x1xf32>
}
// CHECK: 'nn.pool2d' kernel 3x3 does not fit the 2x2 input

// -----

func.func @add_types(%x: tensor<1x4x2x2xf32>, %y: tensor<1x4x2x3xf32>) -> tensor<1x4x2x2xf32> {
  %0 = "nn.add"(%x, %y) : (tensor<1x4x2x2xf32>, tensor<1x4x2x3xf32>) -> tensor<1x4x2x2xf32>
  func.return %0 : tensor<1x4x2x2xf32>
}
// CHECK: attribute tensor<1x4x2x2xf32> expected from variable 'T', but got tensor<1x4x2x3xf32>

// -----

func.func @concat_shape(%x: tensor<1x4x2x2xf32>, %y: tensor<1x4x2x3xf32>) -> tensor<1x8x2x2xf32> {
  %0 = nn.concat %x, %y axis(1) : (tensor<1x4x2x2xf32>, tensor<1x4x2x3xf32>) -> tensor<1x8x2x2xf32>
  func.return %0 : tensor<1x8x2x2xf32>
}
// CHECK: 'nn.concat' input 1 has shape [1, 4, 2, 3], which differs from the result [1, 8, 2, 2] on an axis other than 1

// -----

func.func @concat_sum(%x: tensor<1x4x2x2xf32>) -> tensor<1x9x2x2xf32> {
  %0 = nn.concat %x, %x axis(1) : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x9x2x2xf32>
  func.return %0 : tensor<1x9x2x2xf32>
}
// CHECK: 'nn.concat' inputs add up to 8 along axis 1, the result has 9

// -----

func.func @concat_axis(%x: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %0 = nn.concat %x axis(4) : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  func.return %0 : tensor<1x4x2x2xf32>
}
// CHECK: 'nn.concat' axis 4 is out of range for rank 4 (0..3)

// -----

func.func @bn_channels(%x: tensor<1x4x2x2xf32>, %v: tensor<4xf32>, %g: tensor<3xf32>) -> tensor<1x4x2x2xf32> {
  %0 = nn.batch_norm %x, %g, %v, %v, %v epsilon(1.0e-05) : (tensor<1x4x2x2xf32>, tensor<3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32>
  func.return %0 : tensor<1x4x2x2xf32>
}
// CHECK: 'nn.batch_norm' gamma must have shape [4] (one per channel), got [3]

// -----

func.func @bn_epsilon(%x: tensor<1x4xf32>, %v: tensor<4xf32>) -> tensor<1x4xf32> {
  %0 = nn.batch_norm %x, %v, %v, %v, %v epsilon(-1.0) : (tensor<1x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
// CHECK: 'nn.batch_norm' epsilon must be >= 0, got -1.0

// -----

func.func @bn_rank(%x: tensor<1x4x2xf32>, %v: tensor<4xf32>) -> tensor<1x4x2xf32> {
  %0 = nn.batch_norm %x, %v, %v, %v, %v epsilon(1.0e-05) : (tensor<1x4x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x2xf32>
  func.return %0 : tensor<1x4x2xf32>
}
// CHECK: 'nn.batch_norm' expects a [B, C] or [B, C, H, W] input, got [1, 4, 2]
