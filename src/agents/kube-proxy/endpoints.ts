// kube-proxy's view of EndpointSlices (pkg/proxy/endpointslicecache.go): per service port, the
// endpoints of the proxier's family, deduplicated and sorted by their "ip:port" string.

import { type EndpointSlice, SERVICE_NAME_LABEL } from '../../model/k8s.js';
import type { Family } from '../../net/ip.js';
import { IPAddr } from '../../net/ip.js';
import { CANONICAL_V4 } from '../../node/iptables/values.js';
import { servicePortKey } from './service-port.js';

export interface EndpointInfo {
  /** The address as text (canonical). */
  readonly ipText: string;
  readonly port: number;
  /** `ip:port` as net.JoinHostPort writes it (`[v6]:port`). */
  readonly endpoint: string;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** Endpoint's nodeName equals kube-proxy's node name. */
  readonly isLocal: boolean;
  readonly zoneHints: readonly string[] | undefined;
  readonly nodeHints: readonly string[] | undefined;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
}

/** Endpoints per servicePortKey (see service-port.ts). */
export type EndpointsMap = ReadonlyMap<string, readonly EndpointInfo[]>;

const ADDRESS_TYPE: Record<Family, string> = { 4: 'IPv4', 6: 'IPv6' };

export function buildEndpointsMap(
  slices: readonly EndpointSlice[],
  family: Family,
  nodeName: string,
): EndpointsMap {
  const byKey = new Map<string, EndpointInfo[]>();
  for (const slice of slices) {
    if (slice.addressType !== ADDRESS_TYPE[family]) continue;
    const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svcName) continue;
    const ns = slice.metadata.namespace ?? 'default';
    for (const port of slice.ports ?? []) {
      // A slice port without a name pointer or port number yields nothing (endpointslicecache.go).
      if (port.name === undefined || port.port === undefined || port.port === 0) continue;
      const key = servicePortKey(ns, svcName, port.name, port.protocol ?? 'TCP');
      let list = byKey.get(key);
      if (!list) {
        list = [];
        byKey.set(key, list);
      }
      const suffix = `:${port.port}`;
      for (const ep of slice.endpoints ?? []) {
        const first = ep.addresses?.[0];
        if (first === undefined) continue;
        // Only the first address is used: the API says they are fungible.
        // Text already in canonical dotted form is what parse + toString would give back: no parse.
        let ipText = first;
        if (family !== 4 || !CANONICAL_V4.test(first)) {
          const ip = IPAddr.tryParse(first);
          if (!ip || ip.family !== family) continue;
          ipText = ip.toString();
        }
        const c = ep.conditions;
        const info: EndpointInfo = {
          ipText,
          port: port.port,
          endpoint: family === 6 ? `[${ipText}]${suffix}` : ipText + suffix,
          ready: c?.ready ?? true,
          serving: c?.serving ?? true,
          terminating: c?.terminating ?? false,
          isLocal: nodeName !== '' && ep.nodeName === nodeName,
          zoneHints: ep.hints?.forZones?.map((z) => z.name),
          nodeHints: ep.hints?.forNodes?.map((n) => n.name),
          nodeName: ep.nodeName,
          zone: ep.zone,
        };
        list.push(info);
      }
    }
  }
  for (const list of byKey.values()) {
    // Sorted by the *string* "ip:port" (10.0.1.10:80 before 10.0.1.2:80), as upstream does. The sort
    // is stable, so copies of one "ip:port" stay in the order they were read.
    list.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
    dedupe(list);
  }
  return byKey;
}

/**
 * Same "ip:port" twice (a pod moving between slices, or an IP reused by a new pod): a later
 * non-terminating copy replaces the earlier one; a terminating copy never replaces anything.
 * `list` is sorted, so copies are neighbours; kept in place, one per "ip:port".
 */
function dedupe(list: EndpointInfo[]): void {
  let w = 0;
  for (let r = 0; r < list.length; r++) {
    const ep = list[r] as EndpointInfo;
    if (w > 0 && (list[w - 1] as EndpointInfo).endpoint === ep.endpoint) {
      if (!ep.terminating) list[w - 1] = ep;
    } else list[w++] = ep;
  }
  list.length = w;
}
