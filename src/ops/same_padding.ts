/**
 * TensorFlow's SAME padding, the one rule behind conv2d's "SAME", the blur pyramid and the CPU
 * heatmap blur: the output has ⌈size/stride⌉ positions and the total padding is split with the
 * smaller half before. `extent` is the window's reach, (taps − 1)·dilation + 1.
 */
export function tfSamePadding(size: number, extent: number, stride: number): { before: number; after: number; outSize: number } {
  const outSize = Math.ceil(size / stride);
  const total = Math.max((outSize - 1) * stride + extent - size, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, outSize };
}
