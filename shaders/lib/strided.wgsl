// Up to four operands read (or written) at strides over one output shape: binary, where and the
// strided copies of movement. strides[d] holds each operand's stride along axis d, one operand per
// lane (0 on broadcast axes); `offset` is added to lane 0 (a slice's start, concat's placement).
// The including kernel binds `params: Strided`.
struct Strided {
  size: u32,
  rank: u32,
  offset: u32,
  value: u32,
  shape: array<u32, 8>,
  strides: array<vec4<u32>, 8>,
}

// The offset of output element i (i < size) in each operand: one integer div/mod per axis but the
// outermost, since CPU adapters divide one lane at a time (the launcher merges axes first).
fn strided_offsets(i: u32) -> vec4<u32> {
  var rest = i;
  var offsets = vec4<u32>(params.offset, 0u, 0u, 0u);
  for (var d = i32(params.rank) - 1; d > 0; d--) {
    let extent = params.shape[d];
    offsets += (rest % extent) * params.strides[d];
    rest = rest / extent;
  }
  if (params.rank > 0u) {
    offsets += rest * params.strides[0];
  }
  return offsets;
}
