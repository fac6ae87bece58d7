// `kpath pod NS/NAME resolv.conf`: the file kubelet + containerd write for each dnsPolicy
// (pkg/kubelet/network/dns/dns.go GetPodDNS), from the cluster document's node resolv.conf.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { runPod } from '../../src/cli/pod.js';
import type { SourceText } from '../../src/load/sources.js';
import { InputError } from '../../src/model/errors.js';
import { buildTwin } from '../../src/twin.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function demoSources(replace: Record<string, string>): SourceText[] {
  const dir = join(ROOT, 'examples/demo');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      let text = readFileSync(join(dir, f), 'utf8');
      for (const [a, b] of Object.entries(replace)) text = text.replace(a, b);
      return { file: `examples/demo/${f}`, text };
    });
}

const pod = (name: string, spec: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: shop}\nspec:\n${spec}  containers: [{name: c, image: busybox}]\n`;

const PODS: SourceText = {
  file: 'pods.yaml',
  text: [
    pod('cluster-first', ''),
    pod('host-net', '  hostNetwork: true\n'),
    pod('host-net-cluster', '  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet\n'),
    pod('default', '  dnsPolicy: Default\n'),
    pod(
      'none',
      '  dnsPolicy: None\n  dnsConfig: {nameservers: [1.1.1.1], searches: [ns1.svc.cluster-domain.example], options: [{name: ndots, value: "2"}, {name: edns0}]}\n',
    ),
    pod(
      'cluster-first-config',
      '  dnsConfig: {nameservers: [192.168.1.53], searches: [corp.example, extra.example], options: [{name: ndots, value: "2"}, {name: edns0}]}\n',
    ),
  ].join('---\n'),
};

const NODE_RESOLV_CONF = {
  '  externalHosts:':
    '  dns:\n    nodeResolvConf: "search corp.example\\nnameserver 192.168.1.1\\noptions timeout:2 rotate\\n"\n  externalHosts:',
};

const twin = buildTwin([...demoSources(NODE_RESOLV_CONF), PODS]);

describe('kpath pod NS/NAME resolv.conf', () => {
  it.each([
    // ClusterFirst: the cluster DNS only, the namespace's search domains then the node's, ndots:5 only.
    [
      'cluster-first',
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n',
    ],
    // ClusterFirst on the host network falls back to Default (getPodDNSType's fallthrough).
    ['host-net', 'search corp.example\nnameserver 192.168.1.1\noptions timeout:2 rotate\n'],
    [
      'host-net-cluster',
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n',
    ],
    ['default', 'search corp.example\nnameserver 192.168.1.1\noptions timeout:2 rotate\n'],
    // None: dnsConfig only (the example of the Kubernetes DNS docs, "Pod's DNS Config").
    ['none', 'search ns1.svc.cluster-domain.example\nnameserver 1.1.1.1\noptions ndots:2 edns0\n'],
    // dnsConfig is appended: duplicates dropped, options merged by name with the pod's value winning.
    [
      'cluster-first-config',
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\nnameserver 10.96.0.10\nnameserver 192.168.1.53\noptions ndots:2 edns0\n',
    ],
  ])('%s', (name, want) => {
    expect(runPod(twin, `shop/${name}`, 'resolv.conf')).toBe(want);
  });

  it('on the built-in demo: the node resolv.conf points at the default upstream (the underlay gateway)', () => {
    const demo = buildTwin([...demoSources({}), PODS]);
    expect(runPod(demo, 'shop/default', 'resolv.conf')).toBe('nameserver 192.168.1.1\n');
    expect(runPod(demo, 'pod/default/my-app-6d8f7b9c5d-x7k2p', 'resolv.conf')).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    // CoreDNS itself runs with dnsPolicy Default (kubeadm's manifest).
    const coredns = demo.state.pods.find((p) => p.metadata.name.startsWith('coredns-'))!;
    expect(runPod(demo, `kube-system/${coredns.metadata.name}`, 'resolv.conf')).toBe(
      'nameserver 192.168.1.1\n',
    );
  });

  it('rejects an unknown view and an unknown pod', () => {
    expect(() => runPod(twin, 'shop/default', 'hosts')).toThrow(
      new UsageError('unknown view "hosts": use resolv.conf'),
    );
    expect(() => runPod(twin, 'shop/nope', 'resolv.conf')).toThrow(/pod "shop\/nope" not found/);
  });

  it('dnsPolicy None without a nameserver is an input error at the pod, found when loading', () => {
    const load = () =>
      buildTwin([...demoSources({}), { file: 'bad.yaml', text: pod('bad', '  dnsPolicy: None\n') }]);
    expect(load).toThrow(InputError);
    expect(load).toThrow(
      'bad.yaml:4:1: Pod shop/bad spec.dnsConfig: dnsPolicy None needs dnsConfig.nameservers',
    );
  });
});
