import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runControlPlane } from '../../src/control/index.js';
import {
  BandedRange,
  clusterIPBandOffset,
  nodePortBandOffset,
  ServiceIPRange,
} from '../../src/control/service-allocation.js';
import { InputError } from '../../src/model/errors.js';
import type { Service } from '../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { cluster, declaredNodes, kubeadmConfig, service } from './fixture.js';

function run(services: Service[], over = {}) {
  const s = runControlPlane(
    cluster({ services, config: kubeadmConfig({ nodes: declaredNodes(1), ...over }) }),
  );
  return { state: s, svc: (name: string) => s.services.find((x) => x.metadata.name === name)! };
}

function problems(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.problems;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('band offsets (KEP-3070, KEP-3668)', () => {
  it('match the upstream formulas', () => {
    // ipallocator: min(max(16, size/16), 256); a /12 has 2^20 addresses → 256, a /24 → 16, a /28 → 0.
    expect(clusterIPBandOffset(2 ** 20)).toBe(256);
    expect(clusterIPBandOffset(256)).toBe(16);
    expect(clusterIPBandOffset(16)).toBe(0);
    // portallocator: min(max(16, size/32), 128); 30000-32767 is 2768 ports → 86.
    expect(nodePortBandOffset(2768)).toBe(86);
    expect(nodePortBandOffset(100000)).toBe(128);
  });
});

describe('ClusterIP allocation', () => {
  it('gives kubernetes the first address, kube-dns the DNS IP, keeps stated IPs, and allocates the rest in the upper band', () => {
    const { svc } = run([service('a', { clusterIP: '10.96.0.15' }), service('b'), service('c')]);
    expect(svc('kubernetes').spec.clusterIP).toBe('10.96.0.1');
    expect(svc('kube-dns').spec.clusterIP).toBe('10.96.0.10');
    expect(svc('a').spec.clusterIP).toBe('10.96.0.15');
    for (const n of ['b', 'c']) {
      const ip = IPAddr.parse(svc(n).spec.clusterIP!);
      expect(Prefix.parse('10.96.0.0/12').contains(ip)).toBe(true);
      // The dynamic band starts after the 256 static addresses: 10.96.1.1.
      expect(ip.compare(IPAddr.parse('10.96.1.1'))).toBeGreaterThanOrEqual(0);
      expect(svc(n).spec.clusterIPs).toEqual([svc(n).spec.clusterIP]);
      expect(svc(n).spec.ipFamilies).toEqual(['IPv4']);
      expect(svc(n).spec.ipFamilyPolicy).toBe('SingleStack');
    }
  });

  it('gives a user-defined kube-dns without clusterIP the DNS IP, and refuses another service on the first address', () => {
    const dns = service('kube-dns', { selector: { 'k8s-app': 'kube-dns' } }, 'kube-system');
    expect(run([dns]).svc('kube-dns').spec.clusterIP).toBe('10.96.0.10');
    const ps = problems(() => run([service('a', { clusterIP: '10.96.0.1' })]));
    expect(ps.map((p) => [p.object, p.message])).toEqual([
      ['Service default/kubernetes', 'its fixed address 10.96.0.1 is already taken by Service default/a'],
    ]);
  });

  it('keeps headless None and gives ExternalName no ClusterIP', () => {
    const { svc } = run([
      service('h', { clusterIP: 'None' }),
      { ...service('x'), spec: { type: 'ExternalName', externalName: 'example.com' } },
    ]);
    expect(svc('h').spec.clusterIPs).toEqual(['None']);
    expect(svc('h').spec.ipFamilies).toEqual(['IPv4']);
    expect(svc('x').spec.clusterIP).toBeUndefined();
    expect(svc('x').spec.ipFamilies).toBeUndefined();
  });

  it('rejects clusterIPs outside the service CIDR, the network address, and duplicates (both named)', () => {
    const ps = problems(() =>
      run([
        service('a', { clusterIP: '10.0.0.1' }),
        service('b', { clusterIP: '10.96.0.0' }),
        service('c', { clusterIP: '10.96.0.10' }),
      ]),
    );
    expect(ps.map((p) => [p.object, p.field, p.message])).toEqual([
      [
        'Service default/a',
        'spec.clusterIP',
        '10.0.0.1 is not a usable address of the service CIDR 10.96.0.0/12',
      ],
      [
        'Service default/b',
        'spec.clusterIP',
        '10.96.0.0 is not a usable address of the service CIDR 10.96.0.0/12',
      ],
      [
        'Service default/c',
        'spec.clusterIP',
        'clusterIP 10.96.0.10 is already used by Service kube-system/kube-dns',
      ],
      [
        'Service kube-system/kube-dns',
        'spec.clusterIP',
        'clusterIP 10.96.0.10 is also used by Service default/c',
      ],
    ]);
    expect(ps[0]).toMatchObject({ file: 'input.yaml', line: 7, col: 3 });
  });

  it('never collides and stays in the usable range, even when the CIDR fills up (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 24, max: 28 }), fc.integer({ min: 0, max: 300 }), (len, n) => {
        const range = new ServiceIPRange(Prefix.parse(`10.96.0.0/${len}`));
        const got = new Set<number>();
        for (let i = 0; i < n; i++) {
          const slot = range.slots.allocate(`ns/svc-${i}`);
          if (i < range.slots.size) {
            expect(slot).toBeDefined();
            expect(got.has(slot!)).toBe(false);
            got.add(slot!);
            const ip = range.ipOf(slot!);
            expect(ip.value).toBeGreaterThan(range.cidr.addr.value);
            expect(ip.value).toBeLessThan(range.cidr.last.value);
          } else expect(slot).toBeUndefined();
        }
      }),
    );
  });

  it('fills the upper band before the lower one', () => {
    const r = new BandedRange(40, 16);
    const order = Array.from({ length: 40 }, (_, i) => r.allocate(`s${i}`)!);
    expect(order.slice(0, 24).every((i) => i >= 16)).toBe(true);
    expect(order.slice(24).every((i) => i < 16)).toBe(true);
  });
});

describe('NodePort allocation', () => {
  it('keeps stated nodePorts, allocates missing ones in range, and shares one port for TCP+UDP of the same number', () => {
    const { svc } = run([
      service('a', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
      service('dns', {
        type: 'NodePort',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      }),
    ]);
    expect(svc('a').spec.ports![0]!.nodePort).toBe(30080);
    const [udp, tcp] = svc('dns').spec.ports!;
    expect(udp!.nodePort).toBe(tcp!.nodePort);
    expect(udp!.nodePort).toBeGreaterThanOrEqual(30086);
    expect(udp!.nodePort).toBeLessThanOrEqual(32767);
    expect(svc('a').spec.externalTrafficPolicy).toBe('Cluster');
  });

  it('rejects nodePorts outside the range and duplicates', () => {
    const ps = problems(() =>
      run([
        service('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }),
        service('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }),
        service('c', { type: 'NodePort', ports: [{ port: 81, nodePort: 30001 }] }),
      ]),
    );
    expect(ps.map((p) => [p.object, p.field, p.message])).toEqual([
      [
        'Service default/a',
        'spec.ports[0].nodePort',
        'nodePort 8080 is outside the NodePort range 30000-32767',
      ],
      ['Service default/c', 'spec.ports[0].nodePort', 'nodePort 30001 is already used by Service default/b'],
      ['Service default/b', 'spec.ports[0].nodePort', 'nodePort 30001 is also used by Service default/c'],
    ]);
    expect(ps[0]).toMatchObject({ line: 10, col: 7 });
  });

  it('honours allocateLoadBalancerNodePorts: false and allocates healthCheckNodePort for eTP Local', () => {
    const { svc } = run(
      [
        service('a', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }),
        service('b', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
        service('c', { type: 'LoadBalancer' }),
      ],
      { loadBalancer: { pool: [Prefix.parse('203.0.113.0/31')], sourceMode: 'preserve' } },
    );
    expect(svc('a').spec.ports![0]!.nodePort).toBeUndefined();
    expect(svc('b').spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(svc('b').spec.healthCheckNodePort).not.toBe(svc('b').spec.ports![0]!.nodePort);
    expect(svc('c').spec.healthCheckNodePort).toBeUndefined();
  });

  it('never hands out a port twice, nor one outside the range (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            stated: fc.option(fc.integer({ min: 30000, max: 30050 }), { nil: undefined }),
            ports: fc.integer({ min: 1, max: 3 }),
          }),
          { maxLength: 20 },
        ),
        (specs) => {
          const used = new Set<number>();
          const services = specs.map((s, i) => {
            const stated = s.stated !== undefined && !used.has(s.stated) ? s.stated : undefined;
            if (stated) used.add(stated);
            return service(`s${i}`, {
              type: 'NodePort',
              ports: Array.from({ length: s.ports }, (_, k) => ({
                port: 80 + k,
                ...(k === 0 && stated ? { nodePort: stated } : {}),
              })),
            });
          });
          const { state } = run(services, { nodePortRange: { from: 30000, to: 30100 } });
          const seen = new Set<number>();
          for (const svc of state.services) {
            for (const p of svc.spec.ports ?? []) {
              if (svc.spec.type !== 'NodePort') continue;
              expect(p.nodePort).toBeGreaterThanOrEqual(30000);
              expect(p.nodePort).toBeLessThanOrEqual(30100);
              expect(seen.has(p.nodePort!)).toBe(false);
              seen.add(p.nodePort!);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('LoadBalancer ingress', () => {
  const pool = {
    loadBalancer: {
      pool: [Prefix.parse('203.0.113.50/32'), Prefix.parse('203.0.113.60/31')],
      sourceMode: 'preserve',
    },
  };

  it('keeps status, then loadBalancerIP, then hands out pool addresses in order, skipping used ones', () => {
    const { svc, state } = run(
      [
        service('a', { type: 'LoadBalancer' }),
        {
          ...service('b', { type: 'LoadBalancer' }),
          status: { loadBalancer: { ingress: [{ ip: '203.0.113.50' }] } },
        },
        service('c', { type: 'LoadBalancer', loadBalancerIP: '203.0.113.61' }),
        service('d', { type: 'LoadBalancer' }),
        service('e', { type: 'LoadBalancer' }),
      ],
      pool,
    );
    expect(svc('a').status?.loadBalancer?.ingress).toEqual([{ ip: '203.0.113.60', ipMode: 'VIP' }]);
    expect(svc('b').status?.loadBalancer?.ingress).toEqual([{ ip: '203.0.113.50' }]);
    expect(svc('c').status?.loadBalancer?.ingress).toEqual([{ ip: '203.0.113.61', ipMode: 'VIP' }]);
    expect(svc('d').status?.loadBalancer).toEqual({});
    expect(state.warnings).toContain(
      'Service default/d: EXTERNAL-IP stays <pending>: no free address in the load balancer pool',
    );
    expect(state.warnings).toContain(
      'Service default/e: EXTERNAL-IP stays <pending>: no free address in the load balancer pool',
    );
  });
});
