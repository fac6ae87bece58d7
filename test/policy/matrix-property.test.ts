// Property: the class-based reachability matrix equals the pod-by-pod brute force, cell for cell,
// on random clusters with random NetworkPolicies, AdminNetworkPolicies and a BaselineAdminNetworkPolicy.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContainerPort, KObject, Protocol } from '../../src/model/k8s.js';
import { evaluateParties, podParty } from '../../src/policy/evaluate.js';
import { cellAllowed, reachabilityMatrix } from '../../src/policy/matrix.js';
import { buildPolicyIndex } from '../../src/policy/policy-index.js';
import type { PolicyOptions } from '../../src/policy/types.js';
import { bruteForceMatrix } from './brute-force.js';
import { anp, banp, netpol, ns, pod, state } from './fixtures.js';

const PROBES: { port: number; protocol: Protocol }[] = [
  { port: 80, protocol: 'TCP' },
  { port: 8080, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 9090, protocol: 'SCTP' },
];
const PORT_SETS: ContainerPort[][] = [
  [],
  [{ name: 'http', containerPort: 80 }],
  [
    { name: 'http', containerPort: 8080 },
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
  ],
  [
    { name: 'metrics', containerPort: 9090, protocol: 'SCTP' },
    { name: 'http', containerPort: 80 },
  ],
];

const labelValue = (k: string) =>
  ({ app: ['web', 'db'], tier: ['fe', 'be'], team: ['a', 'b'], env: ['prod', 'dev'] })[k] ?? ['v'];
const keysArb = fc.constantFrom('app', 'tier', 'team', 'env');
const labelsArb = (keys: string[]) =>
  fc.record(Object.fromEntries(keys.map((k) => [k, fc.constantFrom(...labelValue(k))])), {
    requiredKeys: [],
  });
const selectorArb = fc.oneof(
  fc.constant({}),
  fc.record({ matchLabels: labelsArb(['app', 'tier', 'team']) }),
  fc.record({
    matchExpressions: fc
      .tuple(keysArb, fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'))
      .chain(([key, op]) =>
        op === 'In' || op === 'NotIn'
          ? fc
              .subarray(labelValue(key), { minLength: 1 })
              .map((values) => [{ key, operator: op, values } as object])
          : fc.constant<object[]>([{ key, operator: op }]),
      ),
  }),
);
const ipBlockArb = fc.constantFrom(
  { cidr: '10.244.0.0/16' },
  { cidr: '10.244.0.0/16', except: ['10.244.1.0/24'] },
  { cidr: '0.0.0.0/0', except: ['10.244.0.0/24'] },
  { cidr: '192.168.1.0/24' },
  { cidr: '10.244.1.0/24' },
);
const npPeerArb = fc.oneof(
  fc.record({ podSelector: selectorArb }),
  fc.record({ namespaceSelector: selectorArb }),
  fc.record({ namespaceSelector: selectorArb, podSelector: selectorArb }),
  fc.record({ ipBlock: ipBlockArb }),
);
const npPortArb = fc.oneof(
  fc.constant({}),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') }),
  fc.record(
    { port: fc.constantFrom(80, 53, 9090), protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') },
    { requiredKeys: ['port'] },
  ),
  fc.record({ port: fc.constant(80), endPort: fc.constantFrom(80, 8080, 9000) }),
  fc.record(
    { port: fc.constantFrom('http', 'dns', 'metrics'), protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') },
    { requiredKeys: ['port'] },
  ),
);
const npRuleArb = (peerKey: 'from' | 'to') =>
  fc.record(
    { [peerKey]: fc.array(npPeerArb, { maxLength: 2 }), ports: fc.array(npPortArb, { maxLength: 2 }) },
    { requiredKeys: [] },
  );
const npArb = (namespaces: string[]) =>
  fc.record(
    {
      ns: fc.constantFrom(...namespaces),
      podSelector: selectorArb,
      policyTypes: fc.constantFrom(undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
      ingress: fc.option(fc.array(npRuleArb('from'), { maxLength: 2 }), { nil: undefined }),
      egress: fc.option(fc.array(npRuleArb('to'), { maxLength: 2 }), { nil: undefined }),
    },
    { requiredKeys: ['ns', 'podSelector'] },
  );

const adminPeerArb = (egress: boolean) =>
  fc.oneof(
    fc.record({ namespaces: selectorArb }),
    fc.record({ pods: fc.record({ namespaceSelector: selectorArb, podSelector: selectorArb }) }),
    ...(egress
      ? [
          fc.record({ networks: fc.constantFrom(['10.244.1.0/24'], ['0.0.0.0/0'], ['192.168.1.0/24']) }),
          fc.record({ nodes: fc.constantFrom({}, { matchLabels: { zone: 'a' } }) }),
          fc.record({ domainNames: fc.constant(['db.example']) }),
        ]
      : []),
  );
const adminPortArb = fc.oneof(
  fc.record({
    portNumber: fc.record({ port: fc.constantFrom(80, 53), protocol: fc.constantFrom('TCP', 'UDP') }),
  }),
  fc.record({
    portRange: fc.record({
      start: fc.constant(80),
      end: fc.constantFrom(80, 9090),
      protocol: fc.constantFrom('TCP', 'SCTP'),
    }),
  }),
  fc.record({ namedPort: fc.constantFrom('http', 'dns') }),
);
const adminRuleArb = (egress: boolean, actions: string[]) =>
  fc.record(
    {
      name: fc.constantFrom('r1', 'r2'),
      action: fc.constantFrom(...actions),
      [egress ? 'to' : 'from']: fc.array(adminPeerArb(egress), { minLength: 1, maxLength: 2 }),
      ports: fc.array(adminPortArb, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: ['name', 'action', egress ? 'to' : 'from'] },
  );
const adminSpecArb = (actions: string[]) =>
  fc.record({
    subject: fc.oneof(
      fc.record({ namespaces: selectorArb }),
      fc.record({ pods: fc.record({ namespaceSelector: selectorArb, podSelector: selectorArb }) }),
    ),
    ingress: fc.array(adminRuleArb(false, actions), { maxLength: 2 }),
    egress: fc.array(adminRuleArb(true, actions), { maxLength: 2 }),
  });

const clusterArb = fc
  .record({
    namespaces: fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), { minLength: 1, maxLength: 3 }),
    nsLabels: fc.array(labelsArb(['team', 'env']), { minLength: 3, maxLength: 3 }),
  })
  .chain(({ namespaces, nsLabels }) =>
    fc.record({
      namespaces: fc.constant(namespaces),
      nsLabels: fc.constant(nsLabels),
      pods: fc.array(
        fc.record({
          ns: fc.constantFrom(...namespaces),
          labels: labelsArb(['app', 'tier']),
          ports: fc.nat(PORT_SETS.length - 1),
          node: fc.constantFrom('node-1', 'node-2'),
          hostNetwork: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      nps: fc.array(npArb(namespaces), { maxLength: 4 }),
      anps: fc.array(fc.record({ priority: fc.nat(3), spec: adminSpecArb(['Allow', 'Deny', 'Pass']) }), {
        maxLength: 3,
      }),
      banp: fc.option(adminSpecArb(['Allow', 'Deny']), { nil: undefined }),
      options: fc.record({
        ipBlockMatchesPodIPs: fc.boolean(),
        hostNetwork: fc.constantFrom('node-traffic', 'pod'),
        nodeLocalAllowed: fc.boolean(),
        selfTraffic: fc.constantFrom('allow', 'evaluate'),
      }) as fc.Arbitrary<PolicyOptions>,
    }),
  );

describe('class-based matrix equals brute force', () => {
  it('on random clusters and policies (NP + ANP + BANP), and evaluateConnection agrees', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const policies: KObject[] = [
          ...c.nps.map((n, i) => {
            const { ns: pns, ...spec } = n;
            return netpol(pns, `np-${i}`, spec);
          }),
          ...c.anps.map((a, i) => anp(`anp-${i}`, { priority: a.priority, ...a.spec })),
          ...(c.banp ? [banp(c.banp)] : []),
        ];
        const nodeIPs: Record<string, string> = { 'node-1': '192.168.1.11', 'node-2': '192.168.1.12' };
        const pods = c.pods.map((p, i) =>
          pod({
            ns: p.ns,
            name: `p${i}`,
            labels: p.labels as Record<string, string>,
            ip: p.hostNetwork ? nodeIPs[p.node]! : `10.244.${i % 2}.${10 + i}`,
            node: p.node,
            hostNetwork: p.hostNetwork,
            ports: PORT_SETS[p.ports]!,
          }),
        );
        const st = state({
          namespaces: c.namespaces.map((n, i) => ns(n, c.nsLabels[i] as Record<string, string>)),
          pods,
          policies,
        });
        st.nodeInfo[0]!.labels.zone = 'a';
        const index = buildPolicyIndex(st, c.options);
        const m = reachabilityMatrix(index, { ports: PROBES });
        const brute = bruteForceMatrix(st, PROBES, c.options);
        for (let i = 0; i < m.froms.length; i++) {
          for (let j = 0; j < m.tos.length; j++) {
            for (let k = 0; k < m.probes.length; k++) {
              const p = m.probes[k]!;
              const want = brute.get(`${m.froms[i]}>${m.tos[j]}>${p.protocol}/${p.port}`);
              if (cellAllowed(m, i, j, k) !== want) {
                throw new Error(
                  `${m.froms[i]} -> ${m.tos[j]} ${p.protocol}/${p.port}: matrix ${!want}, brute force ${want}`,
                );
              }
              // The explaining path (evaluateConnection) must agree with both.
              const ev = evaluateParties(
                index,
                podParty(index, index.podsByKey.get(m.froms[i]!)!),
                podParty(index, index.podsByKey.get(m.tos[j]!)!),
                p.port,
                p.protocol,
              );
              if ((ev.verdict === 'allow') !== want) {
                throw new Error(
                  `${m.froms[i]} -> ${m.tos[j]} ${p.protocol}/${p.port}: evaluateConnection ${ev.verdict}, brute force ${want}`,
                );
              }
            }
          }
        }
      }),
      { numRuns: 400, seed: 20261121 },
    );
  });

  it('the brute force itself can disagree (guards against a vacuous property)', () => {
    const st = state({
      namespaces: [ns('x')],
      pods: [
        pod({ ns: 'x', name: 'a', ip: '10.244.0.10', ports: [{ containerPort: 80 }] }),
        pod({ ns: 'x', name: 'b', ip: '10.244.0.11' }),
      ],
      policies: [netpol('x', 'deny', { podSelector: {} })],
    });
    const brute = bruteForceMatrix(st, [{ port: 80, protocol: 'TCP' }]);
    expect(brute.get('x/a>x/b>TCP/80')).toBe(false);
    expect(brute.get('x/a>x/a>TCP/80')).toBe(true);
  });
});
