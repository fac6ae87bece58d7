// The trace view: the request form (or a pasted `kpath trace` line), the hop list beside the topology, and the
// chosen hop in detail: the packet before and after, random branches, and the deciding rule in its context.
import { type FormEvent, type KeyboardEvent, useEffect, useState } from 'react';
import { getNetfilter, getNodeText, type HopJson, type Topology, type TraceJson } from './api.js';
import { parseTraceCommand, type TraceFields, traceCommand } from './command-line.js';
import { PacketView, packetFields } from './packet-view.js';

export interface TraceFormProps {
  topology: Topology;
  fields: TraceFields;
  busy: boolean;
  onRun(fields: TraceFields): void;
}

function suggestions(t: Topology): string[] {
  return [
    ...t.externals.flatMap((e) => [`external:${e.ip}`, e.ip]),
    ...t.loadBalancers.map((l) => l.ip),
    ...t.services.flatMap((s) => (s.clusterIP ? [`svc/${s.namespace}/${s.name}`] : [])),
    ...t.nodes.map((n) => `node/${n.name}`),
    ...t.nodes.flatMap((n) => n.pods.map((p) => `${p.namespace}/${p.name}`)),
  ];
}

export function TraceForm({ topology, fields, busy, onRun }: TraceFormProps) {
  const [f, setF] = useState<TraceFields>(fields);
  const [pasted, setPasted] = useState('');
  const [pasteError, setPasteError] = useState<string | null>(null);
  useEffect(() => setF(fields), [fields]);
  const set = (k: keyof TraceFields) => (e: { target: { value: string } }) =>
    setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onRun(f);
  };
  const runPasted = () => {
    try {
      const parsed = parseTraceCommand(pasted);
      setPasteError(null);
      setF(parsed);
      onRun(parsed);
    } catch (err) {
      setPasteError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="trace-form" onSubmit={submit} aria-label="trace request">
      <datalist id="endpoints">
        {suggestions(topology).map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <label>
        From
        <input
          name="from"
          list="endpoints"
          value={f.from ?? ''}
          onChange={set('from')}
          placeholder="external"
          required
        />
      </label>
      <label>
        To
        <input
          name="to"
          list="endpoints"
          value={f.to ?? ''}
          onChange={set('to')}
          placeholder="203.0.113.50"
          required
        />
      </label>
      <label>
        Port
        <input name="port" inputMode="numeric" size={6} value={f.port ?? ''} onChange={set('port')} />
      </label>
      <label>
        Protocol
        <select name="protocol" value={f.protocol ?? 'tcp'} onChange={set('protocol')}>
          {['tcp', 'udp', 'sctp', 'icmp'].map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label>
        Seed
        <input name="seed" inputMode="numeric" size={6} value={f.seed ?? '1'} onChange={set('seed')} />
      </label>
      <label>
        Endpoint
        <input
          name="endpoint"
          value={f.endpoint ?? ''}
          onChange={set('endpoint')}
          placeholder="ns/pod (optional)"
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          name="noReturn"
          checked={!!f.noReturn}
          onChange={(e) => setF({ ...f, noReturn: e.target.checked })}
        />
        no return
      </label>
      <button type="submit" disabled={busy}>
        Trace
      </button>
      <div className="paste">
        <label>
          or paste a command
          <input
            name="command"
            value={pasted}
            onChange={(e) => setPasted(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                runPasted();
              }
            }}
            placeholder="kpath trace external 203.0.113.50 --port 80"
          />
        </label>
        <button type="button" onClick={runPasted}>
          Run pasted
        </button>
        {pasteError && (
          <span role="alert" className="error">
            {pasteError}
          </span>
        )}
      </div>
    </form>
  );
}

function where(h: HopJson): string {
  const place = h.node ? `${h.owner}${h.netns !== 'root' ? '' : ''}` : h.owner;
  return `${place}${h.iface ? ` · ${h.iface}` : ''}`;
}

export interface Between {
  key: string;
  from: string;
  to: string;
}

/**
 * What changed between the previous hop's "after" and this hop's "before": the kernel's ip_forward decrements
 * the TTL after the routing decision and before the FORWARD hook, outside any rule, so it shows here.
 */
export function changedSince(prev: HopJson | undefined, hop: HopJson): Between[] {
  if (!prev) return [];
  const a = packetFields(prev.after);
  const b = packetFields(hop.before);
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => ({ key: k, from: a.get(k) ?? 'none', to: b.get(k) ?? 'none' }));
}

/** Each hop with the hop before it on the same leg. */
export function previousHops(trace: TraceJson): Map<number, HopJson> {
  const m = new Map<number, HopJson>();
  for (const leg of [trace.hops, trace.return?.hops ?? []]) {
    for (let i = 1; i < leg.length; i++) m.set(leg[i]!.n, leg[i - 1]!);
  }
  return m;
}

function tags(h: HopJson, prev?: HopJson): string[] {
  const t = new Set<string>();
  if (changedSince(prev, h).some((c) => c.key.endsWith('ip.ttl'))) t.add('TTL');
  for (const c of h.changes) if (c.tag) t.add(c.tag);
  if (h.changes.some((c) => c.field === 'ttl')) t.add('TTL');
  if (h.branches) t.add('random');
  return [...t];
}

export function allHops(trace: TraceJson): { hop: HopJson; leg: 'forward' | 'return' }[] {
  return [
    ...trace.hops.map((hop) => ({ hop, leg: 'forward' as const })),
    ...(trace.return?.hops ?? []).map((hop) => ({ hop, leg: 'return' as const })),
  ];
}

interface HopListProps {
  trace: TraceJson;
  selected?: number;
  onSelect(n: number): void;
}

export function HopList({ trace, selected, onSelect }: HopListProps) {
  const hops = allHops(trace);
  const prev = previousHops(trace);
  const index = hops.findIndex((h) => h.hop.n === selected);
  // Keep the selected hop in sight (a link or Play may select one far down the list).
  useEffect(() => {
    if (selected !== undefined)
      document.getElementById(`hop-${selected}`)?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  const onKey = (e: KeyboardEvent) => {
    const step = e.key === 'ArrowDown' || e.key === 'j' ? 1 : e.key === 'ArrowUp' || e.key === 'k' ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = hops[Math.min(hops.length - 1, Math.max(0, index + step))];
    if (next) {
      onSelect(next.hop.n);
      document.getElementById(`hop-${next.hop.n}`)?.focus();
    }
  };
  const row = ({ hop, leg }: { hop: HopJson; leg: string }) => (
    <li key={`${leg}-${hop.n}`}>
      <button
        type="button"
        id={`hop-${hop.n}`}
        className={`hop ${hop.n === selected ? 'selected' : ''}`}
        aria-current={hop.n === selected ? 'step' : undefined}
        data-hop={hop.n}
        data-component={hop.component}
        onClick={() => onSelect(hop.n)}
      >
        <span className="n">{hop.n}</span>
        <span className="layer">{hop.layer}</span>
        <span className="what">
          {hop.component} · {hop.action}
        </span>
        <span className="at">{where(hop)}</span>
        {tags(hop, prev.get(hop.n)).map((t) => (
          <span key={t} className={`tag tag-${t.toLowerCase()}`}>
            {t}
          </span>
        ))}
      </button>
    </li>
  );
  return (
    <nav className="hop-list" aria-label="hops" onKeyDown={onKey}>
      <h3>Forward path · {trace.hops.length} hops</h3>
      <ol>{hops.filter((h) => h.leg === 'forward').map(row)}</ol>
      <p className={`disposition ${trace.disposition}`} data-testid="disposition">
        <strong>{trace.disposition}</strong> — {trace.reason}
      </p>
      {trace.return && (
        <>
          <h3>Return path · {trace.return.hops.length} hops</h3>
          <ol>{hops.filter((h) => h.leg === 'return').map(row)}</ol>
          <p className={`disposition ${trace.return.disposition}`}>
            <strong>{trace.return.disposition}</strong> — {trace.return.reason}
            {trace.return.observedSource
              ? ` The client sees the reply from ${trace.return.observedSource}.`
              : ''}
          </p>
        </>
      )}
    </nav>
  );
}

interface ContextProps {
  m?: string;
  hop: HopJson;
}

/** The deciding rule among its neighbours: the whole chain, or the whole routing / neighbour / FDB table. */
function DecisionContext({ m, hop }: ContextProps) {
  const [lines, setLines] = useState<{ text: string; hit: boolean }[] | null>(null);
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  const d = hop.decidedBy;
  useEffect(() => {
    setLines(null);
    setError(null);
    if (!d || !hop.node) return;
    const pod = hop.owner.startsWith('pod/') ? hop.owner.slice(4) : undefined;
    const node = hop.node;
    let cancelled = false;
    const done = (t: string, l: { text: string; hit: boolean }[]) => {
      if (!cancelled) {
        setTitle(t);
        setLines(l);
      }
    };
    const run = async () => {
      if ((d.kind === 'iptables-rule' || d.kind === 'iptables-policy') && d.table && d.chain) {
        const tables = await getNetfilter(m, node, pod);
        const chain = tables.find((t) => t.name === d.table)?.chains.find((c) => c.name === d.chain);
        if (!chain) throw new Error(`chain ${d.chain} not found in table ${d.table}`);
        done(`iptables -t ${d.table} -S ${d.chain}   (${pod ? `pod ${pod}` : node})`, [
          { text: `-P ${chain.name} ${chain.policy}`.replace(/ -$/, ''), hit: d.kind === 'iptables-policy' },
          ...chain.rules.map((r) => ({ text: r.text, hit: r.n === d.ruleNumber })),
        ]);
      } else {
        const view =
          d.kind === 'route'
            ? 'ip-route'
            : d.kind === 'neighbour'
              ? 'ip-neigh'
              : d.kind === 'fdb'
                ? 'bridge-fdb'
                : null;
        if (!view) return;
        const text = await getNodeText(m, node, view, pod);
        const want = d.text.trim();
        const cmd = view === 'ip-route' ? 'ip route' : view === 'ip-neigh' ? 'ip neigh' : 'bridge fdb show';
        done(
          `${cmd}   (${pod ? `pod ${pod}` : node})`,
          text
            .trimEnd()
            .split('\n')
            .map((t) => ({ text: t, hit: t.trim() === want })),
        );
      }
    };
    run().catch((err: unknown) => {
      if (!cancelled) setError(err instanceof Error ? err.message : String(err));
    });
    return () => {
      cancelled = true;
    };
  }, [m, hop, d]);
  if (!d) return null;
  return (
    <section className="context" aria-label="decision in context">
      <h4>{title || 'in context'}</h4>
      {error && <p className="error">{error}</p>}
      {lines && (
        <pre className="rules">
          {lines.map((l, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the lines of one table, in order; duplicates are possible
            <div key={i} className={l.hit ? 'hit' : ''} data-hit={l.hit ? 'true' : undefined}>
              {l.text}
            </div>
          ))}
        </pre>
      )}
    </section>
  );
}

export function HopDetail({
  m,
  hop,
  prev,
  onOpenNode,
}: {
  m?: string;
  hop: HopJson;
  /** The hop before it on the same leg. */
  prev?: HopJson;
  onOpenNode(node: string, pod: string | undefined, table?: string, chain?: string): void;
}) {
  return (
    <article className="hop-detail" aria-label={`hop ${hop.n}`} data-testid="hop-detail">
      <h3>
        Hop {hop.n}: {hop.component} · {hop.action}
      </h3>
      <p className="at">
        {hop.layer} at {hop.owner} (netns {hop.netns}
        {hop.iface ? `, dev ${hop.iface}` : ''})
      </p>
      <p>{hop.explanation}</p>
      {hop.decidedBy && (
        <p className="decision">
          <span className="kind">{hop.decidedBy.kind}</span>
          {hop.decidedBy.table && (
            <span className="where">
              {' '}
              {hop.decidedBy.table} {hop.decidedBy.chain} #{hop.decidedBy.ruleNumber}
            </span>
          )}
          <code>{hop.decidedBy.text}</code>
          {hop.node && (
            <button
              type="button"
              onClick={() =>
                onOpenNode(
                  hop.node ?? '',
                  hop.owner.startsWith('pod/') ? hop.owner.slice(4) : undefined,
                  hop.decidedBy?.table ?? undefined,
                  hop.decidedBy?.chain ?? undefined,
                )
              }
            >
              Open in node view
            </button>
          )}
        </p>
      )}
      {hop.changes.length > 0 && (
        <ul className="changes" aria-label="changes">
          {hop.changes.map((c) => (
            <li key={`${c.field}:${c.to}`} data-tag={c.tag ?? ''}>
              {c.tag && <span className={`tag tag-${c.tag.toLowerCase()}`}>{c.tag}</span>} {c.field}:{' '}
              <del>{c.from}</del> → <ins>{c.to}</ins>
            </li>
          ))}
        </ul>
      )}
      {changedSince(prev, hop).length > 0 && (
        <ul className="changes since" aria-label="changed since the previous hop">
          {changedSince(prev, hop).map((c) => (
            <li key={c.key} data-field={c.key}>
              since hop {prev?.n}: {c.key}: <del>{c.from}</del> → <ins>{c.to}</ins>
              {c.key.endsWith('ip.ttl') ? ' (decremented when forwarded)' : ''}
            </li>
          ))}
        </ul>
      )}
      {hop.branches && (
        <table className="branches">
          <caption>Random choice: every branch</caption>
          <thead>
            <tr>
              <th scope="col">probability</th>
              <th scope="col">target</th>
              <th scope="col">rule</th>
            </tr>
          </thead>
          <tbody>
            {hop.branches.map((b) => (
              <tr key={`${b.target}:${b.decidedBy?.text ?? ''}`} className={b.chosen ? 'chosen' : ''}>
                <td>{(b.probability * 100).toFixed(1)}%</td>
                <td>
                  {b.target}
                  {b.chosen ? ' (followed)' : ''}
                </td>
                <td>
                  <code>{b.decidedBy?.text ?? ''}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="before-after">
        <PacketView title="before" packet={hop.before} other={hop.after} />
        <PacketView title="after" packet={hop.after} other={hop.before} />
      </div>
      <DecisionContext m={m} hop={hop} />
    </article>
  );
}

export function TraceSummary({ trace, fields }: { trace: TraceJson; fields: TraceFields }) {
  return (
    <div className="trace-summary">
      <code className="command">{traceCommand(fields)}</code>
      <span>
        {trace.request.from.spec} ({trace.request.from.ip}
        {trace.request.from.port ? `:${trace.request.from.port}` : ''}) → {trace.request.to.spec} ·{' '}
        {trace.request.protocol}
        {trace.masquerade ? ' · masqueraded' : ''}
        {trace.delivered
          ? ` · delivered to ${trace.delivered.to}, which sees the source ${trace.delivered.observedSource}`
          : ''}
      </span>
    </div>
  );
}
