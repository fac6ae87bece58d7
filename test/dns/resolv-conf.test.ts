// /etc/resolv.conf as kubelet writes it per dnsPolicy (pkg/kubelet/network/dns/dns.go) and the
// containerd layout (search, nameserver lines, options).
import { describe, expect, it } from 'vitest';
import { glibcSettings, muslSettings, resolvConf } from '../../src/dns/resolv-conf.js';
import { InputError } from '../../src/model/errors.js';
import { client, demoState, pod } from './fixture.js';

const NODE =
  'nameserver 10.0.0.2\nnameserver 10.0.0.3\ndomain ignored.example\nsearch us-east-2.compute.internal.\noptions edns0 trust-ad\n';
const st = demoState();

describe('resolvConf', () => {
  it('ClusterFirst: the cluster search path, the DNS service, ndots:5 (reference §5.6)', () => {
    expect(resolvConf(st, client)).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });
  it('ClusterFirst appends the node search domains and drops the node options', () => {
    expect(resolvConf(st, pod('shop', 'p', '10.244.0.33'), NODE)).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local us-east-2.compute.internal\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });
  it('ClusterFirst on hostNetwork silently falls back to the node file', () => {
    expect(resolvConf(st, pod('default', 'h', '192.168.1.10', { hostNetwork: true }), NODE)).toBe(
      'search us-east-2.compute.internal\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions edns0 trust-ad\n',
    );
  });
  it('ClusterFirstWithHostNet gives the cluster form', () => {
    const p = pod('kube-system', 'h', '192.168.1.10', {
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
    });
    expect(resolvConf(st, p)).toBe(
      'search kube-system.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });
  it('Default: the node file as kubelet parses it (domain ignored, trailing dots dropped)', () => {
    expect(resolvConf(st, pod('default', 'd', '10.244.0.40', { dnsPolicy: 'Default' }), NODE)).toBe(
      'search us-east-2.compute.internal\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions edns0 trust-ad\n',
    );
  });
  it('None: only dnsConfig, and it needs a nameserver', () => {
    const p = pod('default', 'n', '10.244.0.41', {
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.1.1.1'],
        searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'],
        options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
      },
    });
    // The example of the Kubernetes docs (dns-pod-service.md "Pod's DNS Config").
    expect(resolvConf(st, p)).toBe(
      'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.1.1.1\noptions ndots:2 edns0\n',
    );
    expect(() => resolvConf(st, pod('default', 'n', '10.244.0.41', { dnsPolicy: 'None' }))).toThrow(
      InputError,
    );
  });
  it('dnsConfig merges: nameservers and searches appended and deduplicated, options by name', () => {
    const p = pod('default', 'm', '10.244.0.42', {
      dnsConfig: {
        nameservers: ['10.96.0.10', '10.0.0.9'],
        searches: ['cluster.local', 'extra.example'],
        options: [{ name: 'ndots', value: '2' }, { name: 'single-request' }],
      },
    });
    expect(resolvConf(st, p)).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local extra.example\nnameserver 10.96.0.10\nnameserver 10.0.0.9\noptions ndots:2 single-request\n',
    );
  });
  it('keeps 3 nameservers, 32 search domains, 2048 characters', () => {
    const searches = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const p = pod('default', 'l', '10.244.0.43', {
      dnsConfig: { nameservers: ['1.1.1.1', '1.0.0.1', '8.8.8.8'], searches },
    });
    const text = resolvConf(st, p);
    expect(text.match(/^nameserver /gm)).toHaveLength(3);
    expect(text).not.toContain('8.8.8.8');
    expect(text.split('\n')[0]!.split(' ').slice(1)).toHaveLength(32);
    const long = Array.from(
      { length: 20 },
      (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(120)}.example`,
    );
    const cut = resolvConf(st, pod('default', 'l', '10.244.0.43', { dnsConfig: { searches: long } })).split(
      '\n',
    )[0]!;
    expect(cut.length - 'search '.length).toBeLessThanOrEqual(2048);
    // 3 cluster domains (55 chars) + 20 × 130 chars + 22 spaces = 2677; five whole domains (131 each)
    // come off the end to reach 2022 ≤ 2048.
    expect(cut.split(' ').slice(1)).toHaveLength(18);
    expect(cut.endsWith(`14${'x'.repeat(120)}.example`)).toBe(true);
  });
});

describe('reading resolv.conf back', () => {
  it('glibc reads options; musl drops an overlong search line', () => {
    const long = `search ${Array.from({ length: 20 }, (_, i) => `d${i}.very-long-domain-name.example`).join(' ')}\nnameserver 10.96.0.10\noptions ndots:5 timeout:2 attempts:3 single-request\n`;
    expect(glibcSettings(long)).toMatchObject({ ndots: 5, timeout: 2, attempts: 3, singleRequest: true });
    expect(glibcSettings(long).search).toHaveLength(20);
    expect(muslSettings(long)).toMatchObject({
      ndots: 5,
      timeout: 2,
      attempts: 3,
      singleRequest: false,
      search: [],
    });
  });
});
