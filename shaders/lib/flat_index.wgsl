// The flat index of a thread in a grid of 256-thread workgroups that the launcher folds into 2-D
// past the per-dimension limit (grid1d in src/backend/backend.ts).
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 256u + lid;
}
