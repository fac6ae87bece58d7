// A small JSON Schema (2020-12) checker for the keywords docs/trace-json.schema.json uses: $ref into $defs,
// type, const, enum, properties, required, additionalProperties: false, items, oneOf, minimum, maximum,
// minLength, pattern. An unknown keyword is an error, so the schema cannot silently outgrow the checker.
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const KNOWN = new Set([
  '$schema',
  '$id',
  '$defs',
  '$ref',
  'title',
  'description',
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'oneOf',
  'minimum',
  'maximum',
  'minLength',
  'pattern',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every violation as `path: message`; empty when the value conforms. */
export function checkSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolve = (ref: string): Schema => {
    if (ref === '#') return root;
    const m = /^#\/\$defs\/(.+)$/.exec(ref);
    const defs = root.$defs as Record<string, Schema> | undefined;
    const s = m ? defs?.[m[1]!] : undefined;
    if (!s) throw new Error(`unresolvable $ref ${ref}`);
    return s;
  };
  const check = (s: Schema, v: unknown, path: string, out: string[]): void => {
    for (const k of Object.keys(s))
      if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} at ${path} unsupported`);
    if (typeof s.$ref === 'string') check(resolve(s.$ref), v, path, out);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
        out.push(`${path}: expected ${types.join('|')}, got ${t}`);
        return;
      }
    }
    if ('const' in s && !deepEqual(s.const, v)) out.push(`${path}: expected ${JSON.stringify(s.const)}`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) {
      out.push(`${path}: ${JSON.stringify(v)} not in enum`);
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${path}: ${v} < ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${path}: ${v} > ${s.maximum}`);
    }
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && v.length < s.minLength)
        out.push(`${path}: shorter than ${s.minLength}`);
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) {
        out.push(`${path}: ${JSON.stringify(v)} does not match ${s.pattern}`);
      }
    }
    if (Array.isArray(v) && s.items && typeof s.items === 'object') {
      v.forEach((item, i) => {
        check(s.items as Schema, item, `${path}[${i}]`, out);
      });
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const obj = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      if (Array.isArray(s.required)) {
        for (const r of s.required) if (!(String(r) in obj)) out.push(`${path}: missing ${String(r)}`);
      }
      for (const [k, val] of Object.entries(obj)) {
        if (props[k]) check(props[k], val, `${path}.${k}`, out);
        else if (s.additionalProperties === false) out.push(`${path}: unexpected property ${k}`);
      }
    }
    if (Array.isArray(s.oneOf)) {
      const passing = s.oneOf.filter((sub) => {
        const e: string[] = [];
        check(sub as Schema, v, path, e);
        return e.length === 0;
      });
      if (passing.length !== 1) out.push(`${path}: matches ${passing.length} of oneOf, expected exactly 1`);
    }
  };
  check(root, value, '$', errors);
  return errors;
}
