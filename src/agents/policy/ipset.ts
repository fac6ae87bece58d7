// ipsets as the kernel holds them: `ipset restore` text (what kube-router feeds `ipset restore -exist`),
// `ipset save`-style listing, and set membership for `-m set --match-set NAME src|dst`.

import { IPAddr, Prefix } from '../../net/ip.js';
import type { Packet } from '../../net/packet.js';
import type { IpSet, IpSetEntry } from '../../node/state.js';

/** ipset's defaults for hash sets, which `ipset save` prints back. */
const HASH_DEFAULTS = 'hashsize 1024 maxelem 65536';

function createLine(s: IpSet): string {
  const timeout = s.timeout !== undefined ? ` timeout ${s.timeout}` : '';
  return `create ${s.name} ${s.type} family ${s.family} ${HASH_DEFAULTS}${timeout}`;
}

function addLine(s: IpSet, e: IpSetEntry): string {
  const timeout = e.timeout !== undefined ? ` timeout ${e.timeout}` : '';
  return `add ${s.name} ${e.member}${timeout}${e.nomatch ? ' nomatch' : ''}`;
}

/** Input for `ipset restore`: every set and its members. */
export function ipsetRestore(sets: readonly IpSet[]): string {
  const lines: string[] = [];
  for (const s of sets) {
    lines.push(createLine(s));
    for (const e of s.members) lines.push(addLine(s, e));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * `ipset save` as ipset 7.x prints it, minus `bucketsize`/`initval` (the kernel picks those; initval
 * is random per set). Members keep the order they were added in, which is also the kernel's for small
 * sets but not guaranteed for large ones.
 */
export function ipsetSave(sets: readonly IpSet[]): string {
  // hash:net lists a host entry (/32, /128) as the bare address.
  const host = (s: IpSet, m: string) =>
    s.type === 'hash:net' && /\/(32|128)$/.test(m) && parseNet(m).len === parseNet(m).addr.bits
      ? m.slice(0, m.indexOf('/'))
      : m;
  return ipsetRestore(
    sets.map((s) => ({ ...s, members: s.members.map((e) => ({ ...e, member: host(s, e.member) })) })),
  );
}

/** The set lookup MatchContext.ipset expects: membership of the packet's src/dst address. */
export function ipsetMembership(
  sets: readonly IpSet[],
): (name: string, dirs: readonly ('src' | 'dst')[], packet: Packet) => boolean | undefined {
  const byName = new Map<string, (ip: IPAddr) => boolean>();
  for (const s of sets) byName.set(s.name, memberTest(s));
  return (name, dirs, packet) => {
    const test = byName.get(name);
    if (!test) return undefined;
    // hash:ip and hash:net have one dimension: only the first direction flag is used.
    const dir = dirs[0] ?? 'src';
    return test(dir === 'src' ? packet.ip.src : packet.ip.dst);
  };
}

function memberTest(s: IpSet): (ip: IPAddr) => boolean {
  if (s.type === 'hash:ip') {
    const members = new Set(
      s.members.filter((m) => !m.nomatch).map((m) => IPAddr.parse(m.member).toString()),
    );
    return (ip) => members.has(ip.toString());
  }
  if (s.type === 'hash:net') {
    const entries = s.members
      .map((m) => ({ prefix: parseNet(m.member), nomatch: !!m.nomatch }))
      // The kernel tries the set's prefix lengths from the most specific down; the first hit decides.
      .sort((a, b) => b.prefix.len - a.prefix.len);
    return (ip) => {
      const hit = entries.find((e) => e.prefix.contains(ip));
      return hit !== undefined && !hit.nomatch;
    };
  }
  return () => {
    throw new Error(`ipset type ${s.type} is not modelled`);
  };
}

function parseNet(text: string): Prefix {
  if (text.includes('/')) return Prefix.parse(text);
  const ip = IPAddr.parse(text);
  return Prefix.of(ip, ip.bits);
}
