// The reach view: `kpath reach` on the page. One truth table per probe (rows: sources, columns: destinations),
// each cell saying allow or deny in words as well as colour; a cell opens its deciding sentence (the
// `--explain` text) and offers to trace that very connection.
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, getReach, type ReachAnswerJson, type ReachCell } from './api.js';
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
  const key = JSON.stringify([m, state.rfrom, state.rto, state.rport]);
  useEffect(() => {
    const [, from, to, port] = JSON.parse(key) as [string, string[], string[], string | undefined];
    setForm({ from: from.join('; '), to: to.join('; '), port: port ?? '' });
    let cancelled = false;
    setError(null);
    setBusy(true);
    getReach(m, { from, to, ...(port ? { port } : {}) })
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
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update(
      {
        rfrom: splitSelectors(form.from),
        rto: splitSelectors(form.to),
        rport: form.port.trim() || undefined,
        rcell: undefined,
      },
      true,
    );
  };
  const cells = new Map((answer?.cells ?? []).map((c) => [cellId(c), c]));
  const selected = state.rcell ? cells.get(state.rcell) : undefined;
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
                <button
                  type="button"
                  onClick={() =>
                    update(
                      {
                        view: 'trace',
                        from: selected.from,
                        to: selected.to,
                        port: String(selected.port),
                        protocol: selected.protocol.toLowerCase(),
                        endpoint: undefined,
                        hop: undefined,
                      },
                      true,
                    )
                  }
                >
                  Trace this
                </button>
              </aside>
            )}
          </div>
        </>
      )}
    </div>
  );
}
