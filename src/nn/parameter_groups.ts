/**
 * Weight-decay parameter groups: every parameter is decayed except those a module lists in its
 * `noWeightDecay()` (normalisation layers, patch embeddings, ViT's class token and position
 * embedding, as timm and the harmonization loss's L_w term leave them out).
 */
import type { Module } from "./module.ts";
import type { Parameter } from "./parameter.ts";

export interface WeightDecayGroups {
  decay: [string, Parameter][];
  noDecay: [string, Parameter][];
}

export function weightDecayGroups(model: Module): WeightDecayGroups {
  const groups: WeightDecayGroups = { decay: [], noDecay: [] };
  const visit = (module: Module, prefix: string) => {
    const exempt = new Set(module.noWeightDecay());
    for (const [name, parameter] of module.ownParameters()) {
      (exempt.has(name) ? groups.noDecay : groups.decay).push([prefix + name, parameter]);
    }
    for (const [name, child] of module.namedChildren()) visit(child, `${prefix}${name}.`);
  };
  visit(model, "");
  return groups;
}
