// docs/dns-json.md's examples are the engine's real output for the test fixture.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answerQuery, buildCoreDns } from '../../src/dns/coredns.js';
import { podLookupJson, serverQueryJson } from '../../src/dns/json.js';
import { resolve } from '../../src/dns/stub-resolver.js';
import { client, demoState, upstreams } from './fixture.js';

const doc = readFileSync(new URL('../../docs/dns-json.md', import.meta.url), 'utf8');
const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (m) => JSON.parse(m[1]!) as Record<string, unknown>,
);

const st = demoState();
st.services[2]!.metadata.creationTimestamp = '2023-11-14T22:13:20Z';
const model = buildCoreDns(st, { upstreams });

describe('docs/dns-json.md', () => {
  it('shows a real pod lookup (notes abridged)', () => {
    const real = podLookupJson(resolve(model, 'google.com', client));
    const { notes, ...rest } = examples[0]!;
    expect({ ...real, notes: undefined }).toEqual({ ...rest, notes: undefined });
    expect(real.notes[0]).toBe((notes as string[])[0]);
  });
  it('shows a real server query', () => {
    expect(serverQueryJson(answerQuery(model, 'nope.shop.svc.cluster.local', 'A'))).toEqual(examples[1]);
  });
});
