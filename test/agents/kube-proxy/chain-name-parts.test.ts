// The chain names as kube-proxy computes them (base32(sha256(servicePortName + protocol [+ endpoint]))),
// read by the hasher from the parts without concatenating them: checked against node:crypto on the
// concatenation for any parts (non-ASCII in any part, every split point, inputs over one block).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clusterPolicyChain,
  endpointChain,
  hash16,
  portProtoHash,
} from '../../../src/agents/kube-proxy/iptables/chain-names.js';

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

const part = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.string({ maxLength: 20, unit: 'grapheme' }),
  fc.constantFrom('', 'tcp', 'udp', 'sctp', '10.180.0.1:80', '[fd00::1]:53', 'ns1/svc1:p80'),
);

describe('chain names from parts', () => {
  it('KUBE-SEP: equal to the hash of the concatenation, for any three parts', () => {
    fc.assert(
      fc.property(part, part, part, (a, b, c) => {
        expect(endpointChain(a, b, c)).toBe(`KUBE-SEP-${referenceHash16(a + b + c)}`);
      }),
      { numRuns: 500 },
    );
  });

  it('KUBE-SVC and the shared hash: equal to the hash of name + protocol', () => {
    fc.assert(
      fc.property(part, part, (a, b) => {
        expect(portProtoHash(a, b)).toBe(referenceHash16(a + b));
        expect(clusterPolicyChain(a, b)).toBe(`KUBE-SVC-${referenceHash16(a + b)}`);
      }),
      { numRuns: 300 },
    );
  });

  it('a non-ASCII part after an ASCII one leaves no trace in the next hash', () => {
    // The ASCII hasher stops part-way through its buffer on a non-ASCII char; the next call must
    // not see those bytes.
    expect(endpointChain('ns/svc:p', 'tcp', '10.0.0.1:80é')).toBe(
      `KUBE-SEP-${referenceHash16('ns/svc:ptcp10.0.0.1:80é')}`,
    );
    expect(endpointChain('ns/svc:p', 'tcp', '10.0.0.1:80')).toBe(
      `KUBE-SEP-${referenceHash16('ns/svc:ptcp10.0.0.1:80')}`,
    );
    expect(hash16('x'.repeat(56))).toBe(referenceHash16('x'.repeat(56)));
  });

  it('names are the upstream test names (pkg/proxy/iptables/proxier_test.go)', () => {
    expect(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(clusterPolicyChain('ns1/svc1:p80', 'tcp')).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
  });
});
