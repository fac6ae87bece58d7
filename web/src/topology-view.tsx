// The topology drawn as SVG: the layout's boxes, the service overlay, search highlighting and a trace's path.
import type { KeyboardEvent } from 'react';
import type { TopologyService } from './api.js';
import type { Layout } from './topology-layout.js';

export interface PathStep {
  anchor: string;
  leg: 'forward' | 'return';
  hop: number;
}

interface Props {
  layout: Layout;
  search: string;
  service?: TopologyService;
  path?: PathStep[];
  /** Index into `path` of the hop on show. */
  current?: number;
  onToggleNode(name: string): void;
  /** Collapse or expand one group of a node's pods (`node:group`). */
  onToggleGroup?(fold: string): void;
  onOpenNode(name: string, pod?: string): void;
  /** Scale the drawing to the width of its container (the trace view) instead of scrolling it. */
  fit?: boolean;
}

function matches(search: string, ...texts: (string | null | undefined)[]): boolean {
  const q = search.trim().toLowerCase();
  return !q || texts.some((t) => t?.toLowerCase().includes(q));
}

function activate(fn: () => void) {
  return (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      fn();
    }
  };
}

function pathPoints(layout: Layout, steps: PathStep[]): string {
  return steps
    .map((s) => layout.anchors.get(s.anchor))
    .filter((p): p is { x: number; y: number } => p !== undefined)
    .map((p) => `${p.x},${p.y}`)
    .join(' ');
}

export function TopologyView({
  layout,
  search,
  service,
  path,
  current,
  onToggleNode,
  onToggleGroup,
  onOpenNode,
  fit,
}: Props) {
  const endpoints = new Set(service?.endpoints ?? []);
  const svcAnchor = {
    x: layout.underlay.x + layout.underlay.w - 120,
    y: layout.underlay.y + layout.underlay.h / 2,
  };
  const forward = path?.filter((s) => s.leg === 'forward') ?? [];
  const back = path?.filter((s) => s.leg === 'return') ?? [];
  const here = path && current !== undefined ? path[current] : undefined;
  const herePoint = here ? layout.anchors.get(here.anchor) : undefined;
  const onPath = new Set(path?.map((s) => s.anchor) ?? []);
  return (
    <svg
      className="topology"
      role="img"
      aria-label="cluster topology"
      width={fit ? '100%' : layout.width}
      height={fit ? undefined : layout.height}
      viewBox={`0 0 ${layout.width} ${layout.height}`}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="8"
          refY="5"
          markerWidth="6"
          markerHeight="6"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" className="arrowhead" />
        </marker>
      </defs>
      {[...layout.externals, ...layout.loadBalancers].map((b) => (
        <g
          key={b.id}
          data-id={b.id}
          className={`top ${b.id.startsWith('lb:') ? 'lb' : 'ext'} ${onPath.has(b.id) ? 'on-path' : ''}`}
        >
          <line
            x1={b.x + b.w / 2}
            y1={b.y + b.h}
            x2={b.x + b.w / 2}
            y2={layout.underlay.y}
            className="wire"
          />
          <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={6} />
          <text x={b.x + 10} y={b.y + 18} className="title">
            {b.label}
          </text>
          <text x={b.x + 10} y={b.y + 35} className="sub">
            {b.sub}
          </text>
        </g>
      ))}
      <g data-id="underlay" className={`underlay ${onPath.has('underlay') ? 'on-path' : ''}`}>
        <rect
          x={layout.underlay.x}
          y={layout.underlay.y}
          width={layout.underlay.w}
          height={layout.underlay.h}
          rx={4}
        />
        <text x={layout.underlay.x + 10} y={layout.underlay.y + 20}>
          {layout.underlay.label}
        </text>
      </g>
      <g className="wires">
        {layout.nodes.map((n) => {
          // Every uplink is drawn before any node box, so the boxes cover the wires that pass behind them.
          const eth0 = n.devices.find((d) => d.name === 'eth0') ?? n.devices[0];
          return eth0 ? (
            <line
              key={n.id}
              x1={eth0.x + eth0.w / 2}
              y1={eth0.y}
              x2={eth0.x + eth0.w / 2}
              y2={layout.underlay.y + layout.underlay.h}
              className="wire"
            />
          ) : null;
        })}
      </g>
      {layout.nodes.map((n) => {
        const dim = !matches(
          search,
          n.node.name,
          n.node.ip,
          ...n.node.pods.flatMap((p) => [p.name, p.ip, p.namespace]),
        );
        const toggle = () => onToggleNode(n.node.name);
        return (
          <g key={n.id} data-id={n.id} className={`node ${dim ? 'dim' : ''}`}>
            <rect x={n.x} y={n.y} width={n.w} height={n.h} rx={8} className="node-box" />
            <text x={n.x + 10} y={n.y + 20} className="title">
              {n.node.name}
            </text>
            <text x={n.x + 10} y={n.y + 36} className="sub">
              {n.node.ip} · pods {n.node.podCIDR}
              {n.node.ready ? '' : ' · NotReady'}
            </text>
            {/* biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the role, tabIndex and Enter/Space handler make one */}
            <g
              role="button"
              tabIndex={0}
              aria-label={`${n.collapsed ? 'expand' : 'collapse'} ${n.node.name}`}
              aria-expanded={!n.collapsed}
              className="toggle"
              onClick={toggle}
              onKeyDown={activate(toggle)}
            >
              <rect x={n.x + n.w - 34} y={n.y + 8} width={24} height={20} rx={4} />
              <text x={n.x + n.w - 22} y={n.y + 23} textAnchor="middle">
                {n.collapsed ? '+' : '−'}
              </text>
            </g>
            {/* biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the role, tabIndex and Enter/Space handler make one */}
            <g
              role="button"
              tabIndex={0}
              aria-label={`open node ${n.node.name}`}
              className="toggle"
              onClick={() => onOpenNode(n.node.name)}
              onKeyDown={activate(() => onOpenNode(n.node.name))}
            >
              <rect x={n.x + n.w - 84} y={n.y + 8} width={44} height={20} rx={4} />
              <text x={n.x + n.w - 62} y={n.y + 23} textAnchor="middle">
                state
              </text>
            </g>
            {n.devices.map((d) => (
              <g
                key={d.id}
                data-id={d.id}
                className={`device ${d.kind} ${onPath.has(d.id) ? 'on-path' : ''}`}
              >
                <rect x={d.x} y={d.y} width={d.w} height={d.h} rx={4} />
                <text x={d.x + d.w / 2} y={d.y + 17} textAnchor="middle">
                  {d.label}
                </text>
              </g>
            ))}
            {n.collapsed && (
              <text x={n.x + 10} y={n.y + n.h - 12} className="sub">
                {n.node.pods.length} pods (collapsed)
              </text>
            )}
            {n.groups.map((g) => {
              const toggleGroup = () => onToggleGroup?.(g.fold);
              const name = `group ${g.label} on ${n.node.name}`;
              return (
                <g
                  key={g.id}
                  data-id={g.id}
                  className={`group ${g.collapsed ? 'collapsed' : ''} ${g.hit ? 'hit' : ''} ${onPath.has(g.id) ? 'on-path' : ''}`}
                >
                  <rect x={g.x} y={g.y} width={g.w} height={g.h} rx={5} />
                  {/* biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the role, tabIndex and Enter/Space handler make one */}
                  <g
                    role="button"
                    tabIndex={0}
                    aria-label={`${g.collapsed ? 'expand' : 'collapse'} ${name}`}
                    aria-expanded={!g.collapsed}
                    className="group-toggle"
                    onClick={toggleGroup}
                    onKeyDown={activate(toggleGroup)}
                  >
                    <rect x={g.x + 1} y={g.y + 1} width={g.w - 2} height={18} rx={4} className="group-head" />
                    <text x={g.x + 6} y={g.y + 14} className="sub">
                      {g.collapsed ? '▸' : '▾'} {g.label}{' '}
                      <tspan className="count">
                        ({g.count} {g.count === 1 ? 'pod' : 'pods'})
                      </tspan>
                    </text>
                  </g>
                </g>
              );
            })}
            {n.pods.map((p) => {
              const key = `${p.pod.namespace}/${p.pod.name}`;
              const cls = [
                'pod',
                endpoints.has(key) ? 'endpoint' : '',
                onPath.has(p.id) ? 'on-path' : '',
                matches(search, p.pod.name, p.pod.ip, p.pod.namespace) ? '' : 'dim',
                search.trim() && matches(search, p.pod.name, p.pod.ip) ? 'hit' : '',
              ].join(' ');
              const open = () => onOpenNode(n.node.name, key);
              return (
                // biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the role, tabIndex and Enter/Space handler make one
                <g
                  key={p.id}
                  data-id={p.id}
                  className={cls}
                  role="button"
                  tabIndex={0}
                  aria-label={`pod ${key} ${p.pod.ip ?? ''}`}
                  onClick={open}
                  onKeyDown={activate(open)}
                >
                  <title>{`${key}\n${p.pod.ip ?? 'no IP'}\neth0 ⇄ ${p.pod.hostVeth ?? '(host network)'}\n${p.pod.netns ?? ''}`}</title>
                  <rect x={p.x} y={p.y} width={p.w} height={p.h} rx={4} />
                  <text x={p.x + 6} y={p.y + 15}>
                    {p.pod.name.length > 22 ? `${p.pod.name.slice(0, 21)}…` : p.pod.name}
                  </text>
                  <text x={p.x + 6} y={p.y + 30} className="sub">
                    {p.pod.ip} {p.pod.hostVeth ? `⇄ ${p.pod.hostVeth}` : 'hostNetwork'}
                  </text>
                </g>
              );
            })}
          </g>
        );
      })}
      {service && (
        <g className="service-overlay" data-id={`svc:${service.namespace}/${service.name}`}>
          {service.endpoints.map((e) => {
            const p = layout.anchors.get(`pod:${e}`);
            return p ? (
              <line key={e} x1={svcAnchor.x} y1={svcAnchor.y} x2={p.x} y2={p.y} className="svc-line" />
            ) : null;
          })}
          <rect x={svcAnchor.x - 110} y={svcAnchor.y - 13} width={220} height={26} rx={13} />
          <text x={svcAnchor.x} y={svcAnchor.y + 5} textAnchor="middle">
            svc {service.namespace}/{service.name} {service.clusterIP ?? 'headless'}
          </text>
        </g>
      )}
      {forward.length > 1 && (
        <polyline className="path forward" points={pathPoints(layout, forward)} markerEnd="url(#arrow)" />
      )}
      {back.length > 1 && (
        <polyline className="path return" points={pathPoints(layout, back)} markerEnd="url(#arrow)" />
      )}
      {herePoint && (
        <circle
          className={`packet ${here?.leg ?? ''}`}
          r={9}
          cx={0}
          cy={0}
          style={{ transform: `translate(${herePoint.x}px, ${herePoint.y}px)` }}
        />
      )}
    </svg>
  );
}
