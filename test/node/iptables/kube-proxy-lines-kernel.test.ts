// Differential test against the real kernel for the line-level kube-proxy path: a generated
// large-cluster payload (over 1,000 endpoints, so kube-proxy drops the endpoint comments and nearly
// every rule is a ShapedRule) goes through the real `iptables-restore --noflush` in a throwaway
// network namespace and through applyRestore; the real `iptables-save` must equal printIptablesSave
// line for line. Needs root, iproute2 and iptables (nf_tables backend). With CI=true a missing
// prerequisite fails the suite; elsewhere the suite is skipped with the reason.

import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { applyRestore, emptyRuleset, printIptablesSave } from '../../../src/node/iptables/index.js';
import { ShapedRule } from '../../../src/node/iptables/shaped-rule.js';
import { iptablesNetnsMissing } from '../../fixtures/kernel.js';
import { generatedState, kubeProxyPayloadOf } from './generated-payload.js';
import { withoutDateLines } from './scenarios.js';

const missing = iptablesNetnsMissing(
  [
    ['ip', ['-V']],
    ['iptables-restore', ['--version']],
  ],
  'apt-get install -y iproute2 iptables',
);
const ns = `kpath-t-kplines-${process.pid}`;

afterAll(() => {
  if (!missing) spawnSync('ip', ['netns', 'del', ns]);
});

describe.skipIf(missing !== undefined && process.env.CI !== 'true')(
  `kube-proxy lines against the kernel${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    test('a large-cluster payload: applyRestore stores what the kernel stores', () => {
      if (missing) throw new Error(`kernel tests cannot run in CI: ${missing}`);
      const state = generatedState({ nodes: 5, services: 160, replicas: 8 });
      const info = state.nodeInfo[0]!;
      const payload = kubeProxyPayloadOf(state, info).restorePayload;

      const rs = applyRestore(emptyRuleset(), payload, { noflush: true });
      const nat = rs.tables.find((t) => t.name === 'nat')!;
      const rules = nat.chains.flatMap((c) => c.rules);
      // The payload must exercise the line path, or this test proves nothing about it.
      expect(rules.filter((r) => r instanceof ShapedRule).length).toBeGreaterThan(0.8 * rules.length);

      execFileSync('ip', ['netns', 'add', ns]);
      // A kubelet+kube-proxy node: mangle, filter and nat exist before kube-proxy's restore.
      for (const t of ['mangle', 'filter', 'nat']) {
        execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', t, '-N', 'KPATH-INIT']);
        execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', t, '-X', 'KPATH-INIT']);
      }
      execFileSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--noflush'], { input: payload });
      const kernel = withoutDateLines(
        execFileSync('ip', ['netns', 'exec', ns, 'iptables-save'], {
          encoding: 'utf8',
          maxBuffer: 256 * 2 ** 20,
        }),
      );
      const ours = printIptablesSave(rs);
      const k = kernel.split('\n');
      const o = ours.split('\n');
      // First differing line, for a readable failure.
      const at = k.findIndex((line, i) => line !== o[i]);
      expect(at === -1 ? undefined : { line: at + 1, kernel: k[at], kpath: o[at] }).toBeUndefined();
      expect(o.length).toBe(k.length);
    });
  },
);
