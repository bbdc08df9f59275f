/** Loading the PyTorch float64 golden fixtures (test/golden/*.py → test/fixtures/*.json). */
import { readRepoFile } from "../harness.ts";

export interface GoldenTensor {
  shape: number[];
  data: number[];
}

export async function loadGolden<T>(name: string): Promise<{ cases: T[] }> {
  return JSON.parse(new TextDecoder().decode(await readRepoFile(`test/fixtures/${name}`)));
}
