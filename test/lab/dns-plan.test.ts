// What DNS adds to a lab plan (pure, no root): the pods' /etc files, the upstream servers' namespaces,
// the CoreDNS pods' servers, and the names `lab verify --dns` looks up.
import { describe, expect, it } from 'vitest';
import { resolvConf } from '../../src/dns/resolv-conf.js';
import { isCoreDnsPod, POD_NSSWITCH, podHostsFile, upstreamNetns } from '../../src/lab/dns-plan.js';
import { labPlan } from '../../src/lab/plan.js';
import { dnsCases, parseGetent, queryRuns } from '../../src/lab/verify-dns.js';
import type { Pod } from '../../src/model/k8s.js';
import { clusterDns } from '../../src/trace/dns-step.js';
import { withDnsWorld } from './dns-fixture.js';
import { demoTwin } from './fixture.js';

describe("the pod's /etc/hosts (kubelet managedHostsFileContent)", () => {
  it('matches the page "Adding entries to Pod /etc/hosts with HostAliases" (kubernetes.io) byte for byte', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hostaliases-pod', namespace: 'default' },
      spec: {
        containers: [],
        hostAliases: [
          { ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] },
          { ip: '10.1.2.3', hostnames: ['foo.remote', 'bar.remote'] },
        ],
      },
      status: { podIP: '10.200.0.5' },
    } as unknown as Pod;
    expect(podHostsFile(pod, 'cluster.local')).toBe(
      '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' +
        'fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n' +
        '10.200.0.5\thostaliases-pod\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n' +
        '10.1.2.3\tfoo.remote\tbar.remote\n',
    );
  });

  it('a pod with hostname and subdomain gets its FQDN first', () => {
    const pod = {
      metadata: { name: 'db-0', namespace: 'shop' },
      spec: { containers: [], hostname: 'db-0', subdomain: 'db' },
      status: { podIP: '10.244.1.4' },
    } as unknown as Pod;
    expect(podHostsFile(pod, 'cluster.local').split('\n').at(-2)).toBe(
      '10.244.1.4\tdb-0.db.shop.svc.cluster.local\tdb-0',
    );
  });
});

describe('the demo plan', async () => {
  const twin = await demoTwin();
  const plan = labPlan(twin, 'dnsplan');

  it('writes resolv.conf, hosts and nsswitch.conf for every pod that has its own namespace, under /etc/netns/<netns>/', () => {
    const pods = plan.namespaces.filter((n) => n.role === 'pod');
    expect(pods.length).toBeGreaterThan(0);
    for (const n of pods) {
      const pod = twin.state.pods.find((p) => `${p.metadata.namespace}/${p.metadata.name}` === n.pod)!;
      const file = (f: string) => plan.files?.find((x) => x.path === `/etc/netns/${n.name}/${f}`)?.content;
      expect(file('resolv.conf')).toBe(resolvConf(twin.state, pod, clusterDns(twin).nodeResolvConfText));
      expect(file('hosts')).toBe(podHostsFile(pod, 'cluster.local'));
      expect(file('nsswitch.conf')).toBe(POD_NSSWITCH);
    }
    const web = pods.find((n) => n.pod?.startsWith('shop/web-'))!;
    expect(plan.files?.find((f) => f.path === `/etc/netns/${web.name}/resolv.conf`)?.content).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    // Nothing outside the lab's own /etc/netns/kpath-dnsplan-* directories.
    expect(plan.files?.every((f) => f.path.startsWith('/etc/netns/kpath-dnsplan-'))).toBe(true);
  });

  it('the CoreDNS pods run DNS servers; the default upstream runs in the underlay namespace (it is the gateway)', () => {
    const coredns = plan.servers.filter((s) => s.dns?.kind === 'coredns');
    expect(coredns.map((s) => s.label).sort()).toEqual(
      twin.state.pods
        .filter(isCoreDnsPod)
        .map((p) => `kube-system/${p.metadata.name}`)
        .sort(),
    );
    expect(coredns.every((s) => s.udp.includes(53) && s.tcp.includes(53))).toBe(true);
    const up = plan.servers.filter((s) => s.dns?.kind === 'upstream');
    expect(up.map((s) => [s.netns, s.label])).toEqual([['kpath-dnsplan-underlay', 'upstream/upstream']]);
  });
});

describe('a cluster with spec.dns upstreams', async () => {
  const twin = await demoTwin(withDnsWorld);
  const plan = labPlan(twin, 'dnsw');

  it('places each upstream: the gateway in the underlay, on-segment ones on the bridge, others routed', () => {
    const where = Object.fromEntries(
      plan.servers.filter((s) => s.dns?.kind === 'upstream').map((s) => [s.label, s.netns]),
    );
    expect(where).toEqual({
      'upstream/corp-dns': 'kpath-dnsw-underlay',
      'upstream/dead-dns': upstreamNetns('dnsw', 'dead-dns'),
      'upstream/broken-dns': upstreamNetns('dnsw', 'broken-dns'),
      'upstream/far-dns': upstreamNetns('dnsw', 'far-dns'),
    });
    const argv = plan.steps.flatMap((s) => (s.kind === 'run' ? [s.argv.join(' ')] : []));
    expect(argv).toContain(`ip -n ${upstreamNetns('dnsw', 'dead-dns')} addr add 192.168.1.2/24 dev eth0`);
    expect(argv).toContain('ip -n kpath-dnsw-underlay link set dev kpath-d1 master kpath-br0');
    expect(argv).toContain(`ip -n ${upstreamNetns('dnsw', 'far-dns')} addr add 198.51.100.53/32 dev eth0`);
    expect(argv).toContain('ip -n kpath-dnsw-underlay route add 198.51.100.53/32 dev kpath-d3');
  });

  it('pods with dnsPolicy Default and None get the resolv.conf kubelet writes', () => {
    const conf = (pod: string) => {
      const ns = plan.namespaces.find((n) => n.pod === pod)!;
      return plan.files?.find((f) => f.path === `/etc/netns/${ns.name}/resolv.conf`)?.content;
    };
    expect(conf('default/host-dns')).toBe('nameserver 192.168.1.1\nnameserver 192.168.1.2\n');
    expect(conf('default/servfail-first')).toBe(
      'search corp.example\nnameserver 192.168.1.3\nnameserver 192.168.1.1\noptions ndots:2 timeout:1 attempts:1\n',
    );
  });

  it('looks up every kind of name from every pod, none of them a name of its own /etc/hosts', () => {
    const { cases } = dnsCases(twin, 'dnsw');
    const kinds = new Set(cases.map((c) => c.kind));
    for (const k of [
      'service-short',
      'service-ns',
      'service-fqdn',
      'headless',
      'pod-ip',
      'statefulset-host',
      'externalname',
      'external',
      'missing',
      'few-dots',
    ])
      expect(kinds.has(k as never), k).toBe(true);
    expect(cases.some((c) => c.pod === 'shop/db-0' && c.name.startsWith('db-0.'))).toBe(false);
    expect(cases.find((c) => c.kind === 'external')?.name).toBe('google.com');
  });
});

describe('reading the real side', () => {
  it('getent ahosts output (glibc prints each address per socket type)', () => {
    const out =
      '10.244.1.4      STREAM db.shop.svc.cluster.local\n10.244.1.4      DGRAM  \n10.244.1.4      RAW    \n' +
      '10.244.2.4      STREAM \n10.244.2.4      DGRAM  \n10.244.2.4      RAW    \n';
    expect(parseGetent(out)).toEqual(['10.244.1.4', '10.244.2.4']);
  });
  it('folds A and AAAA of one name into a run, keeps separate runs for names tried again', () => {
    expect(
      queryRuns([
        { name: 'a.x.', type: 'AAAA' },
        { name: 'A.x.', type: 'A' },
        { name: 'b.', type: 'A' },
        { name: 'a.x.', type: 'A' },
      ]),
    ).toEqual(['a.x. A,AAAA', 'b. A', 'a.x. A']);
  });
});
