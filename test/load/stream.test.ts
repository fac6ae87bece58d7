// parseSource composes documents one at a time (a 5 MiB dump would otherwise hold every syntax tree
// at once) and reports a document's syntax errors once the whole text is read. The oracle here is
// yaml's own parseAllDocuments with prettyErrors, as the loader used it before: on random streams of
// valid, broken, scalar and list documents, the problems (order, line, column, message) and the
// objects must be the same.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { parseSource } from '../../src/load/parse.js';

const TIMESTAMP = 'tag:yaml.org,2002:timestamp';

/** What the loader made of yaml's all-at-once parse: syntax problems, in document order. */
function oracleSyntaxProblems(text: string): string[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lc,
    uniqueKeys: true,
    prettyErrors: true,
    version: '1.1',
    customTags: (tags) =>
      tags.filter(
        (t) => !(typeof t === 'object' && (t.tag === TIMESTAMP || ('format' in t && t.format === 'TIME'))),
      ),
  });
  const out: string[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    for (const e of doc.errors) {
      const lp = e.linePos?.[0];
      const msg = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      out.push(`${lp?.line}:${lp?.col}: YAML syntax error: ${msg}`);
    }
  }
  return out;
}

const DOCS = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n',
  'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: [{port: 80}]\n',
  'a: [1, 2\n',
  'a: b: c\n',
  'k: 1\nk: 2\n',
  '\tx: 1\n',
  'just a scalar\n',
  '- a\n- b\n',
  'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: l}}\n  - 3\n',
  '# only a comment\n',
  'key: "unterminated\n',
  '{a: 1,\n',
];

describe('parseSource streams documents', () => {
  test('problems and objects match the all-at-once parse', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...DOCS), { minLength: 1, maxLength: 6 }), (docs) => {
        const text = docs.join('---\n');
        const r = parseSource({ file: 'in.yaml', text });
        const syntax = r.problems
          .filter((p) => p.message.startsWith('YAML syntax error'))
          .map((p) => `${p.line}:${p.col}: ${p.message}`);
        expect(syntax).toEqual(oracleSyntaxProblems(text));
        // Objects keep their positions: each object's line is where its mapping starts.
        for (const o of r.objects) expect(text.split('\n')[o.source.line - 1]).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  test('a syntax error between documents is reported in document order', () => {
    const text = [DOCS[0], DOCS[2], DOCS[6], DOCS[1]].join('---\n');
    const r = parseSource({ file: 'in.yaml', text });
    expect(r.objects.map((o) => o.source.line)).toEqual([1, 9]);
    expect(r.problems.map((p) => `${p.line}:${p.col}`)).toEqual([...oracleLines(text), '7:1']);
  });
});

function oracleLines(text: string): string[] {
  return oracleSyntaxProblems(text).map((p) => p.split(':').slice(0, 2).join(':'));
}
