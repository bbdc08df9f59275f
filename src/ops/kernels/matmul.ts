/** Launcher for batched matmul with optional transposes and a broadcast batch. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";

export function matmulKernel(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const fail = (why: string) => {
    throw new Error(`matmul: ${why} (a ${shapeString(a.shape)}${transA ? "ᵀ" : ""}, b ${shapeString(b.shape)}${transB ? "ᵀ" : ""})`);
  };
  if (a.dtype !== "float32" || b.dtype !== "float32") fail("operands must be float32");
  if (a.rank < 2 || b.rank < 2) fail("operands need rank ≥ 2");
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) fail(`inner dimensions ${K} and ${K2} differ`);
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const countA = shapeSize(batchA);
  const countB = shapeSize(batchB);
  const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
  if (!sameBatch && countA !== 1 && countB !== 1) fail("batch dimensions must match or one side have a single matrix");
  const batchShape = countA >= countB && (sameBatch || countB === 1) ? batchA : batchB;
  const batch = shapeSize(batchShape);
  const out = engine.allocate("matmul", [...batchShape, M, N]);
  if (out.size === 0) return out;
  const params = new Params().u32(M).u32(N).u32(K)
    .u32(countA === 1 ? 0 : M * K).u32(countB === 1 ? 0 : K * N).build();
  const maxGroups = engine.backend.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxGroups) fail(`batch ${batch} exceeds ${maxGroups} workgroups`);
  engine.backend.dispatch({
    shader: "matmul",
    entry: engine.backend.matmulVariant === "shared" ? "matmul_shared" : "matmul_registers",
    constants: { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 },
    params,
    buffers: [a.buffer, b.buffer, out.buffer],
    workgroups: [Math.ceil(N / 64), Math.ceil(M / 64), batch],
  });
  return out;
}
