/**
 * The lab's settings in the URL hash (`#seed=3&model=vit&lambdaH=2…`), so that a link reproduces a
 * run. Unknown keys and malformed values are reported, never silently dropped into a different run.
 */
import type { LabSettings, ModelChoice } from "./protocol.ts";

const MODELS: readonly ModelChoice[] = ["resnet", "vit"];

interface NumberRule {
  min: number;
  max: number;
  integer: boolean;
}

const NUMBER_RULES: Record<Exclude<keyof LabSettings, "model">, NumberRule> = {
  seed: { min: 0, max: 2 ** 31 - 1, integer: true },
  records: { min: 16, max: 100000, integer: true },
  lambdaH: { min: 0, max: 1000, integer: false },
  lr: { min: 0, max: 10, integer: false },
  batchSize: { min: 1, max: 256, integer: true },
  steps: { min: 1, max: 100000, integer: true },
  evalEvery: { min: 1, max: 100000, integer: true },
  autosaveEvery: { min: 1, max: 100000, integer: true },
};

/** Checks one number against its rule; the message names the key and the accepted range. */
export function checkSetting(key: keyof typeof NUMBER_RULES, value: number): string | null {
  const rule = NUMBER_RULES[key];
  if (!Number.isFinite(value) || value < rule.min || value > rule.max || (rule.integer && !Number.isInteger(value))) {
    return `${key} must be ${rule.integer ? "an integer" : "a number"} from ${rule.min} to ${rule.max}, got ${value}`;
  }
  return null;
}

/** Settings from a hash over the defaults, plus one message per key that was not understood. */
export function parseHash(hash: string, defaults: LabSettings): { settings: LabSettings; problems: string[] } {
  const settings = { ...defaults };
  const problems: string[] = [];
  for (const [key, raw] of new URLSearchParams(hash.replace(/^#/, ""))) {
    if (key === "model") {
      if (MODELS.includes(raw as ModelChoice)) settings.model = raw as ModelChoice;
      else problems.push(`model must be one of ${MODELS.join(", ")}, got ${JSON.stringify(raw)}`);
    } else if (key in NUMBER_RULES) {
      const name = key as keyof typeof NUMBER_RULES;
      const value = raw.trim() === "" ? NaN : Number(raw);
      const problem = checkSetting(name, value);
      if (problem) problems.push(problem);
      else settings[name] = value;
    } else {
      problems.push(`unknown setting ${JSON.stringify(key)} in the link`);
    }
  }
  return { settings, problems };
}

/** The hash for these settings, listing only what differs from the defaults (short links). */
export function formatHash(settings: LabSettings, defaults: LabSettings): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(defaults) as (keyof LabSettings)[]) {
    if (settings[key] !== defaults[key]) params.set(key, String(settings[key]));
  }
  const text = params.toString();
  return text ? `#${text}` : "";
}
