// The shortcuts for canonical IPv4 text (`-s 10.0.1.5`, `--to-destination 10.0.1.5:8080`) against a
// brute-force model of how iptables reads them: octets in decimal (leading zeros too), each 0-255;
// the address printed without leading zeros and with /32; a DNAT port read as strtoul base 0 does
// (a leading 0 means octal), 0-65535, printed in decimal.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalRule, splitWords, wordsToOptions } from '../../../src/node/iptables/index.js';

const octet = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.integer({ min: 0, max: 999 }).map(String),
  fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`),
);
const port = fc.oneof(
  fc.integer({ min: 0, max: 65535 }).map(String),
  fc.integer({ min: 65536, max: 99999 }).map(String),
  fc.integer({ min: 0, max: 999 }).map((n) => `0${n}`),
);

function stored(rule: string): string {
  try {
    return canonicalRule({ options: wordsToOptions(splitWords(rule)) }, 'nat')
      .options.map((o) => `${o.flag} ${o.args.join(' ')}`.trim())
      .join(' ');
  } catch {
    return 'refused';
  }
}

/** The model: undefined when iptables refuses the address. */
function modelAddress(octets: readonly string[]): string | undefined {
  const n = octets.map((o) => Number(o));
  return n.every((x) => x <= 255) ? n.join('.') : undefined;
}

describe('canonical IPv4 forms', () => {
  test('-s ADDRESS is stored as the /32 the model predicts', () => {
    fc.assert(
      fc.property(fc.array(octet, { minLength: 4, maxLength: 4 }), (o) => {
        const a = modelAddress(o);
        expect(stored(`-s ${o.join('.')} -j ACCEPT`)).toBe(a ? `-s ${a}/32 -j ACCEPT` : 'refused');
      }),
      { numRuns: 2000 },
    );
  });

  test('DNAT --to-destination ADDRESS:PORT is stored as the model predicts', () => {
    fc.assert(
      fc.property(fc.array(octet, { minLength: 4, maxLength: 4 }), port, (o, p) => {
        const a = modelAddress(o);
        const octal = /^0[0-7]+$/.test(p);
        const value = octal ? Number.parseInt(p.slice(1), 8) : /^\d+$/.test(p) ? Number(p) : Number.NaN;
        const ok = a !== undefined && value <= 65535;
        expect(stored(`-p tcp -j DNAT --to-destination ${o.join('.')}:${p}`)).toBe(
          ok ? `-p tcp -j DNAT --to-destination ${a}:${value}` : 'refused',
        );
      }),
      { numRuns: 2000 },
    );
  });
});
