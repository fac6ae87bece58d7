// Text → plain objects, each with its position and the position of every field inside it.
// YAML (multi-document streams) and JSON, `kind: List` and the `*List` kinds kubectl prints.
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from 'yaml';
import type { InputProblem } from '../model/errors.js';
import type { Position, SourceRef } from '../model/k8s.js';
import type { SourceText } from './sources.js';

export interface ParsedObject {
  /** The object as plain JSON data. */
  value: Record<string, unknown>;
  source: SourceRef;
  /** Where each map key itself sits (for "unknown field" problems, which are about the key). */
  keys: ReadonlyMap<string, Position>;
  /** Index of the input (for a stable order of problems). */
  order: number;
}

export interface ParseResult {
  objects: ParsedObject[];
  problems: InputProblem[];
}

const IDENT = /^[A-Za-z_$][\w$-]*$/;
const TIMESTAMP = 'tag:yaml.org,2002:timestamp';

/** `spec.ports[0].port`; map keys that are not plain names go in brackets as field.Path.Key prints them. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENT.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${key}]`;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty document';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/**
 * Records where every field sits. A scalar or a flow collection (`{a: b}`, `[1, 2]`) is located at
 * its value; a block collection or an empty value at its key, where a reader's eye goes.
 */
function collectFields(
  node: Node,
  path: string,
  lc: LineCounter,
  out: Map<string, Position>,
  keys: Map<string, Position>,
): void {
  const at = (offset: number): Position => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const p = childPath(path, key);
      const v = pair.value as Node | null;
      const keyStart = pair.key.range?.[0] ?? 0;
      const empty = !v?.range || (isScalar(v) && v.range[0] === v.range[1]);
      const block = (isMap(v) || isSeq(v)) && !v.flow;
      out.set(p, at(empty || block ? keyStart : v.range![0]));
      keys.set(p, at(keyStart));
      if (v && (isMap(v) || isSeq(v))) collectFields(v, p, lc, out, keys);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const n = item as Node | null;
      if (!n?.range) return;
      const p = childPath(path, i);
      out.set(p, at(n.range[0]));
      if (isMap(n) || isSeq(n)) collectFields(n, p, lc, out, keys);
    });
  }
}

function objectAt(node: Node, doc: Document, file: string, lc: LineCounter, order: number): ParsedObject {
  const fields = new Map<string, Position>();
  const keys = new Map<string, Position>();
  collectFields(node, '', lc, fields, keys);
  const p = lc.linePos(node.range?.[0] ?? 0);
  return {
    // Through the document, so that aliases (`<<: *base`) resolve against its anchors.
    value: node.toJS(doc) as Record<string, unknown>,
    source: { file, line: p.line, col: p.col, fields },
    keys,
    order,
  };
}

/** The first line of a yaml error (the rest is a code frame) without the trailing position. */
function yamlMessage(m: string): string {
  return (m.split('\n')[0] ?? m).replace(/ at line \d+, column \d+:?$/, '');
}

/** JSON.parse's own verdict, so `.json` files are held to JSON (YAML would accept more). */
function jsonProblem(src: SourceText, lc: LineCounter): InputProblem | undefined {
  try {
    JSON.parse(src.text);
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const pos = m ? lc.linePos(Number(m[1])) : undefined;
    return {
      file: src.file,
      line: pos?.line,
      col: pos?.col,
      message: `JSON syntax error: ${msg.replace(/ in JSON at position \d+.*$/, '')}`,
    };
  }
}

function isListKind(v: Record<string, unknown>): boolean {
  return typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

export function parseSource(src: SourceText, order = 0): ParseResult {
  const lc = new LineCounter();
  const objects: ParsedObject[] = [];
  const problems: InputProblem[] = [];
  const docs = parseAllDocuments(src.text, {
    lineCounter: lc,
    uniqueKeys: true,
    prettyErrors: true,
    // kubectl reads YAML with go-yaml v2 (sigs.k8s.io/yaml): YAML 1.1, so `yes`/`on` are booleans, `010`
    // is octal and `<<` merges; but timestamps and 1:20 sexagesimals stay strings there.
    version: '1.1',
    customTags: (tags) =>
      tags.filter(
        (t) => !(typeof t === 'object' && (t.tag === TIMESTAMP || ('format' in t && t.format === 'TIME'))),
      ),
  });
  if (/\.json$/i.test(src.file) && src.text.trim() !== '') {
    const jp = jsonProblem(src, lc);
    if (jp) return { objects, problems: [jp] };
  }
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const lp = e.linePos?.[0];
        problems.push({
          file: src.file,
          line: lp?.line,
          col: lp?.col,
          message: `YAML syntax error: ${yamlMessage(e.message)}`,
        });
      }
      continue;
    }
    const root = doc.contents as Node | null;
    // Empty documents (`---` twice, comments only) are what helm template emits for disabled templates.
    if (!root || (isScalar(root) && (root.value === null || root.value === undefined))) continue;
    const start = lc.linePos(root.range?.[0] ?? 0);
    if (!isMap(root)) {
      problems.push({
        file: src.file,
        line: start.line,
        col: start.col,
        message: `expected a Kubernetes object (a mapping with apiVersion, kind, metadata), found ${describe(root.toJS(doc))}`,
      });
      continue;
    }
    const whole = objectAt(root, doc, src.file, lc, order);
    if (!isListKind(whole.value)) {
      objects.push(whole);
      continue;
    }
    const itemsPair = root.items.find((p) => isScalar(p.key) && p.key.value === 'items');
    const items = itemsPair?.value;
    if (!isSeq(items)) continue;
    items.items.forEach((item, i) => {
      const n = item as Node | null;
      const pos = lc.linePos(n?.range?.[0] ?? root.range?.[0] ?? 0);
      if (!n || !isMap(n)) {
        problems.push({
          file: src.file,
          line: pos.line,
          col: pos.col,
          field: `items[${i}]`,
          message: `expected a Kubernetes object, found ${describe(n ? n.toJS(doc) : null)}`,
        });
        return;
      }
      objects.push(objectAt(n, doc, src.file, lc, order));
    });
  }
  return { objects, problems };
}

/** Joins a schema path written with dots (`ipBlock.cidr`) under a parent path. */
export function subPath(parent: string, schemaPath: string): string {
  return parent ? `${parent}.${schemaPath}` : schemaPath;
}
