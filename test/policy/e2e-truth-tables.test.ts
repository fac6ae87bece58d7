// Scenarios translated from kubernetes/kubernetes test/e2e/network/netpol/network_policy.go
// (x/y/z × a/b/c model): same policies, same expected reachability, compared as truth tables.
import { describe, expect, it } from 'vitest';
import type { KObject } from '../../src/model/k8s.js';
import { netpol, XYZ_PODS, xyzState } from './fixtures.js';
import { observed, Reachability } from './reachability.js';

const sel = (labels: Record<string, string>) => ({ matchLabels: labels });
const R = () => new Reachability(XYZ_PODS, true);
const check = (
  policies: KObject[],
  port: number,
  expected: Reachability,
  proto: 'TCP' | 'UDP' | 'SCTP' = 'TCP',
) => expect(observed(xyzState(policies), port, proto, XYZ_PODS)).toBe(expected.table());

// Upstream's policy helpers (test/e2e/network/netpol/policies.go), as manifests.
const denyIngress = (name: string) => netpol('x', name, { podSelector: {}, ingress: [] });
const allowIngressByPod = (name: string, target: Record<string, string>, peer: object) =>
  netpol('x', name, { podSelector: sel(target), ingress: [{ from: [{ podSelector: peer }] }] });
const allowIngressByNamespace = (name: string, target: Record<string, string>, peer: object) =>
  netpol('x', name, { podSelector: sel(target), ingress: [{ from: [{ namespaceSelector: peer }] }] });

describe('upstream e2e netpol scenarios', () => {
  it("should support a 'default-deny-ingress' policy", () => {
    check([denyIngress('deny-ingress')], 80, R().expectPeer({}, { namespace: 'x' }, false));
  });

  it("should support a 'default-deny-all' policy (deny-all-tcp-allow-dns)", () => {
    const p = netpol('x', 'deny-all-tcp-allow-dns', {
      podSelector: { matchLabels: {} },
      ingress: [],
      egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }],
      policyTypes: ['Ingress', 'Egress'],
    });
    check([p], 80, R().expectPeer({}, { namespace: 'x' }, false).expectPeer({ namespace: 'x' }, {}, false));
  });

  it('should enforce policy to allow traffic from pods within server namespace based on PodSelector', () => {
    check(
      [allowIngressByPod('x-a-allows-x-b', { pod: 'a' }, sel({ pod: 'b' }))],
      80,
      R().expectAllIngress('x/a', false).expect('x/b', 'x/a', true),
    );
  });

  it('should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector', () => {
    check(
      [allowIngressByNamespace('allow-client-a-via-ns-selector', { pod: 'a' }, sel({ ns: 'y' }))],
      80,
      R()
        .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
        .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
    );
  });

  it('should enforce policy based on NamespaceSelector with MatchExpressions', () => {
    const nsIn = { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] };
    check(
      [allowIngressByNamespace('allow-ns-y-match-selector', { pod: 'a' }, nsIn)],
      80,
      R()
        .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
        .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
    );
  });

  const nsNotInX = { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] };

  it('should enforce policy based on PodSelector or NamespaceSelector (two peers = OR)', () => {
    const p = netpol('x', 'allow-ns-y-match-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: nsNotInX }, { podSelector: sel({ pod: 'b' }) }] }],
    });
    check([p], 80, R().expect('x/a', 'x/a', false).expect('x/c', 'x/a', false));
  });

  it('should enforce policy based on PodSelector and NamespaceSelector (one peer = AND)', () => {
    const p = netpol('x', 'allow-ns-y-podselector-and-nsselector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: nsNotInX, podSelector: sel({ pod: 'b' }) }] }],
    });
    check([p], 80, R().expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true));
  });

  it('should enforce policy based on Multiple PodSelectors and NamespaceSelectors', () => {
    const p = netpol('x', 'allow-ns-y-z-pod-b-c', {
      podSelector: sel({ pod: 'a' }),
      ingress: [
        {
          from: [
            {
              namespaceSelector: nsNotInX,
              podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
            },
          ],
        },
      ],
    });
    check(
      [p],
      80,
      R()
        .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
        .expect('y/a', 'x/a', false)
        .expect('z/a', 'x/a', false),
    );
  });

  it('should enforce policy based on Ports (only port 81 from ns y)', () => {
    const p = netpol('x', 'allow-client-a-via-ns-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }], ports: [{ port: 81 }] }],
    });
    const allow81 = R()
      .expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false)
      .expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false);
    check([p], 81, allow81);
    check([p], 80, R().expectAllIngress('x/a', false));
  });

  it('should allow ingress access on one named port', () => {
    const p = netpol('x', 'allow-all', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] });
    check([p], 81, R());
    check([p], 80, R().expectPeer({}, { namespace: 'x' }, false));
  });

  it('should allow egress access on one named port (with DNS on UDP 53)', () => {
    const p = netpol('x', 'allow-egress', {
      podSelector: {},
      egress: [{ ports: [{ port: 'serve-80-tcp' }, { protocol: 'UDP', port: 53 }] }],
      policyTypes: ['Egress'],
    });
    check([p], 80, R());
    check([p], 81, R().expectPeer({ namespace: 'x' }, {}, false));
  });

  it('should work with Ingress, Egress specified together (policyTypes defaulted from egress)', () => {
    const p = netpol('x', 'allow-client-a-via-pod-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ podSelector: sel({ pod: 'b' }) }] }],
      egress: [{ ports: [{ port: 'serve-80-tcp' }, { protocol: 'UDP', port: 53 }] }],
    });
    check([p], 80, R().expectAllIngress('x/a', false).expect('x/b', 'x/a', true));
    check(
      [p],
      81,
      R().expectAllIngress('x/a', false).expectAllEgress('x/a', false).expect('x/b', 'x/a', true),
    );
  });

  it('should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector', () => {
    const p = netpol('x', 'allow-to-ns-y-pod-a', {
      podSelector: sel({ pod: 'a' }),
      egress: [{ to: [{ namespaceSelector: sel({ ns: 'y' }), podSelector: sel({ pod: 'a' }) }] }],
      policyTypes: ['Egress'],
    });
    check([p], 80, R().expectAllEgress('x/a', false).expect('x/a', 'y/a', true));
  });

  it('should stop enforcing... deny-all both directions', () => {
    const p = netpol('x', 'deny-all', {
      podSelector: {},
      ingress: [],
      egress: [],
      policyTypes: ['Ingress', 'Egress'],
    });
    check([p], 80, R().expectPeer({ namespace: 'x' }, {}, false).expectPeer({}, { namespace: 'x' }, false));
  });

  it('should allow egress access to server in CIDR block', () => {
    const p = netpol('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: sel({ pod: 'a' }),
      egress: [{ to: [{ ipBlock: { cidr: '10.244.1.11/32' } }] }],
      policyTypes: ['Egress'],
    });
    check([p], 80, R().expectAllEgress('x/a', false).expect('x/a', 'y/b', true));
  });

  it('should enforce except clause while egress access to server in CIDR block', () => {
    // x/a's IP with /4 (upstream builds it from the pod IP), x/b's IP excepted.
    const p = netpol('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: sel({ pod: 'a' }),
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/4', except: ['10.244.0.11/32'] } }] }],
      policyTypes: ['Egress'],
    });
    check([p], 80, R().expect('x/a', 'x/b', false));
  });

  it('should enforce policies to check ingress and egress policies can be controlled independently', () => {
    const egress = netpol('x', 'allow-egress-for-target', {
      podSelector: sel({ pod: 'a' }),
      egress: [{}],
      policyTypes: ['Egress'],
    });
    check([egress], 80, R());
    const denyIngress = netpol('x', 'deny-ingress-for-target', {
      podSelector: sel({ pod: 'a' }),
      policyTypes: ['Ingress'],
    });
    check([egress, denyIngress], 80, R().expectAllIngress('x/a', false));
  });

  it('should not allow access by TCP when a policy specifies only UDP (or only SCTP)', () => {
    for (const proto of ['UDP', 'SCTP']) {
      const p = netpol('x', `allow-only-${proto}`, {
        podSelector: sel({ pod: 'a' }),
        ingress: [{ ports: [{ protocol: proto, port: 81 }] }],
        policyTypes: ['Ingress'],
      });
      check([p], 81, R().expectAllIngress('x/a', false));
      check([p], 81, R(), proto as 'UDP' | 'SCTP');
    }
  });

  it('should enforce multiple ingress policies with ingress allow-all policy taking precedence', () => {
    const port80 = netpol('x', 'allow-ingress-port-80', {
      podSelector: {},
      ingress: [{ ports: [{ port: 'serve-80-tcp' }] }],
    });
    check([port80], 81, R().expectPeer({}, { namespace: 'x' }, false));
    const all = netpol('x', 'allow-ingress', { podSelector: {}, ingress: [{}] });
    check([port80, all], 81, R());
  });

  it('prints exactly the upstream TruthTable layout (default-deny-ingress, golden)', () => {
    const golden = [
      '-\tx/a\tx/b\tx/c\ty/a\ty/b\ty/c\tz/a\tz/b\tz/c',
      'x/a\t?\tX\tX\t.\t.\t.\t.\t.\t.',
      'x/b\tX\t?\tX\t.\t.\t.\t.\t.\t.',
      'x/c\tX\tX\t?\t.\t.\t.\t.\t.\t.',
      'y/a\tX\tX\tX\t?\t.\t.\t.\t.\t.',
      'y/b\tX\tX\tX\t.\t?\t.\t.\t.\t.',
      'y/c\tX\tX\tX\t.\t.\t?\t.\t.\t.',
      'z/a\tX\tX\tX\t.\t.\t.\t?\t.\t.',
      'z/b\tX\tX\tX\t.\t.\t.\t.\t?\t.',
      'z/c\tX\tX\tX\t.\t.\t.\t.\t.\t?',
    ].join('\n');
    expect(observed(xyzState([denyIngress('deny-ingress')]), 80)).toBe(golden);
  });
});
