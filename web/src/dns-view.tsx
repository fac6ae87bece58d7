// The DNS view: `kpath dns` on the page. A pod's resolver (its resolv.conf, every query it sent in order,
// what getaddrinfo or res_search returned) or one question to a server, answered like dig. Also the DNS
// steps of a trace whose TO was a name.
import { type FormEvent, useEffect, useState } from 'react';
import {
  ApiError,
  type DnsAnswerJson,
  type DnsJson,
  getDns,
  type ServerQueryJson,
  type Topology,
} from './api.js';
import type { ViewState } from './url-state.js';

const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'MX', 'NS'];

/** A pod lookup (getaddrinfo) or a res_search: the shapes `kpath dns --from … -o json` prints. */
interface ResolverJson {
  name: string;
  type?: string;
  resolver: string;
  resolvConf: string;
  queries: { name: string; type: string; server: string; rcode: string; answer: string[] }[];
  result: { status: string; addresses?: string[]; answer?: string[] };
  waitedMs: number;
  notes: string[];
}

// glibc's texts for the statuses, as `getent ahosts` (gai_strerror) and res_search's h_errno name them.
const STATUS_TEXT: Record<string, string> = {
  OK: 'resolved',
  EAI_NONAME: 'Name or service not known (NXDOMAIN everywhere)',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_NODATA: 'No address associated with hostname',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
};

function rcodeClass(rcode: string, answers: number): string {
  if (rcode === 'NOERROR') return answers > 0 ? 'ok' : 'nodata';
  return rcode === 'NXDOMAIN' ? 'nx' : 'fail';
}

export function QueryTable({
  queries,
  caption,
}: {
  queries: readonly {
    name: string;
    type: string;
    server: string;
    rcode: string;
    answer: readonly string[];
    via?: string;
  }[];
  caption: string;
}) {
  return (
    <table className="dns-queries">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">name</th>
          <th scope="col">type</th>
          <th scope="col">server</th>
          <th scope="col">rcode</th>
          <th scope="col">answer</th>
        </tr>
      </thead>
      <tbody>
        {queries.map((q, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: queries in the order sent; a retry repeats a name
          <tr key={i} data-rcode={q.rcode} className={rcodeClass(q.rcode, q.answer.length)}>
            <td>{i + 1}</td>
            <td>
              <code>{q.name}</code>
            </td>
            <td>{q.type}</td>
            <td>
              {q.server}
              {q.via && q.via !== 'coredns' ? ` (${q.via})` : ''}
            </td>
            <td className="rcode">
              {q.rcode === 'NOERROR' && q.answer.length === 0 ? 'NOERROR (no data)' : q.rcode}
            </td>
            <td>
              {q.answer.map((a) => (
                <code key={a} className="rr">
                  {a}
                </code>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ResolvConf({ text }: { text: string }) {
  return (
    <section aria-label="resolv.conf" className="resolv-conf">
      <h3>/etc/resolv.conf</h3>
      <pre className="raw">{text}</pre>
    </section>
  );
}

function ResolverResult({ r }: { r: ResolverJson }) {
  const ok = r.result.status === 'OK';
  const values = r.result.addresses ?? r.result.answer ?? [];
  return (
    <p className={`dns-result ${ok ? 'ok' : 'fail'}`} data-testid="dns-result">
      <strong>{r.result.status}</strong> {ok ? '' : `— ${STATUS_TEXT[r.result.status] ?? ''}`}
      {ok &&
        values.map((v) => (
          <code key={v} className="rr">
            {v}
          </code>
        ))}
      {r.waitedMs > 0 ? ` · waited ${r.waitedMs / 1000}s for replies that never came` : ''}
    </p>
  );
}

function ServerResult({ r }: { r: ServerQueryJson }) {
  const section = (title: string, rrs: string[]) =>
    rrs.length > 0 && (
      <section aria-label={title}>
        <h4>{title}</h4>
        {rrs.map((a) => (
          <code key={a} className="rr">
            {a}
          </code>
        ))}
      </section>
    );
  return (
    <div className="dns-server">
      <p className={`dns-result ${r.rcode === 'NOERROR' ? 'ok' : 'fail'}`} data-testid="dns-result">
        <code>
          {r.question.name} {r.question.type}
        </code>{' '}
        → <strong>{r.rcode}</strong>
        {r.rcode === 'NOERROR' && r.answer.length === 0 ? ' (no data)' : ''} · flags {r.flags.join(' ')}
      </p>
      {section('answer', r.answer)}
      {section('authority', r.authority)}
      {section('additional', r.additional)}
      {r.path.length > 0 && (
        <section aria-label="CoreDNS">
          <h4>How CoreDNS answered</h4>
          <ol>
            {r.path.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}

/** The DNS steps of a trace to a name: what the source pod's stub resolver did before connecting. */
export function TraceDnsSteps({ dns }: { dns: DnsJson }) {
  const ok = dns.result.status === 'OK';
  return (
    <details className="trace-dns" open aria-label="DNS steps" data-testid="trace-dns">
      <summary>
        DNS: <code>{dns.name}</code> ({dns.resolver}) →{' '}
        {ok ? dns.result.addresses.join(' ') : dns.result.status} · {dns.queries.length}{' '}
        {dns.queries.length === 1 ? 'query' : 'queries'}
      </summary>
      <div className="dns-body">
        <ResolvConf text={dns.resolvConf} />
        <div>
          <QueryTable queries={dns.queries} caption="Queries the resolver sent, in order" />
          {dns.waitedMs > 0 && <p>waited {dns.waitedMs / 1000}s for replies that never came</p>}
        </div>
      </div>
    </details>
  );
}

interface Props {
  m?: string;
  topology: Topology;
  state: ViewState;
  update(patch: Partial<ViewState>, push?: boolean): void;
}

export function DnsView({ m, topology, state, update }: Props) {
  const [form, setForm] = useState({
    name: state.dname ?? '',
    from: state.dfrom ?? '',
    type: state.dtype ?? '',
    ask: state.dask,
    server: state.dserver ?? '',
    resolver: state.dresolver ?? '',
  });
  const [answer, setAnswer] = useState<DnsAnswerJson | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [raw, setRaw] = useState(false);
  useEffect(
    () =>
      setForm({
        name: state.dname ?? '',
        from: state.dfrom ?? '',
        type: state.dtype ?? '',
        ask: state.dask,
        server: state.dserver ?? '',
        resolver: state.dresolver ?? '',
      }),
    [state.dname, state.dfrom, state.dtype, state.dask, state.dserver, state.dresolver],
  );
  useEffect(() => {
    if (!state.dname) return;
    let cancelled = false;
    setError(null);
    getDns(m, {
      name: state.dname,
      ...(state.dfrom ? { from: state.dfrom } : {}),
      ...(state.dask === 'server' ? { server: state.dserver ?? '' } : {}),
      ...(state.dtype ? { type: state.dtype } : {}),
      ...(state.dresolver && state.dask === 'pod' ? { resolver: state.dresolver } : {}),
    })
      .then((a) => !cancelled && setAnswer(a))
      .catch((err: unknown) => {
        if (cancelled) return;
        setAnswer(null);
        setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      });
    return () => {
      cancelled = true;
    };
  }, [m, state.dname, state.dfrom, state.dtype, state.dask, state.dserver, state.dresolver]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update(
      {
        dname: form.name.trim() || undefined,
        dfrom: form.from.trim() || undefined,
        dtype: form.type || undefined,
        dask: form.ask,
        dserver: form.ask === 'server' ? form.server.trim() || undefined : undefined,
        dresolver: form.ask === 'pod' ? form.resolver || undefined : undefined,
      },
      true,
    );
  };
  const pods = topology.nodes.flatMap((n) => n.pods.map((p) => `${p.namespace}/${p.name}`));
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [k]: e.target.value });
  const result = answer?.result;
  return (
    <div className="dns-view">
      <form className="dns-form" onSubmit={submit} aria-label="DNS lookup">
        <datalist id="pods">
          {pods.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
        <label>
          Name
          <input name="dname" value={form.name} onChange={set('name')} placeholder="web.shop" required />
        </label>
        <fieldset>
          <legend>Ask</legend>
          <label className="check">
            <input
              type="radio"
              name="dask"
              checked={form.ask === 'pod'}
              onChange={() => setForm({ ...form, ask: 'pod' })}
            />
            the pod's resolver (--from)
          </label>
          <label className="check">
            <input
              type="radio"
              name="dask"
              checked={form.ask === 'server'}
              onChange={() => setForm({ ...form, ask: 'server' })}
            />
            a server, like dig (--server)
          </label>
        </fieldset>
        <label>
          From pod
          <input
            name="dfrom"
            list="pods"
            value={form.from}
            onChange={set('from')}
            placeholder="ns/pod"
            size={36}
            required={form.ask === 'pod'}
          />
        </label>
        {form.ask === 'server' && (
          <label>
            Server
            <input
              name="dserver"
              value={form.server}
              onChange={set('server')}
              placeholder="kube-dns ClusterIP"
            />
          </label>
        )}
        <label>
          Type
          <select name="dtype" value={form.type} onChange={set('type')}>
            <option value="">{form.ask === 'server' ? 'A' : 'A and AAAA'}</option>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        {form.ask === 'pod' && (
          <label>
            Resolver
            <select name="dresolver" value={form.resolver} onChange={set('resolver')}>
              <option value="">from the image</option>
              <option value="glibc">glibc</option>
              <option value="musl">musl</option>
            </select>
          </label>
        )}
        <button type="submit">Resolve</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {answer && result !== undefined && (
        <div className="dns-answer" data-testid="dns-answer" data-mode={answer.mode}>
          <p className="command">
            <code>{answer.command}</code> · exit {answer.exitCode}
          </p>
          <label className="check">
            <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> raw text
          </label>
          {raw ? (
            <pre className="raw">{answer.text}</pre>
          ) : answer.mode === 'server' ? (
            <ServerResult r={result as ServerQueryJson} />
          ) : (
            <div className="dns-body">
              <ResolvConf text={(result as ResolverJson).resolvConf} />
              <div>
                <QueryTable
                  queries={(result as ResolverJson).queries}
                  caption={`Queries the ${(result as ResolverJson).resolver} resolver sent, in order (${
                    answer.mode === 'lookup' ? 'getaddrinfo' : 'res_search'
                  })`}
                />
                <ResolverResult r={result as ResolverJson} />
                {(result as ResolverJson).notes.length > 0 && (
                  <details>
                    <summary>How CoreDNS answered each query</summary>
                    <ul>
                      {(result as ResolverJson).notes.map((n) => (
                        <li key={n}>{n}</li>
                      ))}
                    </ul>
                  </details>
                )}
              </div>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
