/** The lab's line charts: lines on a canvas, the legend in HTML (it wraps, so entries never overlap). */

export interface Series {
  label: string;
  color: string;
  /** [x, y] points; x is the training step. */
  points: [number, number][];
  dashed?: boolean;
}

/** A line chart with its legend: the canvas draws the lines, the legend is a wrapping list beside it. */
export class Chart {
  readonly canvas: HTMLCanvasElement;
  readonly legend: HTMLUListElement;
  #width = 0;
  #legendText = "";

  /** Forgets the layout width (after a resize). */
  resized(): void {
    this.#width = 0;
  }

  /** `range`: a fixed y range, "tight" for the data's own, or (default) from 0 to the data's maximum. */
  constructor(parent: HTMLElement, readonly title: string, readonly range?: [number, number] | "tight") {
    const figure = document.createElement("figure");
    figure.className = "chart";
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", title);
    this.legend = document.createElement("ul");
    this.legend.className = "legend";
    figure.append(caption, this.canvas, this.legend);
    parent.appendChild(figure);
  }

  draw(series: Series[]): void {
    const ratio = globalThis.devicePixelRatio || 1;
    // The layout width is read once and kept: reading it on every draw would force a layout each step.
    this.#width ||= Math.max(200, this.canvas.clientWidth || 600);
    const width = this.#width;
    const height = 180;
    if (this.canvas.width !== width * ratio || this.canvas.height !== height * ratio) {
      this.canvas.width = width * ratio;
      this.canvas.height = height * ratio;
    }
    const context = this.canvas.getContext("2d")!;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    let [yMin, yMax, x1] = [Infinity, -Infinity, 1];
    for (const s of series) {
      for (const [x, y] of s.points) {
        x1 = Math.max(x1, x);
        if (!Number.isFinite(y)) continue;
        yMin = Math.min(yMin, y);
        yMax = Math.max(yMax, y);
      }
    }
    const [low, high] = Array.isArray(this.range)
      ? this.range
      : this.range === "tight" && yMin <= yMax
      ? [yMin, yMax + 1e-6]
      : [Math.min(0, yMin), Math.max(1e-6, yMax)];
    const x0 = 0;
    const left = 40;
    const plot = { x: left, y: 8, w: width - left - 8, h: height - 28 };
    const px = (x: number) => plot.x + ((x - x0) / (x1 - x0 || 1)) * plot.w;
    const py = (y: number) => plot.y + plot.h - ((Math.min(high, Math.max(low, y)) - low) / (high - low || 1)) * plot.h;
    context.strokeStyle = "#bbb";
    context.strokeRect(plot.x, plot.y, plot.w, plot.h);
    context.fillStyle = "#444";
    context.font = "11px system-ui, sans-serif";
    context.textAlign = "right";
    context.fillText(formatTick(high), left - 4, plot.y + 8);
    context.fillText(formatTick(low), left - 4, plot.y + plot.h);
    context.textAlign = "center";
    context.fillText(`step ${x1}`, plot.x + plot.w - 20, height - 6);
    context.fillText("0", plot.x, height - 6);
    context.lineWidth = 1.5;
    for (const s of series) {
      context.strokeStyle = s.color;
      context.setLineDash(s.dashed ? [5, 3] : []);
      context.beginPath();
      s.points.forEach(([x, y], i) => (i ? context.lineTo(px(x), py(y)) : context.moveTo(px(x), py(y))));
      context.stroke();
      if (s.points.length === 1) context.fillRect(px(s.points[0][0]) - 2, py(s.points[0][1]) - 2, 4, 4);
    }
    context.setLineDash([]);
    // The legend changes only when the series do: no DOM work (and no layout) on a plain redraw.
    const legend = series.map((s) => s.label);
    if (legend.join("\n") === this.#legendText) return;
    this.#legendText = legend.join("\n");
    this.legend.replaceChildren(...series.map((s, k) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = s.dashed ? "swatch dashed" : "swatch";
      swatch.style.borderColor = s.color;
      item.append(swatch, legend[k]);
      return item;
    }));
  }
}

function formatTick(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}
