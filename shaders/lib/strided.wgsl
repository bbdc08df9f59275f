// Up to four operands read (or written) at strides over one output shape: binary, where and the
// strided copies of movement. strides[d] holds each operand's stride along axis d, one operand per
// lane (0 on broadcast axes); `offset` is added to lane 0 (a slice's start, concat's placement).
// The including kernel binds `params: Strided`.
// Overrides: RANK, the launcher's (collapsed) rank, so the axis loop has a constant bound;
// FLOAT_DIVISION (outputs below 2^24 elements): coordinates from each extent's float reciprocal,
// corrected to the exact quotient, since CPU adapters (llvmpipe) have no vector integer division
// and divide one lane at a time.
override RANK: u32 = 8u;
override FLOAT_DIVISION: bool = false;

struct Strided {
  size: u32,
  offset: u32,
  _pad0: u32,
  _pad1: u32,
  // extents and their reciprocals four to a vec4 (a uniform array's elements are 16-byte aligned)
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 8>,
  inverse_shape: array<vec4<f32>, 2>,
}

// (n / d, n % d); with FLOAT_DIVISION, n < 2^24 makes the float estimate off by at most one.
fn div_mod(n: u32, d: u32, inverse: f32) -> vec2<u32> {
  if (!FLOAT_DIVISION) { return vec2<u32>(n / d, n % d); }
  let divisor = i32(d);
  var q = i32(f32(n) * inverse);
  var r = i32(n) - q * divisor;
  let under = r < 0;
  q = select(q, q - 1, under);
  r = select(r, r + divisor, under);
  let over = r >= divisor;
  q = select(q, q + 1, over);
  r = select(r, r - divisor, over);
  return vec2<u32>(u32(q), u32(r));
}

// The offset of output element i (i < size) in each operand: one quotient and remainder per axis
// but the outermost (the launcher merges axes first).
fn strided_offsets(i: u32) -> vec4<u32> {
  var rest = i;
  var offsets = vec4<u32>(params.offset, 0u, 0u, 0u);
  for (var d = i32(RANK) - 1; d > 0; d--) {
    let split = div_mod(rest, params.shape[d / 4][d % 4], params.inverse_shape[d / 4][d % 4]);
    offsets += split.y * params.strides[d];
    rest = split.x;
  }
  if (RANK > 0u) {
    offsets += rest * params.strides[0];
  }
  return offsets;
}
