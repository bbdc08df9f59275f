// Worker side of DecodePool: decodes and preprocesses samples off the main thread.

import { jpegDecoder } from "./jpeg.ts";
import { processSample, type SampleJob } from "./process_sample.ts";

const decoder = jpegDecoder();
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<{ id: number; job: SampleJob }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = async (event) => {
  const { id, job } = event.data;
  try {
    const result = await processSample(job, await decoder);
    scope.postMessage({ id, result }, [result.image.buffer as ArrayBuffer, result.heatmap.buffer as ArrayBuffer]);
  } catch (e) {
    scope.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
};
