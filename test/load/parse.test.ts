import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/load/parse.js';
import { load, problems } from './problems.js';

const svc = (name: string, ns = 'default') =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  ports: [{port: 80}]\n`;

describe('positions', () => {
  it('records the object and every field, scalars at their value, block collections at their key', () => {
    const text = [
      '# leading comment', // 1
      'apiVersion: v1', // 2
      'kind: Service', // 3
      'metadata:', // 4
      '  name: web', // 5
      '  labels: {app: web, "app.kubernetes.io/name": web}', // 6
      'spec:', // 7
      '  ports:', // 8
      '    - name: http', // 9
      '      port: 80', // 10
      '    - {name: https, port: 443}', // 11
    ].join('\n');
    const [o] = parseSource({ file: 'a.yaml', text }).objects;
    const f = o!.source.fields!;
    expect([o!.source.line, o!.source.col]).toEqual([2, 1]);
    expect(f.get('metadata')).toEqual({ line: 4, col: 1 });
    expect(f.get('metadata.name')).toEqual({ line: 5, col: 9 });
    expect(f.get('metadata.labels')).toEqual({ line: 6, col: 11 });
    expect(f.get('metadata.labels.app')).toEqual({ line: 6, col: 17 });
    expect(f.get('metadata.labels[app.kubernetes.io/name]')).toEqual({ line: 6, col: 48 });
    expect(f.get('spec.ports')).toEqual({ line: 8, col: 3 });
    expect(f.get('spec.ports[0]')).toEqual({ line: 9, col: 7 });
    expect(f.get('spec.ports[0].port')).toEqual({ line: 10, col: 13 });
    expect(f.get('spec.ports[1]')).toEqual({ line: 11, col: 7 });
    expect(f.get('spec.ports[1].port')).toEqual({ line: 11, col: 27 });
  });

  it('keeps positions per document of a multi-document stream', () => {
    const text = `${svc('a')}---\n${svc('b')}`;
    const c = load(text);
    expect(c.services.map((s) => s.metadata.name)).toEqual(['a', 'b']);
    expect(c.sources.get('Service/default/b')).toMatchObject({ file: 'in.yaml', line: 9, col: 1 });
    expect(c.sources.get('Service/default/b')!.fields!.get('spec.ports[0].port')).toEqual({
      line: 15,
      col: 18,
    });
  });
});

describe('YAML 1.1 as kubectl reads it (go-yaml v2)', () => {
  it('reads yes/on as booleans, so an unquoted label value is rejected as kubectl rejects it', () => {
    expect(
      problems('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: {enabled: yes}\n'),
    ).toEqual([
      'in.yaml:5:21: Namespace a metadata.labels.enabled: label value must be a string, found a boolean (true); quote it',
    ]);
  });

  it('keeps timestamps and colon-separated numbers as strings, reads octal and merge keys', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: 2026-11-20T09:14:02Z}\n' +
      'data: {t: "x"}\nx-base: &b {port: 010}\nx-use: {<<: *b, mapped: 1:20}\n';
    const cm = parseSource({ file: 'c.yaml', text }).objects[0]!.value;
    expect((cm.metadata as Record<string, unknown>).creationTimestamp).toBe('2026-11-20T09:14:02Z');
    expect(cm['x-use']).toEqual({ port: 8, mapped: '1:20' });
  });
});

describe('streams', () => {
  it('skips empty documents and comment-only documents as helm template emits them', () => {
    const text = `---\n# Source: chart/templates/disabled.yaml\n---\n${svc('a')}---\n---\n`;
    expect(load(text).services).toHaveLength(1);
  });

  it('loads an empty input as an empty cluster with defaults', () => {
    const c = load('');
    expect(c.services).toEqual([]);
    expect(c.config.podCIDR.toString()).toBe('10.244.0.0/16');
  });

  it('expands kind: List and *List kinds with positions relative to each item', () => {
    const text = [
      'apiVersion: v1', // 1
      'kind: ServiceList', // 2
      'metadata: {resourceVersion: "1"}', // 3
      'items:', // 4
      '- apiVersion: v1', // 5
      '  kind: Service', // 6
      '  metadata: {name: a}', // 7
      '  spec: {ports: [{port: 80}]}', // 8
      '- apiVersion: v1', // 9
      '  kind: Service', // 10
      '  metadata: {name: b}', // 11
      '  spec: {ports: [{port: 70000}]}', // 12
    ].join('\n');
    expect(problems(text)).toEqual([
      'in.yaml:12:25: Service default/b spec.ports[0].port: must be between 1 and 65535, found 70000',
    ]);
    const ok = load(text.replace('70000', '81'));
    expect(ok.services.map((s) => s.metadata.name)).toEqual(['a', 'b']);
    expect(ok.sources.get('Service/default/b')).toMatchObject({ line: 9, col: 3 });
  });

  it('reads JSON, including a kubectl -o json List', () => {
    const json = JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'p', namespace: 'x' },
            spec: { containers: [{ name: 'c' }] },
          },
        ],
      },
      null,
      2,
    );
    const c = load(json, 'dump.json');
    expect(c.services[0]!.metadata.name).toBe('a');
    expect(c.pods[0]!.metadata.namespace).toBe('x');
    // `"port": 80` of the first item: line 14, after 12 spaces of indentation and `"port": `.
    expect(json.split('\n')[13]).toBe('            "port": 80');
    expect(c.sources.get('Service/default/a')!.fields!.get('spec.ports[0].port')).toEqual({
      line: 14,
      col: 21,
    });
  });

  it('reports JSON syntax errors with JSON.parse verdict and position', () => {
    const text = '{\n  "apiVersion": "v1",\n  "kind": "Service",\n}\n';
    const [p] = problems(text, 'bad.json');
    expect(p).toMatch(/^bad\.json:4:1: JSON syntax error: /);
  });

  it('reports YAML syntax errors at the parser position', () => {
    // The yaml parser blames the scalar that the over-indented line would nest under.
    const text = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n   bad: indent\n';
    expect(problems(text)).toEqual([
      'in.yaml:4:9: YAML syntax error: Nested mappings are not allowed in compact mappings',
      'in.yaml:4:9: YAML syntax error: Implicit keys need to be on a single line',
    ]);
    expect(problems('a: [1, 2\n')[0]).toMatch(/^in\.yaml:2:1: YAML syntax error: /);
  });

  it('reports duplicate keys as YAML errors at the second key', () => {
    const ps = problems('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n');
    expect(ps).toEqual(['in.yaml:5:3: YAML syntax error: Map keys must be unique']);
  });

  it('reports tabs used as indentation', () => {
    expect(problems('apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: a\n')[0]).toMatch(
      /^in\.yaml:4:1: YAML syntax error: Tabs/,
    );
  });

  it('rejects a document that is not a mapping', () => {
    expect(problems('- a\n- b\n')).toEqual([
      'in.yaml:1:1: expected a Kubernetes object (a mapping with apiVersion, kind, metadata), found a list',
    ]);
    expect(problems('---\njust text\n')).toEqual([
      'in.yaml:2:1: expected a Kubernetes object (a mapping with apiVersion, kind, metadata), found a string',
    ]);
  });

  it('rejects List items that are not objects', () => {
    expect(problems('apiVersion: v1\nkind: List\nitems:\n- 42\n')).toEqual([
      'in.yaml:4:3: items[0]: expected a Kubernetes object, found a number',
    ]);
  });
});

describe('YAML 1.1 as go-yaml reads it', () => {
  it('needs a digit before an exponent: e0 is a string, 1e3 and .5e1 are numbers', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: e0, b: 1e3, c: .5e1, d: -2E-2}\n';
    const { objects } = parseSource({ file: 'c.yaml', text });
    expect(objects[0]!.value.data).toEqual({ a: 'e0', b: 1000, c: 5, d: -0.02 });
  });
});
