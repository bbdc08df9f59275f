/** "Where would you look?": the surface a student paints an importance map on. */
import { stamp } from "./painted_map.ts";

/**
 * A canvas that keeps a [size·size] map under the pointer. Pointer events cover mouse, pen and
 * touch; the arrow keys move a cursor and Space/Enter paints at it.
 */
export class PaintSurface {
  map: Float32Array;
  radius = 2.5;
  #cursor: [number, number];
  #painting = false;
  #background: ImageData | null = null;

  constructor(readonly canvas: HTMLCanvasElement, readonly size: number, private readonly onChange: () => void) {
    this.map = new Float32Array(size * size);
    this.#cursor = [size / 2, size / 2];
    canvas.width = canvas.height = size * 8;
    canvas.tabIndex = 0;
    canvas.style.touchAction = "none";
    canvas.addEventListener("pointerdown", (e) => {
      this.#painting = true;
      canvas.setPointerCapture(e.pointerId);
      this.#paintAt(e);
    });
    canvas.addEventListener("pointermove", (e) => this.#painting && this.#paintAt(e));
    const stop = () => {
      if (!this.#painting) return;
      this.#painting = false;
      this.onChange();
    };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("keydown", (e) => this.#key(e));
  }

  /** Shows a new image (RGB bytes [size, size, 3]) and clears the map. */
  setImage(rgb: ArrayLike<number>): void {
    const image = new ImageData(this.size, this.size);
    for (let i = 0; i < this.size * this.size; i++) image.data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
    this.#background = image;
    this.clear();
  }

  clear(): void {
    this.map.fill(0);
    this.draw();
  }

  draw(): void {
    const context = this.canvas.getContext("2d")!;
    const scale = this.canvas.width / this.size;
    context.imageSmoothingEnabled = false;
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.#background) {
      const tile = new OffscreenCanvas(this.size, this.size);
      tile.getContext("2d")!.putImageData(this.#background, 0, 0);
      context.drawImage(tile, 0, 0, this.canvas.width, this.canvas.height);
    }
    context.fillStyle = "rgb(255, 200, 0)";
    for (let i = 0; i < this.map.length; i++) {
      if (this.map[i] <= 0) continue;
      context.globalAlpha = 0.75 * this.map[i];
      context.fillRect((i % this.size) * scale, Math.floor(i / this.size) * scale, scale, scale);
    }
    context.globalAlpha = 1;
    if (document.activeElement === this.canvas) {
      const [x, y] = this.#cursor;
      context.strokeStyle = "#000";
      context.beginPath();
      context.arc(x * scale, y * scale, this.radius * scale, 0, 2 * Math.PI);
      context.stroke();
    }
  }

  #paintAt(event: PointerEvent): void {
    const box = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * this.size;
    const y = ((event.clientY - box.top) / box.height) * this.size;
    this.#cursor = [x, y];
    stamp(this.map, this.size, x, y, this.radius);
    this.draw();
  }

  #key(event: KeyboardEvent): void {
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const move = moves[event.key];
    if (move) {
      const [x, y] = this.#cursor;
      this.#cursor = [Math.min(this.size, Math.max(0, x + move[0])), Math.min(this.size, Math.max(0, y + move[1]))];
    } else if (event.key === " " || event.key === "Enter") {
      stamp(this.map, this.size, this.#cursor[0], this.#cursor[1], this.radius);
      this.onChange();
    } else return;
    event.preventDefault();
    this.draw();
  }
}
