import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPAddr, Prefix } from '../../src/net/ip.js';

describe('IPAddr', () => {
  it('parses and prints IPv4 and IPv6 canonically', () => {
    expect(IPAddr.parse('10.244.0.5').toString()).toBe('10.244.0.5');
    expect(IPAddr.parse('2001:DB8:0:0:0:0:0:1').toString()).toBe('2001:db8::1');
    expect(IPAddr.parse('fd00:10:180::2:1').toString()).toBe('fd00:10:180::2:1');
  });

  it('reads leading zeros as decimal, like Kubernetes ParseIPSloppy', () => {
    expect(IPAddr.parse('172.30.0.041').toString()).toBe('172.30.0.41');
  });

  it('rejects what is not one address', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4/32', 'fe80::1%eth0', '', 'abc']) {
      expect(IPAddr.tryParse(bad)).toBeUndefined();
    }
  });

  it('reads dotted quads exactly as the plain regex-and-split reading does', () => {
    // The brute-force reading: four groups of 1–3 ASCII digits, each at most 255.
    const brute = (text: string): bigint | undefined => {
      const s = text.trim();
      if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s)) return undefined;
      const parts = s.split('.').map(Number);
      if (parts.some((p) => p > 255)) return undefined;
      return parts.reduce((v, p) => v * 256n + BigInt(p), 0n);
    };
    const part = fc.stringMatching(/^[0-9٣]{0,4}$/);
    const text = fc.oneof(
      fc.stringMatching(/^[ 0-9.٣]{0,18}$/),
      fc.array(part, { minLength: 1, maxLength: 5 }).map((p) => p.join('.')),
      fc
        .tuple(fc.constantFrom('', ' '), fc.array(part, { minLength: 4, maxLength: 4 }))
        .map(([pad, p]) => `${pad}${p.join('.')}${pad}`),
    );
    fc.assert(
      fc.property(text, (t) => {
        const ip = IPAddr.tryParse(t);
        if (t.includes(':')) return;
        expect(ip?.value).toBe(brute(t));
        if (ip) expect(ip.family).toBe(4);
      }),
      { numRuns: 5000 },
    );
    for (const t of [
      '1.2.3.4',
      ' 01.002.3.4 ',
      '255.255.255.255',
      '256.1.1.1',
      '1.2.3.1000',
      '1..2.3',
      '.1.2.3',
    ]) {
      expect(IPAddr.tryParse(t)?.value).toBe(brute(t));
    }
  });

  it('joins host and port like Go net.JoinHostPort', () => {
    expect(IPAddr.parse('10.180.0.1').joinPort(80)).toBe('10.180.0.1:80');
    expect(IPAddr.parse('fd00:10:180::1').joinPort(80)).toBe('[fd00:10:180::1]:80');
  });

  it('round-trips every IPv4 value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const ip = IPAddr.fromBigInt(4, BigInt(n));
        expect(IPAddr.parse(ip.toString()).value).toBe(BigInt(n));
      }),
    );
  });

  it('round-trips IPv6 values', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (n) => {
        const ip = IPAddr.fromBigInt(6, n);
        expect(IPAddr.parse(ip.toString()).value).toBe(n);
      }),
    );
  });
});

describe('Prefix', () => {
  it('clears host bits like Go ParseCIDR', () => {
    expect(Prefix.parse('10.244.1.7/24').toString()).toBe('10.244.1.0/24');
    expect(Prefix.parse(' 192.168.0.0/16 ').toString()).toBe('192.168.0.0/16');
  });

  it('contains and covers', () => {
    const p = Prefix.parse('10.244.0.0/16');
    expect(p.contains(IPAddr.parse('10.244.255.1'))).toBe(true);
    expect(p.contains(IPAddr.parse('10.245.0.1'))).toBe(false);
    expect(p.covers(Prefix.parse('10.244.3.0/24'))).toBe(true);
    expect(Prefix.parse('10.244.3.0/24').covers(p)).toBe(false);
    expect(p.contains(IPAddr.parse('::1'))).toBe(false);
  });

  it('enumerates subnets in order, as the node CIDR allocator does', () => {
    const p = Prefix.parse('10.244.0.0/16');
    expect(p.subnet(24, 0).toString()).toBe('10.244.0.0/24');
    expect(p.subnet(24, 2).toString()).toBe('10.244.2.0/24');
    expect(() => p.subnet(24, 256)).toThrow();
    expect(Prefix.parse('10.96.0.0/12').nth(10).toString()).toBe('10.96.0.10');
  });

  it('contains agrees with a brute-force comparison of the leading bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (a, len, b) => {
          const p = Prefix.of(IPAddr.fromBigInt(4, BigInt(a)), len);
          const bitsA = a.toString(2).padStart(32, '0').slice(0, len);
          const bitsB = b.toString(2).padStart(32, '0').slice(0, len);
          expect(p.contains(IPAddr.fromBigInt(4, BigInt(b)))).toBe(bitsA === bitsB);
        },
      ),
    );
  });

  it('rejects malformed CIDRs', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0/8', '10.0.0.0/-1', '::/129']) {
      expect(Prefix.tryParse(bad)).toBeUndefined();
    }
  });
});
