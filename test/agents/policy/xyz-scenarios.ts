// The policies of the upstream e2e netpol scenarios (kubernetes/kubernetes
// test/e2e/network/netpol/network_policy.go), as test/policy/e2e-truth-tables.test.ts writes them.
import type { KObject } from '../../../src/model/k8s.js';
import { netpol } from '../../policy/fixtures.js';

const sel = (labels: Record<string, string>) => ({ matchLabels: labels });
const nsNotInX = { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] };

export const XYZ_SCENARIOS: Record<string, KObject[]> = {
  'default-deny-ingress': [netpol('x', 'deny-ingress', { podSelector: {}, ingress: [] })],
  'deny-all-tcp-allow-dns': [
    netpol('x', 'deny-all-tcp-allow-dns', {
      podSelector: { matchLabels: {} },
      ingress: [],
      egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }],
      policyTypes: ['Ingress', 'Egress'],
    }),
  ],
  'allow from pods within server namespace (PodSelector)': [
    netpol('x', 'x-a-allows-x-b', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ podSelector: sel({ pod: 'b' }) }] }],
    }),
  ],
  'allow only from a different namespace (NamespaceSelector)': [
    netpol('x', 'allow-client-a-via-ns-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }] }],
    }),
  ],
  'NamespaceSelector with MatchExpressions': [
    netpol('x', 'allow-ns-y-match-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [
        {
          from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] } }],
        },
      ],
    }),
  ],
  'PodSelector or NamespaceSelector': [
    netpol('x', 'allow-ns-y-match-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: nsNotInX }, { podSelector: sel({ pod: 'b' }) }] }],
    }),
  ],
  'PodSelector and NamespaceSelector': [
    netpol('x', 'allow-ns-y-podselector-and-nsselector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: nsNotInX, podSelector: sel({ pod: 'b' }) }] }],
    }),
  ],
  'Multiple PodSelectors and NamespaceSelectors': [
    netpol('x', 'allow-ns-y-z-pod-b-c', {
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
    }),
  ],
  'Ports (only port 81 from ns y)': [
    netpol('x', 'allow-client-a-via-ns-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }], ports: [{ port: 81 }] }],
    }),
  ],
  'ingress on one named port': [
    netpol('x', 'allow-all', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] }),
  ],
  'egress on one named port (with DNS)': [
    netpol('x', 'allow-egress', {
      podSelector: {},
      egress: [{ ports: [{ port: 'serve-80-tcp' }, { protocol: 'UDP', port: 53 }] }],
      policyTypes: ['Egress'],
    }),
  ],
  'Ingress and Egress together (policyTypes defaulted)': [
    netpol('x', 'allow-client-a-via-pod-selector', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ from: [{ podSelector: sel({ pod: 'b' }) }] }],
      egress: [{ ports: [{ port: 'serve-80-tcp' }, { protocol: 'UDP', port: 53 }] }],
    }),
  ],
  'egress to a server in another namespace (PodSelector and NamespaceSelector)': [
    netpol('x', 'allow-to-ns-y-pod-a', {
      podSelector: sel({ pod: 'a' }),
      egress: [{ to: [{ namespaceSelector: sel({ ns: 'y' }), podSelector: sel({ pod: 'a' }) }] }],
      policyTypes: ['Egress'],
    }),
  ],
  'deny-all both directions': [
    netpol('x', 'deny-all', { podSelector: {}, ingress: [], egress: [], policyTypes: ['Ingress', 'Egress'] }),
  ],
  'egress to server in CIDR block': [
    netpol('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: sel({ pod: 'a' }),
      egress: [{ to: [{ ipBlock: { cidr: '10.244.1.11/32' } }] }],
      policyTypes: ['Egress'],
    }),
  ],
  'except clause in CIDR block': [
    netpol('x', 'allow-client-a-via-cidr-egress-rule', {
      podSelector: sel({ pod: 'a' }),
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/4', except: ['10.244.0.11/32'] } }] }],
      policyTypes: ['Egress'],
    }),
  ],
  'ingress and egress controlled independently': [
    netpol('x', 'allow-egress-for-target', {
      podSelector: sel({ pod: 'a' }),
      egress: [{}],
      policyTypes: ['Egress'],
    }),
    netpol('x', 'deny-ingress-for-target', { podSelector: sel({ pod: 'a' }), policyTypes: ['Ingress'] }),
  ],
  'only UDP allowed': [
    netpol('x', 'allow-only-UDP', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ ports: [{ protocol: 'UDP', port: 81 }] }],
      policyTypes: ['Ingress'],
    }),
  ],
  'only SCTP allowed': [
    netpol('x', 'allow-only-SCTP', {
      podSelector: sel({ pod: 'a' }),
      ingress: [{ ports: [{ protocol: 'SCTP', port: 81 }] }],
      policyTypes: ['Ingress'],
    }),
  ],
  'multiple ingress policies, allow-all wins': [
    netpol('x', 'allow-ingress-port-80', {
      podSelector: {},
      ingress: [{ ports: [{ port: 'serve-80-tcp' }] }],
    }),
    netpol('x', 'allow-ingress', { podSelector: {}, ingress: [{}] }),
  ],
};
