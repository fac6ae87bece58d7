// Expected truth tables built the way upstream's e2e suite builds them
// (test/e2e/network/netpol/reachability.go: NewReachability, ExpectPeer, ExpectAllIngress/Egress, Expect).

import type { ClusterState } from '../../src/model/cluster.js';
import type { Protocol } from '../../src/model/k8s.js';
import { reachabilityMatrix } from '../../src/policy/matrix.js';
import { buildPolicyIndex } from '../../src/policy/policy-index.js';
import { matrixTruthTable, printTruthTable } from '../../src/policy/truth-table.js';

export interface Peer {
  namespace?: string;
  pod?: string;
}

export class Reachability {
  readonly values: Map<string, Map<string, boolean>>;
  constructor(
    readonly pods: readonly string[],
    initial: boolean,
  ) {
    this.values = new Map(pods.map((f) => [f, new Map(pods.map((t) => [t, initial]))]));
  }
  private static matches(peer: Peer, key: string): boolean {
    const [n, p] = key.split('/');
    return (
      (peer.namespace === undefined || peer.namespace === n) && (peer.pod === undefined || peer.pod === p)
    );
  }
  expect(from: string, to: string, v: boolean): this {
    this.values.get(from)!.set(to, v);
    return this;
  }
  expectPeer(from: Peer, to: Peer, v: boolean): this {
    for (const f of this.pods) {
      if (!Reachability.matches(from, f)) continue;
      for (const t of this.pods) if (Reachability.matches(to, t)) this.values.get(f)!.set(t, v);
    }
    return this;
  }
  expectAllIngress(to: string, v: boolean): this {
    for (const f of this.pods) this.values.get(f)!.set(to, v);
    return this;
  }
  expectAllEgress(from: string, v: boolean): this {
    for (const t of this.pods) this.values.get(from)!.set(t, v);
    return this;
  }
  /** Loopback cells are ignored, as upstream does (ignoreLoopback, kubernetes#95879). */
  table(): string {
    return printTruthTable(this.pods, this.pods, (i, j) =>
      i === j ? undefined : this.values.get(this.pods[i]!)!.get(this.pods[j]!),
    );
  }
}

/** The engine's truth table for one probe, loopback cells shown as `?` like the expectation. */
export function observed(
  state: ClusterState,
  port: number,
  protocol: Protocol = 'TCP',
  pods?: string[],
): string {
  const index = buildPolicyIndex(state);
  const m = reachabilityMatrix(index, { from: pods, to: pods, ports: [{ port, protocol }] });
  const lines = matrixTruthTable(m, { port, protocol }).split('\n');
  // Blank the diagonal.
  return lines
    .map((l, i) => {
      if (i === 0) return l;
      const cells = l.split('\t');
      cells[i] = '?';
      return cells.join('\t');
    })
    .join('\n');
}
