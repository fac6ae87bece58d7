// kube-router's hashed names, checked against a real k3s node's iptables-save (embedded kube-router
// netpol controller; quoted in a public k3s troubleshooting thread, iptables v1.8.10 nf_tables).
import { describe, expect, it } from 'vitest';
import { base32, ruleUUID } from '../../../src/agents/policy/names.js';

describe('kube-router names', () => {
  it('base32 is RFC 4648 (Go base32.StdEncoding) without padding', () => {
    // RFC 4648 section 10 test vectors.
    const enc = (s: string) => base32(new TextEncoder().encode(s));
    expect(enc('f')).toBe('MY');
    expect(enc('fo')).toBe('MZXQ');
    expect(enc('foobar')).toBe('MZXW6YTBOI');
  });

  it('top-level jump comments carry the hash the real controller printed', () => {
    const jump = (builtin: string, custom: string) =>
      ruleUUID(builtin, ['-m', 'comment', '--comment', 'kube-router netpol', '-j', custom]);
    expect(jump('INPUT', 'KUBE-ROUTER-INPUT')).toBe('4IA2OSFRMVNDXBVV');
    expect(jump('FORWARD', 'KUBE-ROUTER-FORWARD')).toBe('TEMCG2JMHZYE7H7T');
    expect(jump('OUTPUT', 'KUBE-ROUTER-OUTPUT')).toBe('VEAAIY32XVBHCSCY');
  });

  it('KUBE-ROUTER-INPUT whitelist comments carry the real hashes', () => {
    expect(
      ruleUUID('KUBE-ROUTER-INPUT', [
        '-m',
        'comment',
        '--comment',
        'allow traffic to primary/secondary cluster IP range',
        '-d',
        '10.43.0.0/16',
        '-j',
        'RETURN',
      ]),
    ).toBe('EKROEGTNIJ3AP3LC');
    const nodePorts = (proto: string) =>
      ruleUUID('KUBE-ROUTER-INPUT', [
        '-p',
        proto,
        '-m',
        'comment',
        '--comment',
        `allow LOCAL ${proto.toUpperCase()} traffic to node ports`,
        '-m',
        'addrtype',
        '--dst-type',
        'LOCAL',
        '-m',
        'multiport',
        '--dports',
        '30000:32767',
        '-j',
        'RETURN',
      ]);
    expect(nodePorts('tcp')).toBe('LR7XO7NXDBGQJD2M');
    expect(nodePorts('udp')).toBe('76UCBPIZNGJNWNUZ');
  });
});
