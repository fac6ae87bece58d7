// The page: three views over one cluster (topology, trace, node state), every bit of view state in the URL.
import { type DragEvent, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { ApiError, getTopology, postTrace, type Topology, type TraceJson } from './api.js';
import type { TraceFields } from './command-line.js';
import { DnsView, TraceDnsSteps } from './dns-view.js';
import { ManifestsDialog, type Problem, readFiles, upload } from './manifests.js';
import { NodeView } from './node-view.js';
import { ReachView } from './reach-view.js';
import {
  collapsedByDefault,
  groupCollapsedByDefault,
  hopAnchor,
  layoutTopology,
  podGroups,
  podMatches,
} from './topology-layout.js';
import { type PathStep, TopologyView } from './topology-view.js';
import { allHops, HopDetail, HopList, previousHops, TraceForm, TraceSummary } from './trace-view.js';
import { formatState, parseState, type ViewName, type ViewState } from './url-state.js';

function fieldsOf(s: ViewState): TraceFields {
  return {
    from: s.from,
    to: s.to,
    port: s.port,
    protocol: s.protocol,
    seed: s.seed,
    endpoint: s.endpoint,
    noReturn: s.noReturn,
  };
}

function traceKey(s: ViewState): string {
  return JSON.stringify([s.m, fieldsOf(s)]);
}

const VIEWS: { id: ViewName; label: string }[] = [
  { id: 'topology', label: 'Topology' },
  { id: 'trace', label: 'Trace' },
  { id: 'node', label: 'Node' },
  { id: 'dns', label: 'DNS' },
  { id: 'reach', label: 'Reach' },
];

export function App() {
  const [state, setState] = useState<ViewState>(() => parseState(window.location.search));
  const [topology, setTopology] = useState<Topology | null>(null);
  const [files, setFiles] = useState<string[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [trace, setTrace] = useState<{ key: string; trace: TraceJson; arrived: number } | null>(null);
  const [traceError, setTraceError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [dialog, setDialog] = useState(false);
  const [problems, setProblems] = useState<Problem[]>([]);
  const stateRef = useRef(state);
  stateRef.current = state;

  const update = useCallback((patch: Partial<ViewState>, push = false) => {
    const next = { ...stateRef.current, ...patch };
    stateRef.current = next;
    setState(next);
    const url = `${window.location.pathname}${formatState(next)}`;
    if (push) window.history.pushState(null, '', url);
    else window.history.replaceState(null, '', url);
  }, []);

  useEffect(() => {
    const onPop = () => setState(parseState(window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    let cancelled = false;
    setLoadError(null);
    getTopology(state.m)
      .then((t) => {
        if (cancelled) return;
        setTopology(t);
        return fetch(`api/workspace${state.m ? `?m=${encodeURIComponent(state.m)}` : ''}`)
          .then((r) => r.json() as Promise<{ files: string[] }>)
          .then((w) => !cancelled && setFiles(w.files));
      })
      .catch((err: unknown) => !cancelled && setLoadError(err instanceof Error ? err.message : String(err)));
    return () => {
      cancelled = true;
    };
  }, [state.m]);

  // The trace named in the URL is run on load and whenever its fields change.
  const key = traceKey(state);
  useEffect(() => {
    const state = stateRef.current;
    if (!topology || !state.from || !state.to) return;
    let cancelled = false;
    setBusy(true);
    setTraceError(null);
    postTrace(state.m, {
      from: state.from,
      to: state.to,
      port: state.port,
      protocol: state.protocol,
      seed: state.seed,
      endpoint: state.endpoint,
      noReturn: state.noReturn,
    })
      .then((t) => {
        if (cancelled) return;
        setTrace({ key, trace: t, arrived: performance.now() });
        if (stateRef.current.hop === undefined) update({ hop: t.hops[0]?.n });
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        setTrace(null);
        setTraceError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      })
      .finally(() => !cancelled && setBusy(false));
    return () => {
      cancelled = true;
    };
  }, [topology, key, update]);

  // Render time of a trace (JSON in hand → drawn), reported by the browser test.
  useLayoutEffect(() => {
    if (!trace) return;
    const arrived = trace.arrived;
    requestAnimationFrame(() => {
      document.body.dataset.traceRenderMs = (performance.now() - arrived).toFixed(1);
    });
  }, [trace]);

  useEffect(() => {
    if (topology) {
      document.body.dataset.ready = 'true';
      document.body.dataset.readyMs = performance.now().toFixed(0);
    }
  }, [topology]);

  const defaultCollapsed = topology ? collapsedByDefault(topology) : false;
  const currentTrace = trace?.key === key ? trace.trace : undefined;
  const pathNodes = useMemo(
    () => new Set(currentTrace ? allHops(currentTrace).flatMap((h) => (h.hop.node ? [h.hop.node] : [])) : []),
    [currentTrace],
  );
  const pathPods = useMemo(
    () =>
      new Set(
        currentTrace
          ? allHops(currentTrace).flatMap((h) =>
              h.hop.owner.startsWith('pod/') ? [h.hop.owner.slice(4)] : [],
            )
          : [],
      ),
    [currentTrace],
  );
  const q = state.q?.trim().toLowerCase() ?? '';
  const onTrace = state.view === 'trace';
  const layout = useMemo(() => {
    if (!topology) return undefined;
    const search = onTrace ? '' : q;
    return layoutTopology(topology, {
      group: state.group,
      search,
      collapsed: (name) => {
        // A node the trace crosses, or one holding a search hit, is always open.
        if (onTrace && pathNodes.has(name)) return false;
        const node = topology.nodes.find((n) => n.name === name);
        if (
          search &&
          node &&
          (node.pods.some((p) => podMatches(p, search) && !p.namespace.toLowerCase().includes(search)) ||
            podGroups(node, state.group).some(([k]) => k.toLowerCase().includes(search)))
        )
          return false;
        return defaultCollapsed !== state.fold.includes(name);
      },
      // A group holding a search hit or a pod the trace passes is always open.
      groupCollapsed: (fold, members, hit) => {
        if (hit) return false;
        if (onTrace && members.some((p) => pathPods.has(`${p.namespace}/${p.name}`))) return false;
        const closed = state.gall ? state.gall === 'closed' : groupCollapsedByDefault(members.length);
        return closed !== state.gfold.includes(fold);
      },
    });
  }, [
    topology,
    state.group,
    state.fold,
    state.gfold,
    state.gall,
    onTrace,
    pathNodes,
    pathPods,
    defaultCollapsed,
    q,
  ]);

  const path = useMemo((): PathStep[] | undefined => {
    if (!currentTrace || !layout) return undefined;
    const steps: PathStep[] = [];
    for (const { hop, leg } of allHops(currentTrace)) {
      const anchor = hopAnchor(layout, hop);
      if (!anchor) continue;
      const last = steps[steps.length - 1];
      if (last && last.anchor === anchor && last.leg === leg) continue;
      steps.push({ anchor, leg, hop: hop.n });
    }
    return steps;
  }, [currentTrace, layout]);
  const currentStep = useMemo(() => {
    if (!path || state.hop === undefined) return undefined;
    let idx = -1;
    path.forEach((s, i) => {
      if (s.hop <= (state.hop ?? 0)) idx = i;
    });
    return idx >= 0 ? idx : undefined;
  }, [path, state.hop]);

  // Playing steps through the hops one by one, the packet moving along the path.
  useEffect(() => {
    if (!playing || !currentTrace) return;
    const hops = allHops(currentTrace);
    const timer = setInterval(() => {
      const i = hops.findIndex((h) => h.hop.n === stateRef.current.hop);
      const next = hops[i + 1];
      if (!next) setPlaying(false);
      else update({ hop: next.hop.n });
    }, 350);
    return () => clearInterval(timer);
  }, [playing, currentTrace, update]);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    if (!e.dataTransfer.files.length) return;
    const r = await upload(await readFiles(e.dataTransfer.files));
    if ('id' in r) {
      setProblems([]);
      setTrace(null);
      update({ m: r.id, hop: undefined, chain: undefined }, true);
    } else {
      setProblems(r.problems);
      setDialog(true);
    }
  };

  const selectedHop = currentTrace
    ? allHops(currentTrace).find((h) => h.hop.n === state.hop)?.hop
    : undefined;
  const service = topology?.services.find((s) => `${s.namespace}/${s.name}` === state.svc);
  const toggleNode = (name: string) =>
    update({
      fold: state.fold.includes(name) ? state.fold.filter((n) => n !== name) : [...state.fold, name],
    });
  const toggleGroup = (fold: string) =>
    update({
      gfold: state.gfold.includes(fold) ? state.gfold.filter((g) => g !== fold) : [...state.gfold, fold],
    });
  const openNode = (name: string, pod?: string) =>
    update({ view: 'node', node: name, pod, chain: undefined }, true);

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: the whole page is the drop zone; the Manifests… dialog is the keyboard way
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <header>
        <h1>kpath</h1>
        {topology && (
          <span className="cluster">
            cluster <strong>{topology.cluster.name}</strong> · {topology.nodes.length} nodes ·{' '}
            {topology.nodes.reduce((n, x) => n + x.pods.length, 0)} pods · {topology.cluster.cni} · kube-proxy{' '}
            {topology.cluster.proxyMode}
          </span>
        )}
        <div role="tablist" aria-label="views" className="tabs">
          {VIEWS.map((v) => (
            <button
              key={v.id}
              type="button"
              role="tab"
              aria-selected={state.view === v.id}
              onClick={() => update({ view: v.id }, true)}
            >
              {v.label}
            </button>
          ))}
        </div>
        <button type="button" onClick={() => setDialog(true)}>
          Manifests…
        </button>
      </header>
      {loadError && (
        <p role="alert" className="error">
          {loadError}
        </p>
      )}
      {dialog && (
        <ManifestsDialog
          files={files}
          problems={problems}
          setProblems={setProblems}
          onClose={() => setDialog(false)}
          onLoaded={(id) => {
            setDialog(false);
            setTrace(null);
            update({ m: id, hop: undefined, chain: undefined }, true);
          }}
        />
      )}
      {topology && layout && state.view === 'topology' && (
        <main className="topology-page">
          <aside className="side" aria-label="topology controls">
            <label>
              Search
              <input
                type="search"
                value={state.q ?? ''}
                onChange={(e) => update({ q: e.target.value || undefined })}
                placeholder="pod, IP, node"
              />
            </label>
            <label>
              Group pods by
              <select
                value={state.group}
                onChange={(e) => update({ group: e.target.value === 'workload' ? 'workload' : 'namespace' })}
              >
                <option value="namespace">namespace</option>
                <option value="workload">workload</option>
              </select>
            </label>
            <div className="buttons">
              <button
                type="button"
                onClick={() => update({ fold: defaultCollapsed ? topology.nodes.map((n) => n.name) : [] })}
              >
                Expand all
              </button>
              <button
                type="button"
                onClick={() => update({ fold: defaultCollapsed ? [] : topology.nodes.map((n) => n.name) })}
              >
                Collapse all
              </button>
            </div>
            <div className="buttons">
              <button type="button" onClick={() => update({ gall: 'open', gfold: [] })}>
                Open all groups
              </button>
              <button type="button" onClick={() => update({ gall: 'closed', gfold: [] })}>
                Close all groups
              </button>
            </div>
            <h2>Services</h2>
            <ul className="services">
              {topology.services
                .filter(
                  (s) => !q || `${s.namespace}/${s.name} ${s.clusterIP ?? ''}`.toLowerCase().includes(q),
                )
                .map((s) => {
                  const id = `${s.namespace}/${s.name}`;
                  return (
                    <li key={id}>
                      <button
                        type="button"
                        aria-pressed={state.svc === id}
                        onClick={() => update({ svc: state.svc === id ? undefined : id })}
                      >
                        {id}
                      </button>
                      <span className="sub">
                        {' '}
                        {s.type} {s.clusterIP ?? 'headless'}
                        {s.ports
                          .map((p) => ` ${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`)
                          .join(',')}
                        {s.loadBalancerIPs.length ? ` LB ${s.loadBalancerIPs.join(', ')}` : ''} ·{' '}
                        {s.endpoints.length} endpoints
                      </span>
                    </li>
                  );
                })}
            </ul>
            {topology.warnings.length > 0 && (
              <>
                <h2>Warnings</h2>
                <ul>
                  {topology.warnings.map((w) => (
                    <li key={w}>{w}</li>
                  ))}
                </ul>
              </>
            )}
          </aside>
          <div className="canvas">
            <TopologyView
              layout={layout}
              search={state.q ?? ''}
              service={service}
              onToggleNode={toggleNode}
              onToggleGroup={toggleGroup}
              onOpenNode={openNode}
            />
          </div>
        </main>
      )}
      {topology && layout && state.view === 'trace' && (
        <main className="trace-page">
          <TraceForm
            topology={topology}
            fields={fieldsOf(state)}
            busy={busy}
            onRun={(f) => {
              setPlaying(false);
              update(
                {
                  from: f.from,
                  to: f.to,
                  port: f.port || undefined,
                  protocol: f.protocol ?? 'tcp',
                  seed: f.seed || '1',
                  endpoint: f.endpoint || undefined,
                  noReturn: !!f.noReturn,
                  hop: undefined,
                },
                true,
              );
            }}
          />
          {traceError && (
            <p role="alert" className="error">
              {traceError}
            </p>
          )}
          {currentTrace && <TraceSummary trace={currentTrace} fields={fieldsOf(state)} />}
          {currentTrace?.dns && <TraceDnsSteps dns={currentTrace.dns} />}
          <div className="trace-body">
            <div className="canvas">
              {currentTrace && (
                <div className="player">
                  <button type="button" onClick={() => setPlaying(!playing)} aria-pressed={playing}>
                    {playing ? 'Pause' : 'Play'}
                  </button>
                  <button type="button" onClick={() => update({ hop: currentTrace.hops[0]?.n })}>
                    First hop
                  </button>
                  <span className="sub">
                    {state.hop !== undefined ? `hop ${state.hop}` : ''} · ↑/↓ in the hop list steps through
                    hops
                  </span>
                </div>
              )}
              <TopologyView
                layout={layout}
                search=""
                path={path}
                current={currentStep}
                fit
                onToggleNode={toggleNode}
                onToggleGroup={toggleGroup}
                onOpenNode={openNode}
              />
            </div>
            {currentTrace && (
              <div className="trace-side">
                <HopList trace={currentTrace} selected={state.hop} onSelect={(n) => update({ hop: n })} />
                {selectedHop && (
                  <HopDetail
                    m={state.m}
                    hop={selectedHop}
                    prev={currentTrace ? previousHops(currentTrace).get(selectedHop.n) : undefined}
                    onOpenNode={(node, pod, table, chain) =>
                      update(
                        table
                          ? { view: 'node', node, pod, panel: 'netfilter', raw: false, table, chain }
                          : { view: 'node', node, pod, panel: 'ip-route', chain: undefined },
                        true,
                      )
                    }
                  />
                )}
              </div>
            )}
          </div>
        </main>
      )}
      {topology && state.view === 'dns' && (
        <main className="dns-page">
          <DnsView m={state.m} topology={topology} state={state} update={update} />
        </main>
      )}
      {topology && state.view === 'reach' && (
        <main className="reach-page">
          <ReachView m={state.m} state={state} update={update} />
        </main>
      )}
      {topology && state.view === 'node' && (
        <main className="node-page">
          <NodeView m={state.m} topology={topology} state={state} trace={currentTrace} update={update} />
        </main>
      )}
    </div>
  );
}
