// One node's state: the netfilter chains as a navigable graph, and each table (routes, addresses, links,
// neighbours, FDB, conntrack after a trace) as the real tool prints it.
import { type KeyboardEvent, useEffect, useMemo, useState } from 'react';
import { getNetfilter, getNodeText, type NetfilterTableJson, type Topology, type TraceJson } from './api.js';
import { chainGraph } from './chain-graph.js';
import type { NodePanel, ViewState } from './url-state.js';

const PANELS: { id: NodePanel; label: string; cmd: string }[] = [
  { id: 'netfilter', label: 'netfilter', cmd: 'iptables-save' },
  { id: 'ip-route', label: 'routes', cmd: 'ip route' },
  { id: 'ip-addr', label: 'addresses', cmd: 'ip addr' },
  { id: 'ip-link', label: 'links', cmd: 'ip link' },
  { id: 'ip-neigh', label: 'neighbours', cmd: 'ip neigh' },
  { id: 'bridge-fdb', label: 'FDB', cmd: 'bridge fdb show' },
  { id: 'conntrack', label: 'conntrack', cmd: 'conntrack -L' },
];

interface Props {
  m?: string;
  topology: Topology;
  state: ViewState;
  trace?: TraceJson;
  update(patch: Partial<ViewState>): void;
}

function ChainPanel({
  tables,
  state,
  update,
}: {
  tables: NetfilterTableJson[];
  state: ViewState;
  update: Props['update'];
}) {
  const table = tables.find((t) => t.name === state.table) ?? tables[0];
  const graph = useMemo(() => (table ? chainGraph(table) : undefined), [table]);
  if (!table || !graph) return <p>No netfilter tables in this namespace.</p>;
  const chain = table.chains.find((c) => c.name === state.chain);
  const pick = (name: string) => update({ chain: name });
  const key = (name: string) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      pick(name);
    }
  };
  return (
    <div className="chains">
      <div role="tablist" aria-label="netfilter table" className="tabs small">
        {tables.map((t) => (
          <button
            key={t.name}
            type="button"
            role="tab"
            aria-selected={t.name === table.name}
            onClick={() => update({ table: t.name, chain: undefined })}
          >
            {t.name}
          </button>
        ))}
      </div>
      <div className="graph-scroll">
        <svg
          className="chain-graph"
          width={graph.width}
          height={graph.height}
          role="img"
          aria-label={`${table.name} chains`}
        >
          <defs>
            <marker
              id="carrow"
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="6"
              markerHeight="6"
              orient="auto"
            >
              <path d="M0,0 L10,5 L0,10 z" />
            </marker>
          </defs>
          {graph.edges.map((e) => (
            <polyline
              key={`${e.from}>${e.to}`}
              className={`edge ${e.from === state.chain || e.to === state.chain ? 'hot' : ''}`}
              points={e.points.map((p) => `${p.x},${p.y}`).join(' ')}
              markerEnd="url(#carrow)"
            />
          ))}
          {graph.nodes.map((n) => (
            // biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the role, tabIndex and Enter/Space handler make one
            <g
              key={n.name}
              role="button"
              tabIndex={0}
              aria-label={`chain ${n.name}, ${n.rules} rules`}
              className={`chain ${n.builtin ? 'builtin' : ''} ${n.name === state.chain ? 'selected' : ''}`}
              data-chain={n.name}
              onClick={() => pick(n.name)}
              onKeyDown={key(n.name)}
            >
              <rect x={n.x} y={n.y} width={n.w} height={n.h} rx={4} />
              <text x={n.x + n.w / 2} y={n.y + 19} textAnchor="middle">
                {n.name}
              </text>
            </g>
          ))}
        </svg>
        {graph.omitted > 0 && (
          <p className="sub">{graph.omitted} chains not reachable from the built-in chains are not drawn.</p>
        )}
      </div>
      {chain && (
        <section aria-label={`chain ${chain.name}`}>
          <h4>
            iptables -t {table.name} -S {chain.name}
          </h4>
          <pre className="rules">
            {chain.builtin && <div>{`-P ${chain.name} ${chain.policy}`}</div>}
            {chain.rules.map((r) => (
              <div key={r.n}>
                <span className="lineno">{r.n}</span>
                {r.jumpsToChain && r.target ? (
                  <>
                    {r.text.slice(0, r.text.lastIndexOf(r.target))}
                    <button type="button" className="link" onClick={() => pick(r.target!)}>
                      {r.target}
                    </button>
                    {r.text.slice(r.text.lastIndexOf(r.target) + r.target.length)}
                  </>
                ) : (
                  r.text
                )}
              </div>
            ))}
          </pre>
        </section>
      )}
    </div>
  );
}

export function NodeView({ m, topology, state, trace, update }: Props) {
  const nodeName = state.node ?? topology.nodes[0]?.name;
  const node = topology.nodes.find((n) => n.name === nodeName);
  const [text, setText] = useState<string | null>(null);
  const [tables, setTables] = useState<NetfilterTableJson[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const panel = PANELS.find((p) => p.id === state.panel) ?? PANELS[0]!;
  const wantsText = panel.id !== 'conntrack' && (panel.id !== 'netfilter' || state.raw);
  useEffect(() => {
    if (!nodeName) return;
    let cancelled = false;
    setError(null);
    const view = panel.id === 'netfilter' ? 'iptables-save' : panel.id;
    const work =
      panel.id === 'netfilter' && !state.raw
        ? getNetfilter(m, nodeName, state.pod).then((t) => !cancelled && setTables(t))
        : wantsText
          ? getNodeText(m, nodeName, view, state.pod).then((t) => !cancelled && setText(t))
          : Promise.resolve();
    work.catch((err: unknown) => !cancelled && setError(err instanceof Error ? err.message : String(err)));
    return () => {
      cancelled = true;
    };
  }, [m, nodeName, state.pod, panel.id, state.raw, wantsText]);
  if (!node) return <p>No such node.</p>;
  const conntrack = trace?.conntrack.find((c) => c.node === node.name);
  return (
    <div className="node-view">
      <div className="toolbar">
        <label>
          Node
          <select
            value={node.name}
            onChange={(e) => update({ node: e.target.value, pod: undefined, chain: undefined })}
          >
            {topology.nodes.map((n) => (
              <option key={n.name}>{n.name}</option>
            ))}
          </select>
        </label>
        <label>
          Namespace
          <select
            value={state.pod ?? ''}
            onChange={(e) => update({ pod: e.target.value || undefined, chain: undefined })}
          >
            <option value="">root (the node)</option>
            {node.pods
              .filter((p) => !p.hostNetwork)
              .map((p) => (
                <option key={p.name} value={`${p.namespace}/${p.name}`}>
                  pod {p.namespace}/{p.name}
                </option>
              ))}
          </select>
        </label>
        {panel.id === 'netfilter' && (
          <label className="check">
            <input type="checkbox" checked={state.raw} onChange={(e) => update({ raw: e.target.checked })} />
            raw iptables-save
          </label>
        )}
      </div>
      <div role="tablist" aria-label="node state" className="tabs">
        {PANELS.map((p) => (
          <button
            key={p.id}
            type="button"
            role="tab"
            aria-selected={p.id === panel.id}
            onClick={() => update({ panel: p.id })}
          >
            {p.label}
          </button>
        ))}
      </div>
      <section role="tabpanel" aria-label={panel.label} className="panel">
        <h3>
          <code>
            {panel.cmd}
            {panel.id === 'netfilter' && !state.raw ? ' (as a graph of chains)' : ''}
          </code>{' '}
          on {state.pod ? `pod ${state.pod}` : node.name}
        </h3>
        {error && <p className="error">{error}</p>}
        {panel.id === 'netfilter' && !state.raw && tables && (
          <ChainPanel tables={tables} state={state} update={update} />
        )}
        {wantsText && text !== null && <pre className="raw">{text}</pre>}
        {panel.id === 'conntrack' &&
          (conntrack ? (
            <pre className="raw">
              {conntrack.entries.join('\n')}
              {`\nconntrack v1.4.7 (conntrack-tools): ${conntrack.entries.length} flow entries have been shown.`}
            </pre>
          ) : (
            <p>
              Run a trace first: conntrack holds the entries of the traced connection on each node it crossed.
            </p>
          ))}
      </section>
    </div>
  );
}
