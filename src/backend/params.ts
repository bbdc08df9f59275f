/** Packs a kernel's parameter block (binding 0) word by word, matching the WGSL struct order. */

/** One float's bits as a u32, shared by every Params (a block is built in one go, never concurrently). */
const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

export class Params {
  private readonly words: number[] = [];

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`kernel parameter ${value} does not fit in u32`);
    }
    this.words.push(value);
    return this;
  }

  f32(value: number): this {
    floatView[0] = value;
    this.words.push(bitsView[0]);
    return this;
  }

  /** An array<u32, 8> field: `values` padded with zeros. */
  dims(values: readonly number[]): this {
    if (values.length > 8) throw new Error(`tensors of rank ${values.length} exceed the kernels' limit of 8`);
    for (let i = 0; i < 8; i++) this.u32(values[i] ?? 0);
    return this;
  }

  build(): Uint32Array {
    return new Uint32Array(this.words);
  }
}
