// Chain-name hashing (checked against node:crypto + a literal RFC 4648 base32, and the names the
// upstream tests use), local-traffic detector modes, IPv6 output, jump rules and kubelet's rules.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointChain, hash16 } from '../../../src/agents/kube-proxy/iptables/chain-names.js';
import { iptablesJumpCommands } from '../../../src/agents/kube-proxy/iptables/jump-rules.js';
import { masqueradeMark, syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import { kubeletIptablesCommands } from '../../../src/agents/kube-proxy/kubelet.js';
import { Prefix } from '../../../src/net/ip.js';
import { chainRules, fakeIptables, fakeProxierInput, makeService, makeSlice } from './helpers.js';

/** Base32 the slow, obvious way: a bit string cut into 5-bit groups. */
function referenceHash16(text: string): string {
  const bits = [...createHash('sha256').update(text, 'utf8').digest()]
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('');
  let out = '';
  for (let i = 0; i < 80; i += 5)
    out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[Number.parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

describe('chain names', () => {
  it('match the names upstream tests use (reference §1.2)', () => {
    expect(hash16('ns1/svc1:p80tcp')).toBe('XPGD46QRK7WJZT7O');
    expect(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(hash16('default/kubernetes:httpstcp')).toBe('NPX46M4PTMTKRN6Y');
    expect(hash16('kube-system/kube-dns:dnsudp')).toBe('TCOU7JCQXEZGVUNU');
  });
  it('equal base32(sha256(x))[:16] for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 200, unit: 'grapheme' })),
        (s) => {
          expect(hash16(s)).toBe(referenceHash16(s));
        },
      ),
    );
  });
});

describe('masquerade mark', () => {
  it('is 0x4000 in upstream tests and %#08x in production', () => {
    expect(masqueradeMark(14, 'upstream-test')).toBe('0x4000');
    expect(masqueradeMark(14, 'production')).toBe('0x00004000');
    expect(masqueradeMark(15, 'production')).toBe('0x00008000');
  });
});

const svcLocal = makeService(
  'ns1',
  'svc1',
  {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    clusterIP: '172.30.0.41',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
  },
  { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
);
const sliceLocal = makeSlice('ns1', 'svc1', 1, {
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }],
  ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
});

describe('local traffic detector modes (reference §1.12)', () => {
  const svcRules = (config: Parameters<typeof fakeProxierInput>[2]) => {
    const payload = syncIptablesRules(fakeProxierInput([svcLocal], [sliceLocal], config)).restorePayload;
    return {
      svc: chainRules(payload, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O').split('\n')[0],
      ext: chainRules(payload, 'nat', 'KUBE-EXT-XPGD46QRK7WJZT7O').split('\n')[0],
    };
  };
  const masq = (m: string) =>
    `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ${m} -j KUBE-MARK-MASQ`;
  const pod = (m: string) =>
    `-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" ${m} -j KUBE-SVC-XPGD46QRK7WJZT7O`;
  it('ClusterCIDR', () => {
    expect(svcRules({})).toEqual({ svc: masq('! -s 10.0.0.0/8'), ext: pod('-s 10.0.0.0/8') });
  });
  it('NodeCIDR uses the node pod CIDR', () => {
    const input = fakeProxierInput([svcLocal], [sliceLocal], { config: { detectLocalMode: 'NodeCIDR' } });
    const payload = syncIptablesRules({
      ...input,
      nodePodCIDRs: [Prefix.parse('10.244.1.0/24')],
    }).restorePayload;
    expect(chainRules(payload, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O').split('\n')[0]).toBe(
      masq('! -s 10.244.1.0/24'),
    );
  });
  it('BridgeInterface', () => {
    expect(svcRules({ config: { detectLocalMode: 'BridgeInterface', bridgeInterface: 'cbr0' } })).toEqual({
      svc: masq('! -i cbr0'),
      ext: pod('-i cbr0'),
    });
  });
  it('InterfaceNamePrefix', () => {
    expect(
      svcRules({ config: { detectLocalMode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' } }),
    ).toEqual({
      svc: masq('! -i veth+'),
      ext: pod('-i veth+'),
    });
  });
});

describe('IPv6 (reference §1.15)', () => {
  const svc = makeService('ns1', 'svc1', {
    type: 'NodePort',
    clusterIP: 'fd00:172:30::41',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
  });
  const slice = makeSlice('ns1', 'svc1', 1, {
    addressType: 'IPv6',
    endpoints: [{ addresses: ['fd00:10:180::1'] }],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  });
  const out = syncIptablesRules(fakeProxierInput([svc], [slice], { family: 6 }));
  it('uses [ip]:port DNAT, ! -d ::1/128, the v6 pod CIDR, and no KUBE-FIREWALL or route_localnet', () => {
    const sep = endpointChain('ns1/svc1:p80', 'tcp', '[fd00:10:180::1]:80');
    expect(chainRules(out.restorePayload, 'nat', sep)).toBe(
      `-A ${sep} -m comment --comment ns1/svc1:p80 -s fd00:10:180::1 -j KUBE-MARK-MASQ\n` +
        `-A ${sep} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination [fd00:10:180::1]:80\n`,
    );
    expect(out.restorePayload).toContain(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS',
    );
    expect(out.restorePayload).toContain('! -s fd00:10::/64 -j KUBE-MARK-MASQ');
    expect(out.restorePayload).not.toContain('KUBE-FIREWALL');
    expect(out.restorePayload).not.toContain('127.0.0.0/8');
    expect(out.sysctls).toEqual({});
  });
  it('ignores IPv4 slices and services without a v6 ClusterIP', () => {
    const v4 = makeService('ns2', 'svc2', {
      clusterIP: '172.30.0.42',
      ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
    });
    const again = syncIptablesRules(fakeProxierInput([svc, v4], [slice], { family: 6 }));
    expect(again.restorePayload).toBe(out.restorePayload);
  });
});

describe('nodePortAddresses (reference §1.11)', () => {
  it('writes one tail rule per matching interface address, loopback only with localhost NodePorts', () => {
    const input = fakeProxierInput([svcLocal], [sliceLocal], {
      config: { nodePortAddresses: ['192.168.0.0/24', '127.0.0.0/8'] },
    });
    const tail = chainRules(syncIptablesRules(input).restorePayload, 'nat', 'KUBE-SERVICES')
      .split('\n')
      .filter((l) => l.includes('must be the last rule'));
    const c =
      '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
    expect(tail).toEqual([
      `-A KUBE-SERVICES ${c} -d 127.0.0.1 -j KUBE-NODEPORTS`,
      `-A KUBE-SERVICES ${c} -d 192.168.0.2 -j KUBE-NODEPORTS`,
    ]);
  });
  it('"primary" means the node IP', () => {
    const input = fakeProxierInput([svcLocal], [sliceLocal], { config: { nodePortAddresses: ['primary'] } });
    const out = syncIptablesRules(input);
    expect(out.restorePayload).toContain(
      'NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS',
    );
    // 127/8 is excluded, so localhost NodePorts are off: no KUBE-FIREWALL, no route_localnet.
    expect(out.sysctls).toEqual({});
    expect(chainRules(out.restorePayload, 'filter', 'KUBE-FIREWALL')).toBe('');
  });
});

describe('jump rules (reference §1.4)', () => {
  it('applied to a fresh node give the documented order', () => {
    const dump = fakeIptables(iptablesJumpCommands(), '');
    const rules = (table: string, chain: string) =>
      dump.tables
        .find((t) => t.name === table)
        ?.chains.find((c) => c.name === chain)
        ?.rules.map((r) => r.raw) ?? [];
    expect(rules('filter', 'INPUT')).toEqual([
      '-A INPUT -j KUBE-FIREWALL',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes load balancer firewall -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES',
    ]);
    expect(rules('nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES',
    ]);
    expect(rules('filter', 'OUTPUT')[0]).toBe('-A OUTPUT -j KUBE-FIREWALL');
  });
  it('create the canary chain in mangle, nat and filter first', () => {
    expect(iptablesJumpCommands().slice(0, 3)).toEqual([
      { table: 'mangle', op: 'new-chain', chain: 'KUBE-PROXY-CANARY' },
      { table: 'nat', op: 'new-chain', chain: 'KUBE-PROXY-CANARY' },
      { table: 'filter', op: 'new-chain', chain: 'KUBE-PROXY-CANARY' },
    ]);
  });
});

describe('kubelet iptables commands', () => {
  it('IPv4: hint chain, KUBE-FIREWALL jumps and rule, canaries', () => {
    const cmds = kubeletIptablesCommands({ family: 4 });
    expect(cmds.map((c) => `${c.table} ${c.op} ${c.chain}`)).toEqual([
      'mangle new-chain KUBE-IPTABLES-HINT',
      'filter new-chain KUBE-FIREWALL',
      'filter insert OUTPUT',
      'filter insert INPUT',
      'filter append KUBE-FIREWALL',
      'mangle new-chain KUBE-KUBELET-CANARY',
      'nat new-chain KUBE-KUBELET-CANARY',
      'filter new-chain KUBE-KUBELET-CANARY',
    ]);
  });
  it('IPv6: no KUBE-FIREWALL', () => {
    expect(kubeletIptablesCommands({ family: 6 }).some((c) => c.chain === 'KUBE-FIREWALL')).toBe(false);
  });
});
