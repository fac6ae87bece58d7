// Properties of `kpath dns --from` and the cluster document's records.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { searchQuery } from '../../src/cli/dns.js';
import { buildCoreDns } from '../../src/dns/coredns.js';
import { resolve } from '../../src/dns/stub-resolver.js';
import { loadCluster } from '../../src/load/index.js';
import type { Pod } from '../../src/model/k8s.js';
import { buildTwin } from '../../src/twin.js';

const cluster = (dns: string) =>
  `apiVersion: kpath.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  nodes: [{name: n1, ip: 192.168.1.10}]\n${dns}`;

const UPSTREAMS = `  dns:
    upstreams:
      - name: corp
        ip: 192.168.1.1
        records:
          - "google.com. 300 IN A 142.250.80.46"
          - "v6only.example. 300 IN AAAA 2001:db8::1"
          - "alias.example. 300 IN CNAME google.com."
          - "web.corp. 60 IN A 10.20.0.5"
      - {name: broken, ip: 192.168.1.3, behaviour: servfail}
      - {name: dead, ip: 192.168.1.2, behaviour: timeout}
`;

/** Where CoreDNS forwards (the node's resolv.conf): one of the upstreams. */
const forwardTo = (ip: string) => `    nodeResolvConf: "nameserver ${ip}\\n"\n`;

const SERVICES = `---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec: {selector: {app: api}, ports: [{port: 80}]}
`;

/** A pod whose resolv.conf takes the generated settings. */
function podYaml(
  name: string,
  policy: string,
  nameservers: string[],
  searches: string[],
  ndots: number,
): string {
  return `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  dnsPolicy: ${policy}
  dnsConfig: {nameservers: [${nameservers.join(', ')}], searches: [${searches.join(', ')}], options: [{name: ndots, value: "${ndots}"}, {name: attempts, value: "1"}]}
  containers: [{name: c, image: busybox}]
`;
}

const label = fc.constantFrom('web', 'api', 'shop', 'google', 'alias', 'v6only', 'nope');
const suffix = fc.constantFrom(
  '',
  '.com',
  '.corp',
  '.example',
  '.shop',
  '.svc.cluster.local',
  '.shop.svc.cluster.local',
  '.cluster.local',
);
const name = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 2 }), suffix, fc.boolean())
  .map(([ls, sfx, dot]) => `${ls.join('.')}${sfx}${dot ? '.' : ''}`);
const settings = fc.record({
  policy: fc.constantFrom('ClusterFirst', 'None'),
  nameservers: fc.subarray(['10.96.0.10', '192.168.1.1', '192.168.1.2', '192.168.1.3'], {
    minLength: 1,
    maxLength: 2,
  }),
  searches: fc.subarray(['corp', 'example', 'shop.svc.cluster.local'], {}),
  ndots: fc.integer({ min: 0, max: 5 }),
  forward: fc.constantFrom('192.168.1.1', '192.168.1.2', '192.168.1.3'),
});

describe('res_search (kpath dns --from --type T) against getaddrinfo', () => {
  it('for type A, glibc res_search sends exactly the queries getaddrinfo(AF_INET) sends, and ends the same way', () => {
    // Both run glibc's __res_context_search (res_query.c); getaddrinfo with AF_INET asks A only.
    fc.assert(
      fc.property(settings, fc.array(name, { minLength: 1, maxLength: 4 }), (st, names) => {
        const pod = podYaml('p', st.policy, st.nameservers, st.searches, st.ndots);
        const twin = buildTwin([
          { file: 'c.yaml', text: cluster(UPSTREAMS + forwardTo(st.forward)) + SERVICES + pod },
        ]);
        const p = twin.state.pods.find((x) => x.metadata.name === 'p') as Pod;
        const dns = twin.state.config.dns!;
        const model = buildCoreDns(twin.state, {
          upstreams: dns.upstreams,
          nodeResolvConf: dns.nodeResolvConf!,
        });
        for (const n of names) {
          const gai = resolve(model, n, p, { family: 4, resolver: 'glibc' });
          const rs = searchQuery(model, p, n, 'A', 'glibc');
          const strip = (
            qs: { name: string; type: string; server: string; rcode: string; answer: string[] }[],
          ) => qs.map((q) => `${q.name} ${q.type} ${q.server} ${q.rcode} ${q.answer.join(',')}`);
          expect(strip(rs.queries)).toEqual(strip(gai.queries));
          expect(rs.status).toBe(gai.result.status);
          expect(rs.waitedMs).toBe(gai.waitedMs);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('records in the cluster document', () => {
  const ipv4 = fc.ipV4();
  const owner = fc
    .array(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), { minLength: 1, maxLength: 4 })
    .map((ls) => ls.join('.'));
  it('a zone-file line and the mapping it abbreviates load to the same record', () => {
    fc.assert(
      fc.property(owner, ipv4, fc.integer({ min: 0, max: 2147483647 }), (n, a, ttl) => {
        const load = (rec: string) =>
          loadCluster([
            {
              file: 'c.yaml',
              text: cluster(
                `  dns:\n    upstreams:\n      - name: u\n        ip: 192.168.1.1\n        records: [${rec}]\n`,
              ),
            },
          ]).config.dns!.upstreams[0]!.records;
        expect(load(`"${n} ${ttl} IN A ${a}"`)).toEqual(
          load(`{name: ${n}, type: A, data: "${a}", ttl: ${ttl}}`),
        );
        expect(load(`"${n}. ${ttl} A ${a}"`)).toEqual([{ name: `${n}.`, type: 'A', data: a, ttl }]);
      }),
      { numRuns: 100 },
    );
  });
});
