// A 2-D sliding window (convolution, max pooling): kernel_h × kernel_w taps spaced `dilation`
// apart, moved by `stride`, over an input padded by pad_top / pad_left before its first row / column.
struct Window {
  kernel_h: u32, kernel_w: u32,
  stride_h: u32, stride_w: u32,
  dilation_h: u32, dilation_w: u32,
  pad_top: u32, pad_left: u32,
}
