// Every view's state lives in the URL's query string, so a copied link reproduces what was on screen.
export type ViewName = 'topology' | 'trace' | 'node' | 'dns' | 'reach';
export type Grouping = 'namespace' | 'workload';
export type NodePanel =
  | 'netfilter'
  | 'ip-route'
  | 'ip-addr'
  | 'ip-link'
  | 'ip-neigh'
  | 'bridge-fdb'
  | 'conntrack';

export interface ViewState {
  view: ViewName;
  /** Uploaded manifests' id on the server; absent = the manifests `kpath serve` was started with. */
  m?: string;
  q?: string;
  group: Grouping;
  /** Node boxes whose collapsed/expanded state differs from the default. */
  fold: string[];
  /** Pod groups (`node:group`, e.g. `node-1:shop/Deployment/web`) whose state differs from the default. */
  gfold: string[];
  /** Every group open or closed by default (Open/Close all groups); absent: big groups start closed. */
  gall?: 'open' | 'closed';
  svc?: string;
  from?: string;
  to?: string;
  port?: string;
  protocol: string;
  seed: string;
  endpoint?: string;
  noReturn: boolean;
  /** The selected hop number (forward and return legs number on from each other). */
  hop?: number;
  node?: string;
  pod?: string;
  panel: NodePanel;
  table: string;
  chain?: string;
  raw: boolean;
  /** DNS view: the name, the pod it is resolved in, and whether to ask a server directly (like dig). */
  dname?: string;
  dfrom?: string;
  dtype?: string;
  dask: 'pod' | 'server';
  /** --server IP; absent = the kube-dns ClusterIP. */
  dserver?: string;
  /** --resolver glibc | musl; absent = from the pod's image, as the CLI decides. */
  dresolver?: string;
  /** Reach view: the selectors (each repeatable, as the CLI's options) and the ports. */
  rfrom: string[];
  rto: string[];
  rport?: string;
  /** The selected cell, `from|to|80/TCP`. */
  rcell?: string;
  /** `--group workload`: one row/column per Deployment, StatefulSet or DaemonSet. */
  rgroup?: 'workload';
  /** The selected grouped cell, `fromGroup|toGroup|80/TCP`. */
  rgcell?: string;
}

export const DEFAULT_STATE: ViewState = {
  view: 'topology',
  group: 'namespace',
  fold: [],
  gfold: [],
  protocol: 'tcp',
  seed: '1',
  noReturn: false,
  panel: 'netfilter',
  table: 'nat',
  raw: false,
  dask: 'pod',
  rfrom: [],
  rto: [],
};

const VIEWS: readonly ViewName[] = ['topology', 'trace', 'node', 'dns', 'reach'];
const PANELS: readonly NodePanel[] = [
  'netfilter',
  'ip-route',
  'ip-addr',
  'ip-link',
  'ip-neigh',
  'bridge-fdb',
  'conntrack',
];

export function parseState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const s: ViewState = { ...DEFAULT_STATE, fold: [], gfold: [], rfrom: [], rto: [] };
  const str = (k: string) => {
    const v = p.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const view = str('view');
  if (view && (VIEWS as readonly string[]).includes(view)) s.view = view as ViewName;
  const panel = str('panel');
  if (panel && (PANELS as readonly string[]).includes(panel)) s.panel = panel as NodePanel;
  if (str('group') === 'workload') s.group = 'workload';
  s.fold = (str('fold') ?? '').split(',').filter(Boolean);
  s.gfold = (str('gfold') ?? '').split(',').filter(Boolean);
  s.rfrom = p.getAll('rfrom').filter(Boolean);
  s.rto = p.getAll('rto').filter(Boolean);
  if (str('dask') === 'server') s.dask = 'server';
  const gall = str('gall');
  if (gall === 'open' || gall === 'closed') s.gall = gall;
  if (str('rgroup') === 'workload') s.rgroup = 'workload';
  for (const k of [
    'm',
    'q',
    'svc',
    'from',
    'to',
    'port',
    'endpoint',
    'node',
    'pod',
    'chain',
    'dname',
    'dfrom',
    'dtype',
    'dserver',
    'dresolver',
    'rport',
    'rcell',
    'rgcell',
  ] as const) {
    const v = str(k);
    if (v !== undefined) s[k] = v;
  }
  s.protocol = str('protocol') ?? s.protocol;
  s.seed = str('seed') ?? s.seed;
  s.table = str('table') ?? s.table;
  s.noReturn = str('noReturn') === '1';
  s.raw = str('raw') === '1';
  const hop = Number(str('hop'));
  if (Number.isInteger(hop) && hop > 0) s.hop = hop;
  return s;
}

export function formatState(s: ViewState): string {
  const p = new URLSearchParams();
  const put = (k: string, v: string | undefined, dflt?: string) => {
    if (v !== undefined && v !== '' && v !== dflt) p.set(k, v);
  };
  put('view', s.view, DEFAULT_STATE.view);
  put('m', s.m);
  put('q', s.q);
  put('group', s.group, DEFAULT_STATE.group);
  put('fold', s.fold.join(','));
  put('gfold', s.gfold.join(','));
  put('gall', s.gall);
  put('svc', s.svc);
  put('from', s.from);
  put('to', s.to);
  put('port', s.port);
  put('protocol', s.protocol, DEFAULT_STATE.protocol);
  put('seed', s.seed, DEFAULT_STATE.seed);
  put('endpoint', s.endpoint);
  put('noReturn', s.noReturn ? '1' : undefined);
  put('hop', s.hop === undefined ? undefined : String(s.hop));
  put('node', s.node);
  put('pod', s.pod);
  put('panel', s.panel, DEFAULT_STATE.panel);
  put('table', s.table, DEFAULT_STATE.table);
  put('chain', s.chain);
  put('raw', s.raw ? '1' : undefined);
  put('dname', s.dname);
  put('dfrom', s.dfrom);
  put('dtype', s.dtype);
  put('dask', s.dask, DEFAULT_STATE.dask);
  put('dserver', s.dserver);
  put('dresolver', s.dresolver);
  for (const f of s.rfrom) if (f) p.append('rfrom', f);
  for (const t of s.rto) if (t) p.append('rto', t);
  put('rport', s.rport);
  put('rcell', s.rcell);
  put('rgroup', s.rgroup);
  put('rgcell', s.rgcell);
  const q = p.toString();
  return q ? `?${q}` : '';
}
