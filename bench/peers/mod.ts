/** The frameworks a benchmark can compare: Harmonize first, then the peers chosen by name. */
import type { BackendOptions } from "../../src/mod.ts";
import { harmonizePeer } from "./harmonize.ts";
import { jaxjs } from "./jaxjs.ts";
import type { Peer } from "./peer.ts";
import { tfjs } from "./tfjs.ts";

export type { ConvOptions, HostTensor, MatmulOptions, Peer, Workload } from "./peer.ts";

export const PEERS: Record<string, Peer> = { [tfjs.name]: tfjs, [jaxjs.name]: jaxjs };

/** Opens Harmonize and the named peers (each on its own device of the default adapter). */
export async function openPeers(names: string[], options: BackendOptions = {}): Promise<{ ours: Peer; peers: Peer[] }> {
  const peers = names.map((name) => {
    const peer = PEERS[name];
    if (!peer) throw new Error(`unknown peer "${name}"; known: ${Object.keys(PEERS).join(", ")}`);
    return peer;
  });
  const ours = harmonizePeer(options);
  for (const peer of [ours, ...peers]) await peer.init();
  return { ours, peers };
}
