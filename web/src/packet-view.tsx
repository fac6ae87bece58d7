// A packet as its headers, outermost first: an encapsulated packet is drawn as the outer Ethernet/IP/UDP/VXLAN
// header wrapped around the inner frame. Fields that differ from the other side of the hop are highlighted.
import type { PacketJson } from './api.js';

type Fields = [string, string, string][]; // [key, label, value]

function l4Fields(prefix: string, l4: PacketJson['l4']): Fields {
  if (!l4) return [];
  if (l4.kind === 'icmp') {
    return [
      [`${prefix}l4.type`, 'icmp', `type ${l4.type} code ${l4.code}${l4.id !== null ? ` id ${l4.id}` : ''}`],
    ];
  }
  const f: Fields = [
    [`${prefix}l4.sport`, `${l4.kind} sport`, String(l4.sport)],
    [`${prefix}l4.dport`, `${l4.kind} dport`, String(l4.dport)],
  ];
  if (l4.kind === 'tcp') f.push([`${prefix}l4.flags`, 'tcp flags', `[${l4.flags.join(',')}]`]);
  return f;
}

function headerFields(prefix: string, p: Pick<PacketJson, 'eth' | 'ip' | 'l4'>): Fields {
  const f: Fields = [];
  if (p.eth) {
    f.push([`${prefix}eth.src`, 'eth src', p.eth.src], [`${prefix}eth.dst`, 'eth dst', p.eth.dst]);
  }
  f.push(
    [`${prefix}ip.src`, 'ip src', p.ip.src],
    [`${prefix}ip.dst`, 'ip dst', p.ip.dst],
    [`${prefix}ip.ttl`, p.ip.version === 4 ? 'ttl' : 'hop limit', String(p.ip.ttl)],
  );
  return [...f, ...l4Fields(prefix, p.l4)];
}

/** Every field of a packet by a stable key, so two packets can be compared field by field. */
export function packetFields(p: PacketJson): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, , v] of headerFields('', p)) m.set(k, v);
  m.set('mark', `0x${p.mark.toString(16)}`);
  m.set('ctmark', `0x${p.ctmark.toString(16)}`);
  if (p.encap) {
    m.set('encap', `vxlan vni ${p.encap.vni}`);
    for (const [k, , v] of headerFields('outer.', p.encap.outer)) m.set(k, v);
  }
  return m;
}

function Rows({ fields, changed }: { fields: Fields; changed: Set<string> }) {
  return (
    <table className="fields">
      <tbody>
        {fields.map(([k, label, v]) => (
          <tr key={k} className={changed.has(k) ? 'changed' : ''} data-field={k}>
            <th scope="row">{label}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PacketView({
  packet,
  other,
  title,
}: {
  packet: PacketJson;
  other?: PacketJson;
  title: string;
}) {
  const mine = packetFields(packet);
  const theirs = other ? packetFields(other) : mine;
  const changed = new Set([...mine.keys(), ...theirs.keys()].filter((k) => mine.get(k) !== theirs.get(k)));
  const inner = (
    <div className="frame inner">
      <Rows fields={headerFields('', packet)} changed={changed} />
      <Rows
        fields={[
          ['mark', 'mark', `0x${packet.mark.toString(16)}`],
          ['ctmark', 'ctmark', `0x${packet.ctmark.toString(16)}`],
        ]}
        changed={changed}
      />
    </div>
  );
  return (
    <section className="packet-view" aria-label={title}>
      <h4>{title}</h4>
      {packet.encap ? (
        <div className={`frame outer ${changed.has('encap') ? 'changed' : ''}`} data-encap="vxlan">
          <div className="frame-label">outer headers · UDP/VXLAN vni {packet.encap.vni}</div>
          <Rows fields={headerFields('outer.', packet.encap.outer)} changed={changed} />
          <div className="frame-label">inner frame</div>
          {inner}
        </div>
      ) : (
        inner
      )}
    </section>
  );
}
