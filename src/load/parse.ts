// Text → plain objects, each with its position and the position of every field inside it.
// YAML (multi-document streams) and JSON, `kind: List` and the `*List` kinds kubectl prints.
import {
  Composer,
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  type ScalarTag,
  type YAMLError,
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

/**
 * A yaml error as a problem. Mirrors what parseAllDocuments' prettyErrors adds (`linePos` from the
 * line counter, " at line L, column C" on the message, nothing when the position is unknown); done
 * here because documents are composed one at a time and the counter is complete only at the end.
 */
function yamlProblem(file: string, e: YAMLError, lc: LineCounter): InputProblem {
  const known = e.pos[0] !== -1;
  const lp = known ? lc.linePos(e.pos[0]) : undefined;
  return {
    file,
    line: lp?.line,
    col: lp?.col,
    message: `YAML syntax error: ${yamlMessage(lp ? `${e.message} at line ${lp.line}, column ${lp.col}` : e.message)}`,
  };
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

/** go-yaml v2's yamlStyleFloat, exponent form (resolve.go): digits, or `.digits`, before the `e`. */
const GO_YAML_FLOAT_EXP = /^[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$/;

export function parseSource(src: SourceText, order = 0): ParseResult {
  const lc = new LineCounter();
  const composer = new Composer({
    lineCounter: lc,
    uniqueKeys: true,
    prettyErrors: true,
    // kubectl reads YAML with go-yaml v2 (sigs.k8s.io/yaml): YAML 1.1, so `yes`/`on` are booleans, `010`
    // is octal and `<<` merges; but timestamps and 1:20 sexagesimals stay strings there.
    version: '1.1',
    customTags: (tags) =>
      tags
        .filter(
          (t) => !(typeof t === 'object' && (t.tag === TIMESTAMP || ('format' in t && t.format === 'TIME'))),
        )
        // go-yaml's float needs a digit before the exponent (`e0`, `.e5` stay strings); yaml's 1.1 schema does not.
        .map((t) =>
          typeof t === 'object' && 'format' in t && t.format === 'EXP'
            ? ({ ...t, test: GO_YAML_FLOAT_EXP } as ScalarTag)
            : t,
        ),
  });
  // Documents are composed and converted one at a time (parseAllDocuments would hold every document's
  // syntax tree at once: for a 5 MiB dump, hundreds of MiB and most of the loader's time in GC).
  const docs = composer.compose(new Parser(lc.addNewLine).parse(src.text));
  return withPlainEnv(() => {
    if (/\.json$/i.test(src.file) && src.text.trim() !== '') {
      // The line counter is filled as the text is read.
      const all = [...docs];
      const jp = jsonProblem(src, lc);
      if (jp) return { objects: [], problems: [jp] };
      return convertDocuments(all, src, lc, order);
    }
    return convertDocuments(docs, src, lc, order);
  });
}

/**
 * Runs fn with process.env as a plain copy. yaml's parser reads process.env.LOG_TOKENS once per token,
 * and process.env is an interceptor that asks the C library each time: for a 5 MiB dump that was a
 * seventh of the loader's time. The copy holds the same values and the real object is put back.
 */
function withPlainEnv<T>(fn: () => T): T {
  // No process (a browser): nothing to work around.
  if (typeof process === 'undefined' || !process.env) return fn();
  const env = process.env;
  process.env = { ...env };
  try {
    return fn();
  } finally {
    process.env = env;
  }
}

function convertDocuments(
  docs: Iterable<Document.Parsed>,
  src: SourceText,
  lc: LineCounter,
  order: number,
): ParseResult {
  const objects: ParsedObject[] = [];
  // Problems in document order. A document with syntax errors is kept and reported once the whole
  // text is read: error positions need every line start.
  const slots: (InputProblem | Document.Parsed)[] = [];
  for (const doc of docs) {
    if (doc.errors.length) {
      slots.push(doc);
      continue;
    }
    const root = doc.contents as Node | null;
    // Empty documents (`---` twice, comments only) are what helm template emits for disabled templates.
    if (!root || (isScalar(root) && (root.value === null || root.value === undefined))) continue;
    const start = lc.linePos(root.range?.[0] ?? 0);
    if (!isMap(root)) {
      slots.push({
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
        slots.push({
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
  const problems: InputProblem[] = [];
  for (const slot of slots) {
    if (!('errors' in slot)) problems.push(slot as InputProblem);
    else for (const e of slot.errors) problems.push(yamlProblem(src.file, e, lc));
  }
  return { objects, problems };
}

/** Joins a schema path written with dots (`ipBlock.cidr`) under a parent path. */
export function subPath(parent: string, schemaPath: string): string {
  return parent ? `${parent}.${schemaPath}` : schemaPath;
}
