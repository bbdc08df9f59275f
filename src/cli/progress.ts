// What `harmonize train` shows while it runs: a one-line progress bar redrawn in place on a
// terminal, or one plain line per step when the output goes to a file or a pipe.

import type { EvalEvent, StepEvent } from "../run/events.ts";

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

function lossParts(e: StepEvent): string {
  const parts = `ce ${e.crossEntropy.toFixed(4)}`;
  return e.harmonization ? `${parts} harm ${e.harmonization.toFixed(4)}` : parts;
}

export class Progress {
  #pending: StepEvent[] = [];
  #started = performance.now();
  #firstStep: number | null = null;
  #barShown = false;

  /** @param members names of the run's members, in step order */
  constructor(
    private readonly total: number,
    private readonly members: string[],
    private readonly batchSize: () => number,
    private readonly tty: boolean,
    private readonly write: (text: string) => void,
    /** Terminal width: the bar is cut to it so that it never wraps (and stops redrawing in place). */
    private readonly columns = 120,
  ) {}

  step(event: StepEvent): void {
    this.#pending.push(event);
    if (event.member !== this.members[this.members.length - 1]) return;
    const events = this.#pending;
    this.#pending = [];
    this.#firstStep ??= event.step - 1;
    const done = event.step - this.#firstStep;
    const elapsed = (performance.now() - this.#started) / 1000;
    const rate = (done * this.batchSize()) / elapsed;
    const eta = duration(((this.total - event.step) * elapsed) / done);
    const losses = events.map((e) => `${e.member} ${lossParts(e)}`).join(" │ ");
    if (this.tty) {
      const width = 20;
      const filled = Math.round((width * event.step) / this.total);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      const text = `${event.step}/${this.total} ${bar} ${rate.toFixed(1)} img/s ETA ${eta} │ ${losses}`;
      this.write(`\r\x1b[K${[...text].slice(0, this.columns - 1).join("")}`);
      this.#barShown = true;
    } else {
      const detail = events.map((e) => `${e.member} loss ${e.total.toFixed(4)} (${lossParts(e)}, l2 ${e.weightL2.toFixed(1)})`).join("; ");
      this.write(`step ${event.step}/${this.total} epoch ${event.epoch} lr ${event.lr.toExponential(2)} ${detail}; ${rate.toFixed(1)} img/s, ETA ${eta}\n`);
    }
  }

  /** A line of its own (evaluation, checkpoint, warning), below the bar on a terminal. */
  line(text: string): void {
    if (this.#barShown) this.write("\r\x1b[K");
    this.#barShown = false;
    this.write(text + "\n");
  }

  eval(e: EvalEvent): void {
    this.line(
      `step ${e.step} ${e.member} validation: accuracy ${(100 * e.accuracy).toFixed(1)}% on ${e.images} images; alignment ` +
        `${e.alignmentScore.toFixed(3)} (ρ ${e.spearman.toFixed(3)}, dice ${e.dice.toFixed(3)}, iou ${e.iou.toFixed(3)}) on ${e.mapped} maps`,
    );
  }

  /** Ends the bar's line so that what follows starts on a fresh one. */
  finish(): void {
    if (this.#barShown) this.write("\n");
    this.#barShown = false;
  }
}
