// AdminNetworkPolicy / BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) tiers,
// conformance-style: the houses of kubernetes-sigs/network-policy-api conformance/tests
// (core-anp-np-banp integration: pass-example ANP, allow-gress NP, default BANP).
import { describe, expect, it } from 'vitest';
import type { KObject, Protocol } from '../../src/model/k8s.js';
import { evaluateConnection } from '../../src/policy/evaluate.js';
import { buildPolicyIndex } from '../../src/policy/policy-index.js';
import { anp, banp, netpol, node, ns, pod, state } from './fixtures.js';

const G = 'network-policy-conformance-gryffindor';
const S = 'network-policy-conformance-slytherin';
const H = 'network-policy-conformance-hufflepuff';
const house = (h: string) => ({ matchLabels: { 'conformance-house': h } });
const PORTS = [
  { name: 'web', containerPort: 80 },
  { containerPort: 8080 },
  { name: 'dns', containerPort: 53, protocol: 'UDP' as const },
];

function houses(policies: KObject[]) {
  return buildPolicyIndex(
    state({
      namespaces: [
        ns(G, { 'conformance-house': 'gryffindor' }),
        ns(S, { 'conformance-house': 'slytherin' }),
        ns(H, { 'conformance-house': 'hufflepuff' }),
      ],
      pods: [
        pod({
          ns: G,
          name: 'harry-potter-0',
          labels: { 'conformance-house': 'gryffindor' },
          ip: '10.244.0.10',
          node: 'node-1',
          ports: PORTS,
        }),
        pod({
          ns: G,
          name: 'harry-potter-1',
          labels: { 'conformance-house': 'gryffindor' },
          ip: '10.244.1.10',
          node: 'node-2',
          ports: PORTS,
        }),
        pod({
          ns: S,
          name: 'draco-malfoy-0',
          labels: { 'conformance-house': 'slytherin' },
          ip: '10.244.0.20',
          node: 'node-1',
          ports: PORTS,
        }),
        pod({
          ns: S,
          name: 'draco-malfoy-1',
          labels: { 'conformance-house': 'slytherin' },
          ip: '10.244.1.20',
          node: 'node-2',
          ports: PORTS,
        }),
        pod({
          ns: H,
          name: 'cedric-diggory-0',
          labels: { 'conformance-house': 'hufflepuff' },
          ip: '10.244.0.30',
          node: 'node-1',
          ports: PORTS,
        }),
      ],
      nodes: [node('node-1', '192.168.1.11', { zone: 'a' }), node('node-2', '192.168.1.12', { zone: 'b' })],
      policies,
    }),
  );
}

const passExample = (ingressAction: string, egressAction: string) =>
  anp('pass-example', {
    priority: 10,
    subject: { namespaces: house('gryffindor') },
    ingress: [
      {
        name: 'deny-all-ingress-from-slytherin',
        action: ingressAction,
        from: [{ namespaces: house('slytherin') }],
      },
    ],
    egress: [
      {
        name: 'deny-all-egress-from-slytherin',
        action: egressAction,
        to: [{ namespaces: house('slytherin') }],
      },
    ],
  });
const allowGress = netpol(G, 'allow-gress-from-to-slytherin-to-gryffindor', {
  podSelector: null,
  policyTypes: ['Ingress', 'Egress'],
  ingress: [{ from: [{ namespaceSelector: house('slytherin') }] }],
  egress: [{ to: [{ namespaceSelector: house('slytherin') }] }],
});
const defaultBanp = banp({
  subject: { namespaces: house('gryffindor') },
  ingress: [
    { name: 'deny-all-ingress-from-slytherin', action: 'Deny', from: [{ namespaces: house('slytherin') }] },
  ],
  egress: [
    { name: 'deny-all-egress-from-slytherin', action: 'Deny', to: [{ namespaces: house('slytherin') }] },
  ],
});

const v = (idx: ReturnType<typeof houses>, from: string, to: string, port = 80, proto: Protocol = 'TCP') =>
  evaluateConnection(idx, from, to, port, proto);

describe('AdminNetworkPolicy integration (conformance: AdminNetworkPolicyIntegration)', () => {
  it('Should Deny traffic from slytherin to gryffindor respecting ANP (over the NP allow)', () => {
    const idx = houses([passExample('Deny', 'Deny'), allowGress, defaultBanp]);
    const r = v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 80);
    expect(r.verdict).toBe('deny');
    expect(r.ingress.reason).toBe(
      `denied on ingress by AdminNetworkPolicy pass-example (priority 10) rule 1 "deny-all-ingress-from-slytherin" (from namespaces conformance-house=slytherin, all ports)`,
    );
    expect(v(idx, `${S}/draco-malfoy-1`, `${G}/harry-potter-0`, 8080).verdict).toBe('deny');
    expect(v(idx, `${G}/harry-potter-0`, `${S}/draco-malfoy-0`, 80).verdict).toBe('deny');
  });

  it("Should support a 'pass-ingress' policy for ANP and respect the match for network policy", () => {
    const idx = houses([passExample('Pass', 'Deny'), allowGress, defaultBanp]);
    const r = v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 80);
    expect(r.verdict).toBe('allow');
    expect(r.ingress.reason).toBe(
      `allowed on ingress by policy ${G}/allow-gress-from-to-slytherin-to-gryffindor rule 1 (from namespaces conformance-house=slytherin all pods, all ports) (AdminNetworkPolicy pass-example rule 1 "deny-all-ingress-from-slytherin" passed it on)`,
    );
  });

  it("Should support a 'pass-egress' policy for ANP and respect the match for network policy", () => {
    const idx = houses([passExample('Deny', 'Pass'), allowGress, defaultBanp]);
    expect(v(idx, `${G}/harry-potter-0`, `${S}/draco-malfoy-0`, 80).verdict).toBe('allow');
    expect(v(idx, `${G}/harry-potter-1`, `${S}/draco-malfoy-0`, 8080).verdict).toBe('allow');
  });

  it("Should support a 'pass-ingress'/'pass-egress' policy for ANP and respect the match for baseline admin network policy", () => {
    const idx = houses([passExample('Pass', 'Pass'), defaultBanp]);
    const r = v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 80);
    expect(r.verdict).toBe('deny');
    expect(r.ingress.tier).toBe('BaselineAdminNetworkPolicy');
    expect(r.ingress.reason).toBe(
      `denied on ingress by BaselineAdminNetworkPolicy default rule 1 "deny-all-ingress-from-slytherin" (from namespaces conformance-house=slytherin, all ports); no NetworkPolicy selects ${G}/harry-potter-0 for ingress (AdminNetworkPolicy pass-example rule 1 "deny-all-ingress-from-slytherin" passed it on)`,
    );
    expect(v(idx, `${G}/harry-potter-0`, `${S}/draco-malfoy-0`, 80).verdict).toBe('deny');
  });
});

describe('AdminNetworkPolicy tier rules', () => {
  it('lower priority number is evaluated first', () => {
    const deny = anp('deny-s', {
      priority: 20,
      subject: { namespaces: house('gryffindor') },
      ingress: [{ name: 'd', action: 'Deny', from: [{ namespaces: house('slytherin') }] }],
    });
    const allow = anp('allow-s', {
      priority: 5,
      subject: { namespaces: house('gryffindor') },
      ingress: [{ name: 'a', action: 'Allow', from: [{ namespaces: house('slytherin') }] }],
    });
    const r = v(houses([deny, allow]), `${S}/draco-malfoy-0`, `${G}/harry-potter-0`);
    expect(r.verdict).toBe('allow');
    expect(r.ingress.policy).toBe('allow-s');
  });

  it('same priority: a deterministic order (by name) and a warning', () => {
    const a = anp('b-deny', {
      priority: 7,
      subject: { namespaces: house('gryffindor') },
      ingress: [{ name: 'd', action: 'Deny', from: [{ namespaces: {} }] }],
    });
    const b = anp('a-allow', {
      priority: 7,
      subject: { namespaces: house('gryffindor') },
      ingress: [{ name: 'a', action: 'Allow', from: [{ namespaces: {} }] }],
    });
    const idx = houses([a, b]);
    expect(idx.policies.adminPolicies.map((p) => p.name)).toEqual(['a-allow', 'b-deny']);
    expect(idx.warnings).toContain(
      'AdminNetworkPolicies a-allow and b-deny share priority 7: their order is undefined upstream; kpath evaluates them by name',
    );
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`).verdict).toBe('allow');
  });

  it('rules run in written order: the first match decides', () => {
    const p = anp('ordered', {
      priority: 1,
      subject: { namespaces: house('gryffindor') },
      ingress: [
        {
          name: 'allow-web',
          action: 'Allow',
          from: [{ namespaces: {} }],
          ports: [{ portNumber: { protocol: 'TCP', port: 80 } }],
        },
        { name: 'deny-rest', action: 'Deny', from: [{ namespaces: {} }] },
      ],
    });
    const idx = houses([p]);
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 80).verdict).toBe('allow');
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 8080).verdict).toBe('deny');
  });

  it('no implicit isolation: an ANP whose rules do not match changes nothing', () => {
    const p = anp('only-huff', {
      priority: 1,
      subject: { namespaces: house('gryffindor') },
      ingress: [{ name: 'd', action: 'Deny', from: [{ namespaces: house('hufflepuff') }] }],
    });
    const r = v(houses([p]), `${S}/draco-malfoy-0`, `${G}/harry-potter-0`);
    expect(r.verdict).toBe('allow');
    expect(r.ingress.state).toBe('not-isolated');
  });

  it('an ANP ingress Allow settles only ingress: the source egress still goes through its own tiers', () => {
    const allowIn = anp('allow-in', {
      priority: 1,
      subject: { namespaces: house('gryffindor') },
      ingress: [{ name: 'a', action: 'Allow', from: [{ namespaces: {} }] }],
    });
    const noEgress = netpol(S, 'no-egress', { podSelector: {}, policyTypes: ['Egress'] });
    const r = v(houses([allowIn, noEgress]), `${S}/draco-malfoy-0`, `${G}/harry-potter-0`);
    expect(r.ingress.state).toBe('allowed');
    expect(r.egress.state).toBe('denied');
    expect(r.verdict).toBe('deny');
  });

  it('a NetworkPolicy selecting the pod is final: the BANP is skipped', () => {
    const np = netpol(G, 'allow-all-in', { podSelector: {}, ingress: [{}] });
    const r = v(houses([np, defaultBanp]), `${S}/draco-malfoy-0`, `${G}/harry-potter-0`);
    expect(r.verdict).toBe('allow');
    expect(r.ingress.tier).toBe('NetworkPolicy');
  });

  it('networks peers match pod IPs too; nodes peers match node IPs', () => {
    const p = anp('egress', {
      priority: 1,
      subject: { pods: { namespaceSelector: house('gryffindor'), podSelector: {} } },
      egress: [
        { name: 'deny-node-b', action: 'Deny', to: [{ nodes: { matchLabels: { zone: 'b' } } }] },
        { name: 'deny-pods', action: 'Deny', to: [{ networks: ['10.244.1.0/24'] }] },
      ],
    });
    const idx = houses([p]);
    expect(v(idx, `${G}/harry-potter-0`, `${S}/draco-malfoy-1`).verdict).toBe('deny');
    expect(v(idx, `${G}/harry-potter-0`, `${S}/draco-malfoy-0`).verdict).toBe('allow');
    expect(v(idx, `${G}/harry-potter-0`, '192.168.1.12', 10250).egress.reason).toBe(
      'denied on egress by AdminNetworkPolicy egress (priority 1) rule 1 "deny-node-b" (to nodes zone=b, all ports)',
    );
  });

  it('namespaces/pods peers never match external IPs', () => {
    const p = anp('deny-all-ns', {
      priority: 1,
      subject: { namespaces: {} },
      ingress: [{ name: 'd', action: 'Deny', from: [{ namespaces: {} }] }],
    });
    expect(v(houses([p]), '203.0.113.5', `${G}/harry-potter-0`).verdict).toBe('allow');
  });

  it('portRange and namedPort (resolved on the destination pod) match', () => {
    const p = anp('ports', {
      priority: 1,
      subject: { namespaces: house('gryffindor') },
      ingress: [
        {
          name: 'range',
          action: 'Deny',
          from: [{ namespaces: {} }],
          ports: [{ portRange: { protocol: 'TCP', start: 8000, end: 8080 } }],
        },
        { name: 'named', action: 'Deny', from: [{ namespaces: {} }], ports: [{ namedPort: 'dns' }] },
      ],
    });
    const idx = houses([p]);
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 8080).verdict).toBe('deny');
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 8081).verdict).toBe('allow');
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 53, 'UDP').verdict).toBe('deny');
    expect(v(idx, `${S}/draco-malfoy-0`, `${G}/harry-potter-0`, 53, 'TCP').verdict).toBe('allow');
  });

  it('an unmodelled peer fails closed: Deny matches everything, Allow nothing', () => {
    const deny = anp('fqdn-deny', {
      priority: 1,
      subject: { namespaces: house('gryffindor') },
      egress: [{ name: 'd', action: 'Deny', to: [{ domainNames: ['*.example'] }] }],
    });
    const idx = houses([deny]);
    expect(v(idx, `${G}/harry-potter-0`, `${H}/cedric-diggory-0`).verdict).toBe('deny');
    expect(
      idx.warnings.some((w) => w.includes('spec.egress[0].to[0].domainNames is not modelled (UNSUPPORTED)')),
    ).toBe(true);
    const allow = anp('fqdn-allow', {
      priority: 1,
      subject: { namespaces: house('gryffindor') },
      egress: [{ name: 'a', action: 'Allow', to: [{ domainNames: ['*.example'] }] }],
    });
    expect(
      v(
        houses([allow, netpol(G, 'deny', { podSelector: {}, policyTypes: ['Egress'] })]),
        `${G}/harry-potter-0`,
        `${H}/cedric-diggory-0`,
      ).verdict,
    ).toBe('deny');
  });

  it('hostNetwork pods are never ANP subjects', () => {
    const idx = buildPolicyIndex(
      state({
        namespaces: [ns('x')],
        pods: [
          pod({ ns: 'x', name: 'h', ip: '192.168.1.11', node: 'node-1', hostNetwork: true }),
          pod({ ns: 'x', name: 'a', ip: '10.244.1.10', node: 'node-2' }),
        ],
        policies: [
          anp('deny-all', {
            priority: 1,
            subject: { namespaces: {} },
            ingress: [{ name: 'd', action: 'Deny', from: [{ namespaces: {} }] }],
          }),
        ],
      }),
      { hostNetwork: 'pod' },
    );
    expect(evaluateConnection(idx, 'x/a', 'x/h', 80).verdict).toBe('allow');
    expect(evaluateConnection(idx, 'x/h', 'x/a', 80).verdict).toBe('allow'); // not a namespaces peer either
  });
});
