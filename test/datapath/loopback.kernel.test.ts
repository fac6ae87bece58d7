// A packet a namespace sends to one of its own addresses leaves by lo and comes back in. Which chains see it
// there is easy to get wrong: the kernel runs raw/mangle PREROUTING and mangle/filter INPUT again, but not the
// nat chains (the connection's NAT was bound in OUTPUT/POSTROUTING). The real kernel's per-rule packet counters
// after one connection must name exactly the rules the simulator says matched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CONNTRACK } from '../../src/datapath/conntrack.js';
import { type HookResult, netfilterHooks } from '../../src/datapath/netfilter/hooks.js';
import { inNetns, kernelToolsMissing, run } from '../fixtures/kernel.js';
import { addrTypes, ip, rulesetOf, tcpPkt } from './helpers.js';

const NS = `kpath-t-lo${process.pid % 100000}`;
const missing = kernelToolsMissing(
  [
    ['iptables-restore', '--version'],
    ['ip', '-V'],
  ],
  'needs iptables-restore and ip',
);

// Every chain a loopback packet could pass has a rule for port 9; the nat PREROUTING/INPUT ones would change
// the connection if they were consulted, and the filter INPUT one only matches the mark mangle PREROUTING set.
const RULES = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 9 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 9 -j ACCEPT
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i lo -p tcp -m tcp --dport 9 -j MARK --set-xmark 0x1/0x1
-A INPUT -i lo -p tcp -m tcp --dport 9 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 9 -j ACCEPT
-A POSTROUTING -o lo -p tcp -m tcp --dport 9 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 9 -j DNAT --to-destination 192.168.1.10:19
-A INPUT -p tcp -m tcp --dport 9 -j SNAT --to-source 192.168.1.99
-A OUTPUT -p tcp -m tcp --dport 9 -j ACCEPT
-A POSTROUTING -p tcp -m tcp --dport 9 -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -p tcp -m tcp --dport 9 -m mark --mark 0x1/0x1 -j REJECT --reject-with tcp-reset
-A OUTPUT -p tcp -m tcp --dport 9 -j ACCEPT
COMMIT
`;

function simulate(): HookResult {
  return netfilterHooks(
    {
      ruleset: rulesetOf(RULES),
      conntrack: EMPTY_CONNTRACK,
      now: 1000,
      addrType: addrTypes(['192.168.1.10']),
      route: (p) =>
        p.ip.dst.equals(ip('192.168.1.10')) ? { kind: 'local' } : { kind: 'unreachable', reason: '' },
      masqueradeAddress: () => undefined,
      choice: () => 0,
    },
    tcpPkt('192.168.1.10', 40000, '192.168.1.10', 9),
    { kind: 'local-out' },
  );
}

/** `table chain #n` for every rule, from the kernel's `iptables-save -c`, with its packet count. */
function kernelCounters(save: string): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^\[(\d+):\d+\] -A (\S+) /.exec(line);
    if (!m) continue;
    const chain = `${table} ${m[2]}`;
    const n = (seen.get(chain) ?? 0) + 1;
    seen.set(chain, n);
    out.set(`${chain} #${n}`, Number(m[1]));
  }
  return out;
}

describe.skipIf(missing !== undefined)(`the loopback path in a real kernel (${missing ?? 'root'})`, () => {
  beforeAll(() => {
    run(['ip', 'netns', 'add', NS]);
    run(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    run(['ip', '-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    run(['ip', '-n', NS, 'addr', 'add', '192.168.1.10/24', 'dev', 'v0']);
    run(['ip', '-n', NS, 'link', 'set', 'v0', 'up']);
    run(['ip', '-n', NS, 'link', 'set', 'v1', 'up']);
    inNetns(NS, ['iptables-restore'], RULES);
  });
  afterAll(() => {
    try {
      run(['ip', 'netns', 'del', NS]);
    } catch {}
  });

  it('the rules that match are the ones the kernel counted, and the verdict is the same', () => {
    const client = `const s = require('net').connect(9, '192.168.1.10');
s.on('error', (e) => { console.log(e.code); process.exit(0); });
s.on('connect', () => { console.log('connected'); process.exit(0); });
setTimeout(() => { console.log('timeout'); process.exit(0); }, 3000);`;
    const got = inNetns(NS, [process.execPath, '-e', client]).trim();
    // Only the SYN is counted: the RST comes from the REJECT itself, which iptables does not see again.
    const kernel = [...kernelCounters(inNetns(NS, ['iptables-save', '-c']))]
      .filter(([, n]) => n > 0)
      .map(([k]) => k)
      .sort();

    const sim = simulate();
    const matched = sim.steps
      .flatMap((s) =>
        s.kind === 'chain' ? s.result.matched.map((r) => `${r.table} ${r.chain} #${r.number}`) : [],
      )
      .sort();
    expect(got).toBe('ECONNREFUSED');
    expect(sim.disposition).toBe('REJECTED');
    expect(matched).toEqual(kernel);
    expect(kernel).not.toContain('nat PREROUTING #1');
    expect(kernel).toContain('filter INPUT #1');
  });
});
