// Validation and defaulting of policy objects: errors name file:line:col and the field path.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/model/errors.js';
import type { KObject, SourceRef } from '../../src/model/k8s.js';
import { parsePolicies } from '../../src/policy/types.js';
import { anp, banp, netpol } from './fixtures.js';

function problems(objects: KObject[], sources?: ReadonlyMap<string, SourceRef>): string[] {
  try {
    parsePolicies(objects, sources);
  } catch (e) {
    if (e instanceof InputError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('policy validation', () => {
  it('points at the field with its source position', () => {
    const src: SourceRef = {
      file: 'pol.yaml',
      line: 1,
      col: 1,
      fields: new Map([['spec.ingress[0].ports[0].endPort', { line: 12, col: 19 }]]),
    };
    const np = netpol('x', 'bad', { podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] });
    expect(problems([np], new Map([['NetworkPolicy/x/bad', src]]))).toEqual([
      'pol.yaml:12:19: NetworkPolicy x/bad spec.ingress[0].ports[0].endPort: must be greater than or equal to `port`',
    ]);
  });

  it('rejects what the API server rejects', () => {
    const bad = netpol('x', 'bad', {
      podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] },
      policyTypes: ['Inbound'],
      ingress: [
        {
          from: [
            {},
            { ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } },
            { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} },
          ],
          ports: [
            { protocol: 'ICMP' },
            { port: 'http', endPort: 90 },
            { port: 70000 },
            { endPort: 90 },
            { port: '80' },
          ],
        },
      ],
    });
    expect(problems([bad]).map((l) => l.replace(/^<input>: NetworkPolicy x\/bad /, ''))).toEqual([
      'spec.podSelector.matchExpressions[0].values: must be specified when operator is In',
      'spec.policyTypes[0]: must be Ingress or Egress, not "Inbound"',
      'spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)',
      'spec.ingress[0].from[1].ipBlock.except[0]: must be a strict subset of `cidr`',
      'spec.ingress[0].from[2]: may not specify more than 1 peer type (ipBlock with podSelector/namespaceSelector)',
      'spec.ingress[0].ports[0].protocol: unsupported protocol "ICMP": must be TCP, UDP or SCTP',
      'spec.ingress[0].ports[1].endPort: may not be specified when `port` is a named port',
      'spec.ingress[0].ports[2].port: must be a port number between 1 and 65535',
      'spec.ingress[0].ports[3].endPort: may not be specified when `port` is not specified',
      'spec.ingress[0].ports[4].port: "80" is not a valid port name (IANA_SVC_NAME)',
    ]);
  });

  it('defaults policyTypes and port protocols', () => {
    const set = parsePolicies([
      netpol('x', 'a', { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] }),
      netpol('x', 'b', { podSelector: {}, ingress: [{}], egress: [] }),
    ]);
    expect(set.networkPolicies.map((p) => p.policyTypes)).toEqual([['Ingress', 'Egress'], ['Ingress']]);
    expect(set.networkPolicies[0]!.egress[0]!.ports).toEqual([{ protocol: 'TCP', port: 53 }]);
  });

  it('validates AdminNetworkPolicy and BaselineAdminNetworkPolicy shapes', () => {
    const out = problems([
      anp('p', {
        priority: 1001,
        subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } },
        ingress: [{ name: 'r', action: 'Reject', from: [] }],
      }),
      banp({
        subject: { namespaces: {} },
        egress: [{ name: 'r', action: 'Pass', to: [{ namespaces: {} }] }],
      }),
      banp({ subject: { namespaces: {} } }, 'other'),
    ]);
    expect(out).toEqual([
      '<input>: AdminNetworkPolicy p spec.priority: must be an integer between 0 and 1000',
      '<input>: AdminNetworkPolicy p spec.subject: must specify exactly one of namespaces or pods',
      '<input>: AdminNetworkPolicy p spec.ingress[0].action: must be one of Allow, Deny, Pass',
      '<input>: AdminNetworkPolicy p spec.ingress[0].from: must have at least 1 peer',
      '<input>: BaselineAdminNetworkPolicy default spec.egress[0].action: must be one of Allow, Deny',
      '<input>: BaselineAdminNetworkPolicy other metadata.name: a BaselineAdminNetworkPolicy must be named "default"',
    ]);
  });

  it('reports policy kinds it does not model instead of ignoring them silently', () => {
    const set = parsePolicies([
      { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c', namespace: 'x' } },
    ]);
    expect(set.warnings).toEqual([
      'CiliumNetworkPolicy x/c (cilium.io/v2) is not modelled by the policy engine; it is ignored (UNSUPPORTED)',
    ]);
  });
});
