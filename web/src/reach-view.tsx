// The reach view: `kpath reach` on the page. One truth table per probe (rows: sources, columns: destinations),
// each cell saying allow or deny in words as well as colour; a cell opens its deciding sentence (the
// `--explain` text) and offers to trace that very connection. Grouped by workload (`--group workload`), one
// row/column per Deployment, StatefulSet or DaemonSet; a grouped cell lists its pod pairs.
import { type FormEvent, useEffect, useState } from 'react';
import {
  ApiError,
  type GroupValue,
  getReach,
  type ReachAnswerJson,
  type ReachCell,
  type ReachGroupedJson,
} from './api.js';
import type { ViewState } from './url-state.js';

/** Selectors in one field, separated by `;` (a label selector may hold commas and spaces). */
export function splitSelectors(text: string): string[] {
  return text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const cellId = (c: { from: string; to: string; port: number; protocol: string }) =>
  `${c.from}|${c.to}|${c.port}/${c.protocol}`;

/** The line `kpath reach --explain` prints for a cell. */
export function explainLine(c: ReachCell): string {
  return `${c.from} → ${c.to} ${c.port}/${c.protocol} ${c.verdict}: ${c.reason}`;
}

/** A grouped cell's text: the verdict in words as well as colour. */
export const GROUP_TEXT: Record<GroupValue, string> = {
  allow: '✓ allow',
  deny: '✗ deny',
  mixed: '◐ mixed',
  'not-probed': '–',
};

/**
 * The pod-level cells behind one grouped cell: every pod pair of the two groups on that probe, a pod and
 * itself left out (as groupByWorkload counts them).
 */
export function groupPairCells(
  grouped: ReachGroupedJson,
  cells: readonly ReachCell[],
  fromGroup: string,
  toGroup: string,
  probe: string,
): ReachCell[] {
  const froms = new Set(grouped.members[fromGroup] ?? []);
  const tos = new Set(grouped.members[toGroup] ?? []);
  return cells.filter(
    (c) => `${c.port}/${c.protocol}` === probe && c.from !== c.to && froms.has(c.from) && tos.has(c.to),
  );
}

interface Props {
  m?: string;
  state: ViewState;
  update(patch: Partial<ViewState>, push?: boolean): void;
}

export function ReachView({ m, state, update }: Props) {
  const [form, setForm] = useState({
    from: state.rfrom.join('; '),
    to: state.rto.join('; '),
    port: state.rport ?? '',
  });
  const [answer, setAnswer] = useState<ReachAnswerJson | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = JSON.stringify([m, state.rfrom, state.rto, state.rport, state.rgroup]);
  useEffect(() => {
    const [, from, to, port, group] = JSON.parse(key) as [
      string,
      string[],
      string[],
      string | undefined,
      'workload' | undefined,
    ];
    setForm({ from: from.join('; '), to: to.join('; '), port: port ?? '' });
    let cancelled = false;
    setError(null);
    setBusy(true);
    // Grouped: the roll-up alone; a selected grouped cell fetches its own pod pairs (GroupedBody).
    getReach(m, { from, to, ...(port ? { port } : {}), ...(group ? { group, cells: 'none' as const } : {}) })
      .then((a) => !cancelled && setAnswer(a))
      .catch((err: unknown) => {
        if (cancelled) return;
        setAnswer(null);
        setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      })
      .finally(() => !cancelled && setBusy(false));
    return () => {
      cancelled = true;
    };
  }, [m, key]);
  const apply = (rgroup: 'workload' | undefined) =>
    update(
      {
        rfrom: splitSelectors(form.from),
        rto: splitSelectors(form.to),
        rport: form.port.trim() || undefined,
        rgroup,
        rcell: undefined,
        rgcell: undefined,
      },
      true,
    );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply(state.rgroup);
  };
  const cells = new Map((answer?.cells ?? []).map((c) => [cellId(c), c]));
  const grouped = state.rgroup === 'workload' ? answer?.grouped : undefined;
  const selected = !grouped && state.rcell ? cells.get(state.rcell) : undefined;
  const traceThis = (c: ReachCell) =>
    update(
      {
        view: 'trace',
        from: c.from,
        to: c.to,
        port: String(c.port),
        protocol: c.protocol.toLowerCase(),
        endpoint: undefined,
        hop: undefined,
      },
      true,
    );
  return (
    <div className="reach-view">
      <form className="reach-form" onSubmit={submit} aria-label="reachability query">
        <label>
          From
          <input
            name="rfrom"
            value={form.from}
            onChange={(e) => setForm({ ...form, from: e.target.value })}
            placeholder="all pods · ns/pod; ns; app=web; ns:app=web; IP"
          />
        </label>
        <label>
          To
          <input
            name="rto"
            value={form.to}
            onChange={(e) => setForm({ ...form, to: e.target.value })}
            placeholder="all pods"
          />
        </label>
        <label>
          Ports
          <input
            name="rport"
            value={form.port}
            onChange={(e) => setForm({ ...form, port: e.target.value })}
            placeholder="declared ports · 80, 53/UDP"
            size={14}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            name="rgroup"
            checked={state.rgroup === 'workload'}
            onChange={(e) => apply(e.target.checked ? 'workload' : undefined)}
          />
          Group by workload
        </label>
        <button type="submit" disabled={busy}>
          Check
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {answer && (
        <>
          <p className="command">
            <code>{answer.command}</code>
            {answer.note ? <span className="note"> · {answer.note}</span> : ''}
            {answer.enforcedBy ? ` · enforced by ${answer.enforcedBy}` : ''}
          </p>
          {answer.warnings.length > 0 && (
            <ul className="warnings" aria-label="warnings">
              {answer.warnings.map((w) => (
                <li key={w}>warning: {w}</li>
              ))}
            </ul>
          )}
          {grouped ? (
            <GroupedBody
              m={m}
              query={{ from: state.rfrom, to: state.rto, ...(state.rport ? { port: state.rport } : {}) }}
              answer={answer}
              grouped={grouped}
              selectedId={state.rgcell}
              select={(id) => update({ rgcell: state.rgcell === id ? undefined : id })}
              traceThis={traceThis}
            />
          ) : (
            <div className="reach-body">
              <div className="matrices">
                {answer.probes.map((p) => {
                  const probe = `${p.port}/${p.protocol}`;
                  return (
                    <table key={probe} className="reach-matrix" data-probe={probe}>
                      <caption>{probe}</caption>
                      <thead>
                        <tr>
                          <th scope="col" className="corner">
                            from ↓ to →
                          </th>
                          {answer.tos.map((t) => (
                            <th key={t} scope="col" className="col">
                              <span>{t}</span>
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {answer.froms.map((f) => (
                          <tr key={f}>
                            <th scope="row">{f}</th>
                            {answer.tos.map((t) => {
                              const id = `${f}|${t}|${probe}`;
                              const c = cells.get(id);
                              if (!c)
                                return (
                                  <td key={t} className="not-probed" title={`${t} does not declare ${probe}`}>
                                    –
                                  </td>
                                );
                              return (
                                <td key={t} className={c.verdict}>
                                  <button
                                    type="button"
                                    data-cell={id}
                                    aria-pressed={state.rcell === id}
                                    aria-label={`${f} → ${t} ${probe}: ${c.verdict}`}
                                    onClick={() => update({ rcell: state.rcell === id ? undefined : id })}
                                  >
                                    {c.verdict === 'allow' ? '✓ allow' : '✗ deny'}
                                  </button>
                                </td>
                              );
                            })}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  );
                })}
              </div>
              {selected && (
                <aside className="reach-cell" aria-label="cell" data-testid="reach-cell">
                  <h3>
                    {selected.from} → {selected.to} {selected.port}/{selected.protocol}:{' '}
                    <span className={`verdict ${selected.verdict}`}>{selected.verdict}</span>
                  </h3>
                  <p>
                    egress side: <strong>{selected.egress}</strong> · ingress side:{' '}
                    <strong>{selected.ingress}</strong>
                  </p>
                  <pre className="raw explain">{explainLine(selected)}</pre>
                  <button type="button" onClick={() => traceThis(selected)}>
                    Trace this
                  </button>
                </aside>
              )}
            </div>
          )}
        </>
      )}
    </div>
  );
}

interface GroupedProps {
  m: string | undefined;
  query: { from: string[]; to: string[]; port?: string };
  answer: ReachAnswerJson;
  grouped: ReachGroupedJson;
  selectedId: string | undefined;
  select(id: string): void;
  traceThis(c: ReachCell): void;
}

/** Pod pairs listed under a selected grouped cell; a bigger group pair asks for narrower selectors. */
const LIST_LIMIT = 200;

function GroupedBody({ m, query, answer, grouped, selectedId, select, traceThis }: GroupedProps) {
  // The selected workload pair's pod cells, every probe, fetched once per pair.
  const [pair, setPair] = useState<{ key: string; cells?: ReachCell[]; error?: string } | null>(null);
  const [from = '', to = '', probe = ''] = (selectedId ?? '').split('|');
  const pairKey = selectedId ? JSON.stringify([m, query, from, to]) : '';
  useEffect(() => {
    if (!pairKey) return;
    const [, q, f, t] = JSON.parse(pairKey) as [string, GroupedProps['query'], string, string];
    let cancelled = false;
    setPair({ key: pairKey });
    getReach(m, { ...q, group: 'workload', pair: `${f}|${t}` })
      .then((a) => !cancelled && setPair({ key: pairKey, cells: a.cells }))
      .catch((err: unknown) => {
        if (!cancelled) setPair({ key: pairKey, error: err instanceof Error ? err.message : String(err) });
      });
    return () => {
      cancelled = true;
    };
  }, [m, pairKey]);
  let selected:
    | { from: string; to: string; probe: string; value: GroupValue; cells?: ReachCell[]; error?: string }
    | undefined;
  if (selectedId) {
    const k = answer.probes.findIndex((p) => `${p.port}/${p.protocol}` === probe);
    const i = grouped.froms.indexOf(from);
    const j = grouped.tos.indexOf(to);
    const value = grouped.values[k]?.[i]?.[j];
    const fetched = pair?.key === pairKey ? pair : undefined;
    if (value)
      selected = {
        from,
        to,
        probe,
        value,
        ...(fetched?.cells ? { cells: groupPairCells(grouped, fetched.cells, from, to, probe) } : {}),
        ...(fetched?.error ? { error: fetched.error } : {}),
      };
  }
  const count = (v: 'allow' | 'deny') => selected?.cells?.filter((c) => c.verdict === v).length ?? 0;
  return (
    <div className="reach-body">
      <div className="matrices">
        {answer.probes.map((p, k) => {
          const probe = `${p.port}/${p.protocol}`;
          return (
            <table key={probe} className="reach-matrix grouped" data-probe={probe}>
              <caption>{probe} · by workload</caption>
              <thead>
                <tr>
                  <th scope="col" className="corner">
                    from ↓ to →
                  </th>
                  {grouped.tos.map((t) => (
                    <th key={t} scope="col" className="col" title={(grouped.members[t] ?? []).join('\n')}>
                      <span>{t}</span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {grouped.froms.map((f, i) => (
                  <tr key={f}>
                    <th scope="row" title={(grouped.members[f] ?? []).join('\n')}>
                      {f}
                    </th>
                    {grouped.tos.map((t, j) => {
                      const v = grouped.values[k]?.[i]?.[j] ?? 'not-probed';
                      const id = `${f}|${t}|${probe}`;
                      if (v === 'not-probed')
                        return (
                          <td key={t} className="not-probed" data-group-value={v} title="no pod pair probed">
                            {GROUP_TEXT[v]}
                          </td>
                        );
                      return (
                        <td key={t} className={v} data-group-value={v}>
                          <button
                            type="button"
                            data-group-cell={id}
                            aria-pressed={selectedId === id}
                            aria-label={`${f} → ${t} ${probe}: ${v}`}
                            onClick={() => select(id)}
                          >
                            {GROUP_TEXT[v]}
                          </button>
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          );
        })}
      </div>
      {selected && (
        <aside className="reach-cell" aria-label="workload pair" data-testid="reach-group-cell">
          <h3>
            {selected.from} → {selected.to} {selected.probe}:{' '}
            <span className={`verdict ${selected.value}`}>{selected.value}</span>
          </h3>
          {selected.error && (
            <p role="alert" className="error">
              {selected.error}
            </p>
          )}
          {!selected.cells && !selected.error && <p className="sub">listing the pod pairs…</p>}
          {selected.cells && (
            <>
              <p>
                {selected.cells.length} pod pairs: <strong>{count('allow')}</strong> allow ·{' '}
                <strong>{count('deny')}</strong> deny
              </p>
              <ul className="pod-pairs" aria-label="pod pairs">
                {selected.cells.slice(0, LIST_LIMIT).map((c) => (
                  <li key={cellId(c)} data-cell={cellId(c)} className={c.verdict}>
                    <pre className="raw explain">{explainLine(c)}</pre>
                    <button
                      type="button"
                      aria-label={`Trace this: ${c.from} → ${c.to} ${c.port}/${c.protocol}`}
                      onClick={() => traceThis(c)}
                    >
                      Trace this
                    </button>
                  </li>
                ))}
              </ul>
              {selected.cells.length > LIST_LIMIT && (
                <p className="note">
                  {selected.cells.length - LIST_LIMIT} more: narrow From and To to list them.
                </p>
              )}
            </>
          )}
        </aside>
      )}
    </div>
  );
}
