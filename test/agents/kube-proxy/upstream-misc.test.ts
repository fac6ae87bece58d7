// Ported from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go (commit 531be812…):
// TestBadIPs (full expected dump), TestLoadBalancerIngressRouteTypeProxy.
import { describe, expect, it } from 'vitest';
import { syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import { dedent, fakeProxierInput, makeService, makeSlice, parseDump, sortIPTablesRules } from './helpers.js';

const p80Slice = (address: string) =>
  makeSlice('ns1', 'svc1', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: [address] }],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  });

describe('TestBadIPs', () => {
  it('rewrites sloppy IPs and CIDRs into canonical ones', () => {
    const svc = makeService(
      'ns1',
      'svc1',
      {
        type: 'LoadBalancer',
        clusterIP: '172.30.0.041',
        ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
        externalIPs: ['192.168.099.022'],
        loadBalancerSourceRanges: ['203.0.113.000/025'],
      },
      { loadBalancer: { ingress: [{ ip: '1.2.3.004' }] } },
    );
    const out = syncIptablesRules(fakeProxierInput([svc], [p80Slice('10.180.00.001')]));
    expect(sortIPTablesRules(out.restorePayload)).toBe(
      dedent(`
      *filter
      :KUBE-NODEPORTS - [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-EXTERNAL-SERVICES - [0:0]
      :KUBE-FIREWALL - [0:0]
      :KUBE-FORWARD - [0:0]
      :KUBE-PROXY-FIREWALL - [0:0]
      -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
      -A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
      -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
      -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      -A KUBE-PROXY-FIREWALL -m comment --comment "ns1/svc1:p80 traffic not accepted by KUBE-FW-XPGD46QRK7WJZT7O" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
      COMMIT
      *nat
      :KUBE-NODEPORTS - [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-EXT-XPGD46QRK7WJZT7O - [0:0]
      :KUBE-FW-XPGD46QRK7WJZT7O - [0:0]
      :KUBE-MARK-MASQ - [0:0]
      :KUBE-POSTROUTING - [0:0]
      :KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
      :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
      -A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-XPGD46QRK7WJZT7O
      -A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-XPGD46QRK7WJZT7O
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-FW-XPGD46QRK7WJZT7O
      -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
      -A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ
      -A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O
      -A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-XPGD46QRK7WJZT7O
      -A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"
      -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
      -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
      -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
      -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
      -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
      -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
      -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
      -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
      COMMIT
      `),
    );
  });
});

describe('TestLoadBalancerIngressRouteTypeProxy', () => {
  const cases: {
    name: string;
    svcIP: string;
    lbIP: string;
    ipMode?: 'Proxy' | 'VIP';
    expectedRule: boolean;
  }[] = [
    { name: 'ipMode Proxy', svcIP: '10.20.30.41', lbIP: '1.2.3.4', ipMode: 'Proxy', expectedRule: false },
    { name: 'ipMode VIP', svcIP: '10.20.30.42', lbIP: '1.2.3.5', ipMode: 'VIP', expectedRule: true },
    { name: 'ipMode nil', svcIP: '10.20.30.43', lbIP: '1.2.3.6', expectedRule: true },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const svc = makeService(
        'ns1',
        'svc1',
        {
          type: 'LoadBalancer',
          clusterIP: tc.svcIP,
          ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
        },
        { loadBalancer: { ingress: [{ ip: tc.lbIP, ...(tc.ipMode ? { ipMode: tc.ipMode } : {}) }] } },
      );
      const dump = parseDump(
        syncIptablesRules(fakeProxierInput([svc], [p80Slice('10.180.0.1')])).restorePayload,
      );
      const rules =
        dump.tables.find((t) => t.name === 'nat')?.chains.find((c) => c.name === 'KUBE-SERVICES')?.rules ??
        [];
      expect(rules.some((r) => r.dest?.value === tc.lbIP)).toBe(tc.expectedRule);
    });
  }
});
