/** float16 / bfloat16 conversions: edge cases, and PyTorch's own rounding of the round-trip fixtures. */
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from "../../src/io/half_float.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.ts";
import { assertEquals, readRepoFile, test } from "../harness.ts";

test("half float: exact values, limits, subnormals and ties to even", () => {
  const exact: [number, number][] = [[0, 0x0000], [-2, 0xc000], [1, 0x3c00], [65504, 0x7bff], [Infinity, 0x7c00], [2 ** -14, 0x0400], [2 ** -24, 0x0001]];
  for (const [value, bits] of exact) {
    assertEquals(floatToHalf(value), bits, `floatToHalf(${value})`);
    assertEquals(halfToFloat(bits), value, `halfToFloat(0x${bits.toString(16)})`);
  }
  const rounded: [number, number][] = [[65520, 0x7c00], [2 ** -25, 0x0000], [1.5 * 2 ** -24, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [-0, 0x8000]];
  for (const [value, bits] of rounded) assertEquals(floatToHalf(value), bits, `floatToHalf(${value})`);
  assertEquals(Number.isNaN(halfToFloat(floatToHalf(NaN))), true);
  assertEquals([floatToBfloat16(1), floatToBfloat16(-2), floatToBfloat16(1 + 2 ** -8), floatToBfloat16(1 + 3 * 2 ** -8)], [0x3f80, 0xc000, 0x3f80, 0x3f82]);
  assertEquals(bfloat16ToFloat(0x3f82), 1 + 2 ** -6);
});

test("half float: F16 and BF16 safetensors match PyTorch's .half() and .bfloat16() of the same weights", async () => {
  const dir = "test/fixtures/roundtrip";
  const f32 = decodeSafetensors(await readRepoFile(`${dir}/resnet_tiny.f32.safetensors`)).tensors;
  for (const dtype of ["F16", "BF16"] as const) {
    const torch = decodeSafetensors(await readRepoFile(`${dir}/resnet_tiny.${dtype.toLowerCase()}.safetensors`)).tensors;
    const ours = new Map([...f32].map(([name, t]) => [name, t.data instanceof Int32Array ? t : { ...t, stored: dtype }]));
    const again = decodeSafetensors(encodeSafetensors(ours)).tensors;
    for (const [name, t] of torch) {
      assertEquals(again.get(name)!.stored, t.stored, name);
      assertEquals([...again.get(name)!.data], [...t.data], `${dtype} ${name}`);
    }
  }
});
