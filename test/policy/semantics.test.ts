// One focused test per networking.k8s.io/v1 NetworkPolicy rule (docs/policy.md, reference/netpol.md §2).
import { describe, expect, it } from 'vitest';
import type { ContainerPort, KObject, Protocol } from '../../src/model/k8s.js';
import { evaluateConnection } from '../../src/policy/evaluate.js';
import { buildPolicyIndex } from '../../src/policy/policy-index.js';
import type { PolicyOptions } from '../../src/policy/types.js';
import { netpol, ns, pod, state } from './fixtures.js';

const HTTP80: ContainerPort[] = [
  { name: 'http', containerPort: 80 },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
];
const HTTP8080: ContainerPort[] = [{ name: 'http', containerPort: 8080 }];
const EXTERNAL = '203.0.113.5'; // TEST-NET-3: documentation address, data only

/** x (team=a): a app=a on node-1, b app=b on node-2; y (team=b): b app=b, c (no labels); x/h hostNetwork on node-1. */
function cluster(policies: KObject[], options: Partial<PolicyOptions> = {}) {
  const st = state({
    namespaces: [ns('x', { team: 'a' }), ns('y', { team: 'b' })],
    pods: [
      pod({ ns: 'x', name: 'a', labels: { app: 'a' }, ip: '10.244.0.10', node: 'node-1', ports: HTTP80 }),
      pod({ ns: 'x', name: 'b', labels: { app: 'b' }, ip: '10.244.1.11', node: 'node-2', ports: HTTP8080 }),
      pod({
        ns: 'y',
        name: 'b',
        labels: { app: 'b', tier: 'be' },
        ip: '10.244.1.20',
        node: 'node-2',
        ports: HTTP8080,
      }),
      pod({ ns: 'y', name: 'c', ip: '10.244.0.21', node: 'node-1', ports: HTTP80 }),
      pod({
        ns: 'x',
        name: 'h',
        labels: { app: 'a' },
        ip: '192.168.1.11',
        node: 'node-1',
        hostNetwork: true,
        ports: HTTP80,
      }),
    ],
    policies,
  });
  return buildPolicyIndex(st, options);
}

const verdict = (
  idx: ReturnType<typeof cluster>,
  from: string,
  to: string,
  port = 80,
  proto: Protocol = 'TCP',
) => evaluateConnection(idx, from, to, port, proto).verdict;

const isolateA = (ingress: unknown[]) =>
  netpol('x', 'pol', { podSelector: { matchLabels: { app: 'a' } }, ingress });

describe('NetworkPolicy semantics', () => {
  it('with no policy every connection is allowed and both sides say not isolated', () => {
    const v = evaluateConnection(cluster([]), 'y/b', 'x/a', 80);
    expect(v.verdict).toBe('allow');
    expect(v.ingress.state).toBe('not-isolated');
    expect(v.ingress.reason).toBe(
      'not isolated on ingress: no policy selects x/a for ingress, so the default allows it',
    );
  });

  it('a podSelector-only peer selects pods in the policy namespace only', () => {
    const idx = cluster([isolateA([{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }])]);
    expect(verdict(idx, 'x/b', 'x/a')).toBe('allow');
    expect(verdict(idx, 'y/b', 'x/a')).toBe('deny');
  });

  it('namespaceSelector {} selects pods in every namespace but never an external IP', () => {
    const idx = cluster([isolateA([{ from: [{ namespaceSelector: {} }] }])]);
    expect(verdict(idx, 'y/c', 'x/a')).toBe('allow');
    expect(verdict(idx, EXTERNAL, 'x/a')).toBe('deny');
  });

  it('a missing `from` allows every source, external included (ingress: [{}])', () => {
    const idx = cluster([isolateA([{}])]);
    expect(verdict(idx, EXTERNAL, 'x/a')).toBe('allow');
    expect(verdict(idx, 'y/b', 'x/a', 9999, 'UDP')).toBe('allow');
  });

  it('an empty `ingress` list isolates: nothing is allowed', () => {
    const idx = cluster([isolateA([])]);
    expect(verdict(idx, 'x/b', 'x/a')).toBe('deny');
  });

  it('namespaceSelector and podSelector in one peer are ANDed; as two peers they are ORed', () => {
    const and = cluster([
      isolateA([
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'b' } } },
          ],
        },
      ]),
    ]);
    expect([verdict(and, 'y/b', 'x/a'), verdict(and, 'y/c', 'x/a'), verdict(and, 'x/b', 'x/a')]).toEqual([
      'allow',
      'deny',
      'deny',
    ]);
    const or = cluster([
      isolateA([
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'b' } } },
            { podSelector: { matchLabels: { app: 'b' } } },
          ],
        },
      ]),
    ]);
    expect([verdict(or, 'y/b', 'x/a'), verdict(or, 'y/c', 'x/a'), verdict(or, 'x/b', 'x/a')]).toEqual([
      'allow',
      'allow',
      'allow',
    ]);
  });

  it('matchExpressions: NotIn matches a pod without the key, DoesNotExist and Exists test presence', () => {
    const expr = (operator: string, values?: string[]) =>
      cluster([
        isolateA([
          {
            from: [
              {
                namespaceSelector: {},
                podSelector: { matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }] },
              },
            ],
          },
        ]),
      ]);
    expect(verdict(expr('NotIn', ['be']), 'y/c', 'x/a')).toBe('allow'); // y/c has no tier label
    expect(verdict(expr('NotIn', ['be']), 'y/b', 'x/a')).toBe('deny');
    expect(verdict(expr('In', ['be']), 'y/b', 'x/a')).toBe('allow');
    expect(verdict(expr('Exists'), 'y/c', 'x/a')).toBe('deny');
    expect(verdict(expr('DoesNotExist'), 'y/c', 'x/a')).toBe('allow');
  });

  it('ipBlock with except: the except range is carved out of that peer only', () => {
    const one = cluster([
      isolateA([{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.0/29'] } }] }]),
    ]);
    expect(verdict(one, '203.0.113.5', 'x/a')).toBe('deny');
    expect(verdict(one, '203.0.113.9', 'x/a')).toBe('allow');
    // Another peer may still allow the excepted address (e2e: "IP overlapping both CIDR and Except is allowed").
    const two = cluster([
      isolateA([
        {
          from: [
            { ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.0/29'] } },
            { ipBlock: { cidr: '203.0.113.5/32' } },
          ],
        },
      ]),
    ]);
    expect(verdict(two, '203.0.113.5', 'x/a')).toBe('allow');
  });

  it('ipBlockMatchesPodIPs switch decides whether an ipBlock selects a pod IP', () => {
    const p = [isolateA([{ from: [{ ipBlock: { cidr: '10.244.1.0/24' } }] }])];
    const on = evaluateConnection(cluster(p), 'y/b', 'x/a', 80);
    expect(on.verdict).toBe('allow');
    expect(on.ingress.assumptions).toContain('ipBlockMatchesPodIPs');
    expect(verdict(cluster(p, { ipBlockMatchesPodIPs: false }), 'y/b', 'x/a')).toBe('deny');
  });

  it('a port entry without protocol is TCP: port 53 does not open UDP 53', () => {
    const idx = cluster([isolateA([{ ports: [{ port: 53 }] }])]);
    expect(verdict(idx, 'y/b', 'x/a', 53, 'TCP')).toBe('allow');
    expect(verdict(idx, 'y/b', 'x/a', 53, 'UDP')).toBe('deny');
  });

  it('a named port resolves on each destination pod (ingress): same name, different numbers', () => {
    const idx = cluster([netpol('x', 'http', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })]);
    expect(verdict(idx, 'y/c', 'x/a', 80)).toBe('allow');
    expect(verdict(idx, 'y/c', 'x/b', 8080)).toBe('allow');
    expect(verdict(idx, 'y/c', 'x/b', 80)).toBe('deny');
  });

  it('a named port in an egress rule resolves on the peer pod, never on an external IP', () => {
    const idx = cluster([
      netpol('x', 'http-out', {
        podSelector: { matchLabels: { app: 'a' } },
        egress: [{ ports: [{ port: 'http' }] }],
        policyTypes: ['Egress'],
      }),
    ]);
    expect(verdict(idx, 'x/a', 'y/b', 8080)).toBe('allow');
    expect(verdict(idx, 'x/a', 'y/c', 8080)).toBe('deny');
    expect(verdict(idx, 'x/a', EXTERNAL, 80)).toBe('deny');
  });

  it('a named port must match the container port protocol too', () => {
    const idx = cluster([isolateA([{ ports: [{ port: 'dns', protocol: 'TCP' }] }])]);
    expect(verdict(idx, 'y/b', 'x/a', 53, 'TCP')).toBe('deny');
    const udp = cluster([isolateA([{ ports: [{ port: 'dns', protocol: 'UDP' }] }])]);
    expect(verdict(udp, 'y/b', 'x/a', 53, 'UDP')).toBe('allow');
  });

  it('endPort makes an inclusive range', () => {
    const idx = cluster([isolateA([{ ports: [{ port: 80, endPort: 90 }] }])]);
    expect([79, 80, 90, 91].map((p) => verdict(idx, 'y/b', 'x/a', p))).toEqual([
      'deny',
      'allow',
      'allow',
      'deny',
    ]);
  });

  it('SCTP and UDP allows never open TCP', () => {
    const idx = cluster([isolateA([{ ports: [{ protocol: 'SCTP', port: 80 }, { protocol: 'UDP' }] }])]);
    expect(verdict(idx, 'y/b', 'x/a', 80, 'SCTP')).toBe('allow');
    expect(verdict(idx, 'y/b', 'x/a', 1234, 'UDP')).toBe('allow');
    expect(verdict(idx, 'y/b', 'x/a', 80, 'TCP')).toBe('deny');
  });

  it('policyTypes defaulting: an egress policy without policyTypes isolates ingress too', () => {
    const idx = cluster([
      netpol('x', 'egress-only', { podSelector: { matchLabels: { app: 'a' } }, egress: [{}] }),
    ]);
    expect(verdict(idx, 'y/b', 'x/a')).toBe('deny');
    expect(verdict(idx, 'x/a', 'y/b')).toBe('allow');
  });

  it('policyTypes defaulting: `egress: []` without policyTypes does not isolate egress', () => {
    const idx = cluster([
      netpol('x', 'p', { podSelector: { matchLabels: { app: 'a' } }, ingress: [{}], egress: [] }),
    ]);
    expect(idx.policies.networkPolicies[0]!.policyTypes).toEqual(['Ingress']);
    expect(verdict(idx, 'x/a', 'y/b')).toBe('allow');
  });

  it('explicit policyTypes [Egress] makes ingress rules dead (and warns)', () => {
    const idx = cluster([
      netpol('x', 'p', {
        podSelector: { matchLabels: { app: 'a' } },
        ingress: [{}],
        egress: [],
        policyTypes: ['Egress'],
      }),
    ]);
    expect(verdict(idx, 'y/b', 'x/a')).toBe('allow');
    expect(verdict(idx, 'x/a', 'y/b')).toBe('deny');
    expect(idx.warnings.join('\n')).toContain(
      'NetworkPolicy x/p: spec.ingress is ignored because policyTypes does not list Ingress',
    );
  });

  it('a policy that selects no pod is inert, and kpath says so', () => {
    const idx = cluster([netpol('x', 'nobody', { podSelector: { matchLabels: { app: 'zzz' } } })]);
    expect(verdict(idx, 'y/b', 'x/a')).toBe('allow');
    expect(idx.warnings).toContain('NetworkPolicy x/nobody selects no pod; it has no effect');
  });

  it('isolation is per direction: an ingress policy leaves egress open', () => {
    const idx = cluster([isolateA([])]);
    expect(verdict(idx, 'x/a', 'y/b')).toBe('allow');
  });

  it('policies are a union: a second policy can only add allows', () => {
    const idx = cluster([
      isolateA([{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }]),
      netpol('x', 'from-y', {
        podSelector: { matchLabels: { app: 'a' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
      }),
    ]);
    expect(verdict(idx, 'x/b', 'x/a')).toBe('allow');
    expect(verdict(idx, 'y/c', 'x/a')).toBe('allow');
    expect(verdict(idx, EXTERNAL, 'x/a')).toBe('deny');
  });

  it('a connection needs egress at the source AND ingress at the destination', () => {
    const idx = cluster([
      netpol('y', 'no-egress', { podSelector: {}, policyTypes: ['Egress'] }),
      isolateA([{}]),
    ]);
    const v = evaluateConnection(idx, 'y/b', 'x/a', 80);
    expect(v.verdict).toBe('deny');
    expect(v.ingress.state).toBe('allowed');
    expect(v.egress.state).toBe('denied');
  });

  it("traffic from the pod's own node is allowed under deny-all (nodeLocalAllowed), other nodes are plain IPs", () => {
    const idx = cluster([isolateA([])]);
    const v = evaluateConnection(idx, '192.168.1.11', 'x/a', 8080);
    expect(v.verdict).toBe('allow');
    expect(v.ingress.reason).toBe(
      "allowed on ingress: node node-1 (192.168.1.11) is x/a's own node, and traffic between a pod and its node is always allowed",
    );
    expect(verdict(idx, '192.168.1.12', 'x/a')).toBe('deny');
    expect(verdict(cluster([isolateA([])], { nodeLocalAllowed: false }), '192.168.1.11', 'x/a')).toBe('deny');
  });

  it('hostNetwork=node-traffic: hostNetwork pods are node traffic, never selected nor isolated', () => {
    const idx = cluster([netpol('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    // x/h is on node-1 like x/a: node traffic to a local pod.
    expect(verdict(idx, 'x/h', 'x/a')).toBe('allow');
    // x/b is on node-2: x/h is just node-1's IP there.
    expect(verdict(idx, 'x/h', 'x/b', 8080)).toBe('deny');
    // The deny-all policy selects x/h by labels but has no effect on it.
    expect(verdict(idx, 'y/b', 'x/h')).toBe('allow');
    const podSel = cluster([isolateA([{ from: [{ podSelector: {} }] }])]);
    expect(verdict(podSel, 'x/h', 'y/b', 8080)).toBe('allow');
  });

  it('hostNetwork=pod: hostNetwork pods are selected and isolated like pods', () => {
    const idx = cluster([netpol('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] })], {
      hostNetwork: 'pod',
    });
    expect(verdict(idx, 'y/b', 'x/h')).toBe('deny');
    const sel = cluster([isolateA([{ from: [{ podSelector: {} }] }])], {
      hostNetwork: 'pod',
      nodeLocalAllowed: false,
    });
    expect(verdict(sel, 'x/h', 'x/a')).toBe('allow');
  });

  it('selfTraffic: a pod reaching itself is allowed (loopback) unless set to evaluate', () => {
    const p = [isolateA([])];
    expect(verdict(cluster(p), 'x/a', 'x/a')).toBe('allow');
    expect(verdict(cluster(p, { selfTraffic: 'evaluate' }), 'x/a', 'x/a')).toBe('deny');
  });

  it('egress to an external IP is decided by the source alone', () => {
    const idx = cluster([
      netpol('x', 'egress-web', {
        podSelector: { matchLabels: { app: 'a' } },
        egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443 }] }],
        policyTypes: ['Egress'],
      }),
    ]);
    const v = evaluateConnection(idx, 'x/a', EXTERNAL, 443);
    expect(v.verdict).toBe('allow');
    expect(v.ingress.reason).toBe(
      'not isolated on ingress: 203.0.113.5 is not a pod; no policy applies on its side',
    );
    expect(verdict(idx, 'x/a', EXTERNAL, 80)).toBe('deny');
  });
});

describe('explanations name the policy and rule', () => {
  const idx = cluster([
    netpol('x', 'deny-all', { podSelector: {} }),
    netpol('x', 'allow-b', {
      podSelector: { matchLabels: { app: 'a' } },
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] },
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'b' } } },
          ],
          ports: [{ port: 80 }],
        },
      ],
    }),
  ]);

  it('an allow cites the rule, the matching peer and port', () => {
    expect(evaluateConnection(idx, 'y/b', 'x/a', 80).ingress.reason).toBe(
      'allowed on ingress by policy x/allow-b rule 2 (from namespaces team=b pods app=b, TCP 80)',
    );
  });

  it('a deny names every isolating policy', () => {
    expect(evaluateConnection(idx, 'y/c', 'x/a', 80).ingress.reason).toBe(
      'denied on ingress: pod x/a is isolated by policies x/deny-all, x/allow-b; no ingress rule of any policy selecting x/a allows y/c on TCP 80',
    );
    expect(evaluateConnection(idx, 'y/c', 'x/b', 8080).ingress.reason).toBe(
      'denied on ingress: pod x/b is isolated by policy x/deny-all; no ingress rule of any policy selecting x/b allows y/c on TCP 8080',
    );
  });
});
