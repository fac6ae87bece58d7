// Parsing the kernel's conntrack table for verify's per-hop evidence. The sample is `conntrack -L`
// (conntrack-tools v1.4.7) captured in node-2's namespace of a demo lab on this machine, after db-0
// (10.244.1.4) connected to the my-app ClusterIP 10.96.0.15:80 and my-app on node-3 answered.
import { describe, expect, test } from 'vitest';
import type { Attempt } from '../../src/lab/client.js';
import { conntrackDifferences, parseConntrack } from '../../src/lab/conntrack-evidence.js';

const SAMPLE = `udp      17 29 src=192.168.1.12 dst=192.168.1.11 sport=44033 dport=8472 [UNREPLIED] src=192.168.1.11 dst=192.168.1.12 sport=8472 dport=44033 mark=0 use=1
udp      17 29 src=192.168.1.11 dst=192.168.1.12 sport=39527 dport=8472 [UNREPLIED] src=192.168.1.12 dst=192.168.1.11 sport=8472 dport=39527 mark=0 use=1
tcp      6 119 TIME_WAIT src=10.244.1.4 dst=10.96.0.15 sport=41592 dport=80 src=10.244.2.2 dst=10.244.1.4 sport=8080 dport=41592 [ASSURED] mark=0 use=1
unknown  2 598 src=10.244.1.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.244.1.1 mark=0 use=1
`;

const ips: Record<string, string> = {
  'default/my-app-6d8f7b9c5d-p2w8h': '10.244.2.2',
  'default/my-app-6d8f7b9c5d-m4q9z': '10.244.1.3',
};
const client = { ip: '10.244.1.4', protocol: 'tcp', dst: '10.96.0.15', dport: 80, node: 'node-2' };
const attempt = (endpoint: string, localPort: number): Attempt => ({
  id: 'x',
  outcome: 'answered',
  reply: `${endpoint} 10.244.1.4:${localPort}`,
  localPort,
});

describe('conntrack evidence', () => {
  test('parses original and reply tuples; other protocols are skipped', () => {
    const t = parseConntrack(SAMPLE);
    expect(t).toHaveLength(3);
    expect(t[2]).toEqual({
      protocol: 'tcp',
      src: '10.244.1.4',
      dst: '10.96.0.15',
      sport: 41592,
      dport: 80,
      replySrc: '10.244.2.2',
      replySport: 8080,
      replyDst: '10.244.1.4',
    });
  });

  test('the entry of the very connection must DNAT to the endpoint that answered', () => {
    const t = parseConntrack(SAMPLE);
    expect(
      conntrackDifferences(t, client, [attempt('default/my-app-6d8f7b9c5d-p2w8h', 41592)], (e) => ips[e]),
    ).toEqual([]);
    expect(
      conntrackDifferences(t, client, [attempt('default/my-app-6d8f7b9c5d-m4q9z', 41592)], (e) => ips[e])[0]
        ?.text,
    ).toBe(
      'conntrack on node-2 DNATed to 10.244.2.2:8080, but default/my-app-6d8f7b9c5d-m4q9z (10.244.1.3) answered',
    );
    expect(
      conntrackDifferences(t, client, [attempt('default/my-app-6d8f7b9c5d-p2w8h', 1234)], (e) => ips[e])[0]
        ?.text,
    ).toBe('no conntrack entry on node-2 for source port 1234');
  });

  test('a source port two connections to the destination used is not evidence (the entry is the latest)', () => {
    const t = parseConntrack(SAMPLE);
    const earlier = attempt('default/my-app-6d8f7b9c5d-m4q9z', 41592);
    const later = attempt('default/my-app-6d8f7b9c5d-p2w8h', 41592);
    // Both in this probe, or the other one made by another probe to the same address and port.
    expect(conntrackDifferences(t, client, [earlier, later], (e) => ips[e])).toEqual([]);
    expect(conntrackDifferences(t, client, [earlier], (e) => ips[e], [earlier, later])).toEqual([]);
    // Used once, the same mismatch is still a difference.
    expect(conntrackDifferences(t, client, [earlier], (e) => ips[e], [earlier])).toHaveLength(1);
  });
});
