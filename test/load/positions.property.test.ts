// Property: for any object written as YAML (block or flow style), the position recorded for each
// scalar field is where that scalar's text starts, and the parsed value round-trips.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { childPath, parseSource } from '../../src/load/parse.js';

type Tree = string | number | boolean | Tree[] | { [k: string]: Tree };

// Keys and strings that YAML 1.1 reads back as plain strings (a `v-`/`k` prefix keeps off y/n/on/123).
const key = fc.oneof(
  fc.stringMatching(/^k[a-z0-9]{0,6}$/),
  fc.stringMatching(/^k[a-z]{1,4}\.[a-z]{1,4}\/[a-z]{1,4}$/), // label-style keys go in brackets
);
const scalar = fc.oneof(
  fc.stringMatching(/^v-[a-z0-9]{0,8}$/),
  fc.integer({ min: 0, max: 70000 }),
  fc.boolean(),
);
const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { minLength: 1, maxLength: 3 }),
    fc.dictionary(key, tie('tree'), { minKeys: 1, maxKeys: 4 }),
  ),
}));
const root = fc.dictionary(key, tree, { minKeys: 1, maxKeys: 5 });

function scalars(t: Tree, path: string, out: [string, Tree][]): [string, Tree][] {
  if (Array.isArray(t)) {
    for (const [i, x] of t.entries()) scalars(x, childPath(path, i), out);
  } else if (typeof t === 'object')
    for (const [k, v] of Object.entries(t)) scalars(v, childPath(path, k), out);
  else out.push([path, t]);
  return out;
}

describe('field positions', () => {
  for (const flow of [false, true]) {
    it(`point at each scalar (${flow ? 'flow' : 'block'} style)`, () => {
      fc.assert(
        fc.property(root, (obj) => {
          const text = `# header\n${stringify(obj, flow ? { collectionStyle: 'flow' } : {})}`;
          const [parsed] = parseSource({ file: 'p.yaml', text }).objects;
          expect(parsed!.value).toEqual(obj);
          const lines = text.split('\n');
          for (const [path, v] of scalars(obj, '', [])) {
            const pos = parsed!.source.fields!.get(path);
            expect(pos, path).toBeDefined();
            const at = lines[pos!.line - 1]!.slice(pos!.col - 1);
            expect(
              at.startsWith(String(v)) || at.startsWith(JSON.stringify(v)),
              `${path} at ${pos!.line}:${pos!.col}: ${at}`,
            ).toBe(true);
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});
