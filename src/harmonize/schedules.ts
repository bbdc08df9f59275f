/** Learning-rate schedules: functions from the step index (0-based) to a learning rate. */

export type Schedule = (step: number) => number;

export interface WarmupStepOptions {
  base: number;
  /** Linear ramp from base/warmupSteps to base over the first warmupSteps steps. */
  warmupSteps: number;
  /** Steps at which the rate is multiplied by `gamma` (the reference: epochs 30, 60, 80). */
  milestones: number[];
  gamma?: number;
}

/** The reference's schedule: linear warm-up, then ×gamma at each milestone. */
export function warmupStepSchedule({ base, warmupSteps, milestones, gamma = 0.1 }: WarmupStepOptions): Schedule {
  return (step) => {
    if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
    return base * gamma ** milestones.filter((m) => step >= m).length;
  };
}

export interface CosineOptions {
  base: number;
  totalSteps: number;
  warmupSteps?: number;
  minimum?: number;
}

/** Linear warm-up, then half a cosine from base down to `minimum` at totalSteps. */
export function cosineSchedule({ base, totalSteps, warmupSteps = 0, minimum = 0 }: CosineOptions): Schedule {
  return (step) => {
    if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minimum + (base - minimum) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
