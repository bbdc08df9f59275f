/** Drawing maps, images and loss curves on canvases. */

/** Grayscale (or a colour ramp) of one map, normalised to its own range. */
export function drawMap(canvas: HTMLCanvasElement, values: ArrayLike<number>, size: number, ramp: "gray" | "heat" = "heat"): void {
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(size, size);
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < size * size; i++) {
    low = Math.min(low, values[i]);
    high = Math.max(high, values[i]);
  }
  const span = high - low || 1;
  for (let i = 0; i < size * size; i++) {
    const v = (values[i] - low) / span;
    const [r, g, b] = ramp === "gray" ? [v, v, v] : [Math.min(1, 2 * v), Math.max(0, 2 * v - 1) ** 0.8, 0.15 * (1 - v)];
    image.data.set([255 * r, 255 * g, 255 * b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

/** An image given as normalised CHW floats (ImageNet mean/std), drawn back in RGB. */
export function drawImage(canvas: HTMLCanvasElement, chw: ArrayLike<number>, size: number): void {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(size, size);
  const plane = size * size;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) image.data[4 * i + c] = 255 * (chw[c * plane + i] * std[c] + mean[c]);
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

export interface Series {
  label: string;
  color: string;
  values: number[];
  dashed?: boolean;
}

/** Line chart of several series sharing one y-axis. */
export function drawCurves(canvas: HTMLCanvasElement, series: Series[]): void {
  const context = canvas.getContext("2d")!;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  if (all.length === 0) return;
  const high = Math.max(...all);
  const low = Math.min(0, ...all);
  const steps = Math.max(2, ...series.map((s) => s.values.length));
  const x = (i: number) => 30 + (i / (steps - 1)) * (width - 40);
  const y = (v: number) => height - 20 - ((v - low) / (high - low || 1)) * (height - 30);
  context.strokeStyle = "#999";
  context.strokeRect(30, 10, width - 40, height - 30);
  context.fillStyle = "#444";
  context.font = "11px sans-serif";
  context.fillText(high.toFixed(2), 0, 14);
  context.fillText(low.toFixed(2), 0, height - 20);
  series.forEach((s, k) => {
    context.strokeStyle = s.color;
    context.setLineDash(s.dashed ? [4, 3] : []);
    context.beginPath();
    s.values.forEach((v, i) => (i ? context.lineTo(x(i), y(v)) : context.moveTo(x(i), y(v))));
    context.stroke();
    context.fillStyle = s.color;
    context.fillText(s.label, 40 + 150 * (k % 3), height - 4 - 12 * Math.floor(k / 3) + (k >= 3 ? 0 : 0));
  });
  context.setLineDash([]);
}
