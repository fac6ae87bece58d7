// Corefile parsing, server block selection, plugin order (plugin.cfg) and the cache/forward/
// rewrite/hosts/autopath plugins.
import { describe, expect, it } from 'vitest';
import { answerQuery, buildCoreDns } from '../../src/dns/coredns.js';
import { CorefileError, kubeadmCorefile, parseCorefile } from '../../src/dns/corefile.js';
import { formatRecord } from '../../src/dns/message.js';
import { pluginChain } from '../../src/dns/plugins.js';
import { client, corefileConfigMap, demoState, upstreams } from './fixture.js';

describe('parseCorefile', () => {
  it('parses the kubeadm default Corefile', () => {
    const c = parseCorefile(kubeadmCorefile('cluster.local'));
    expect(c.servers).toHaveLength(1);
    const s = c.servers[0]!;
    expect(s).toMatchObject({ zones: ['.'], port: 53, keys: ['.:53'] });
    expect(s.directives.map((d) => d.name)).toEqual([
      'errors',
      'health',
      'ready',
      'kubernetes',
      'prometheus',
      'forward',
      'cache',
      'loop',
      'reload',
      'loadbalance',
    ]);
    const k = s.directives[3]!;
    expect(k.args).toEqual(['cluster.local', 'in-addr.arpa', 'ip6.arpa']);
    expect(k.block.map((d) => [d.name, ...d.args])).toEqual([
      ['pods', 'insecure'],
      ['fallthrough', 'in-addr.arpa', 'ip6.arpa'],
      ['ttl', '30'],
    ]);
    expect(s.directives[1]!.block[0]).toMatchObject({ name: 'lameduck', args: ['5s'], line: 4 });
  });
  it('reads several blocks, keys with ports, comments and reverse CIDR keys', () => {
    const c = parseCorefile(`# comment
cluster.local:53 {
  kubernetes # trailing comment
}
10.0.0.0/8 dns://example.org. {
  forward . 1.1.1.1
}
.:5353 { whoami }
`);
    expect(c.servers.map((s) => [s.zones, s.port])).toEqual([
      [['cluster.local.'], 53],
      [['10.in-addr.arpa.', 'example.org.'], 53],
      [['.'], 5353],
    ]);
    expect(c.servers[2]!.directives).toEqual([{ name: 'whoami', args: [], line: 8, block: [] }]);
  });
  it('names the line of an error', () => {
    expect(() => parseCorefile('.:53 {\n  forward . 8.8.8.8 {\n    policy random\n')).toThrow(
      /Corefile:2: unclosed/,
    );
    expect(() =>
      parseCorefile('.:53 {\n  kubernetes cluster.local {\n    pods sometimes\n  }\n}\n'),
    ).not.toThrow();
    const m = () =>
      buildCoreDns(demoState(), {
        corefile: '.:53 {\n  kubernetes cluster.local {\n    pods sometimes\n  }\n}\n',
      });
    expect(m).toThrow(CorefileError);
    expect(m).toThrow(/Corefile:3: pods: invalid mode "sometimes"/);
    expect(() => buildCoreDns(demoState(), { corefile: '.:53 {\n  bogus\n}\n' })).toThrow(
      /Corefile:2: unknown directive 'bogus'/,
    );
  });
});

describe('plugin order', () => {
  it('runs plugins in plugin.cfg order, not Corefile order', () => {
    const block = parseCorefile(`.:53 {
  forward . 10.0.0.2
  kubernetes cluster.local
  cache 30
  rewrite name foo.example web.shop.svc.cluster.local
  autopath @kubernetes
  hosts { 10.1.1.1 x.example }
  log
}`).servers[0]!;
    const names = pluginChain(block).map((p) => (p.plugin === 'no-op' ? p.name : p.plugin));
    // plugin.cfg: … log … cache, rewrite, …, autopath, …, hosts, …, kubernetes, …, forward
    expect(names).toEqual(['log', 'cache', 'rewrite', 'autopath', 'hosts', 'kubernetes', 'forward']);
  });
});

describe('server blocks', () => {
  const m = buildCoreDns(demoState(), {
    upstreams,
    corefile: `cluster.local:53 {
  kubernetes cluster.local
}
.:53 {
  forward . 10.0.0.2
}
example.com:53 {
  forward . 10.0.0.4
}
`,
  });
  it('picks the most specific zone', () => {
    expect(answerQuery(m, 'www.example.com', 'A').forward).toEqual([
      { upstream: '10.0.0.4', name: 'www.example.com.', outcome: 'SERVFAIL' },
    ]);
    expect(answerQuery(m, 'google.com', 'A').forward).toEqual([
      { upstream: '10.0.0.2', name: 'google.com.', outcome: 'NOERROR' },
    ]);
  });
  it('does not fall from one block into another: NXDOMAIN stays in cluster.local', () => {
    const a = answerQuery(m, 'google.com.cluster.local', 'A');
    expect(a.reply.rcode).toBe('NXDOMAIN');
    expect(a.forward).toEqual([]);
  });
  it('REFUSES a name no block serves, and SERVFAILs past the end of the chain', () => {
    const only = buildCoreDns(demoState(), {
      corefile: 'cluster.local {\n kubernetes {\n fallthrough\n }\n}\n',
    });
    expect(answerQuery(only, 'google.com', 'A').reply.rcode).toBe('REFUSED');
    expect(answerQuery(only, 'nope.shop.svc.cluster.local', 'A').reply.rcode).toBe('SERVFAIL');
  });
});

describe('the cluster Corefile', () => {
  it('uses the kube-system/coredns ConfigMap when present', () => {
    const st = demoState({
      configMaps: [corefileConfigMap('.:53 {\n kubernetes cluster.local {\n ttl 7\n }\n}\n')],
    });
    const m = buildCoreDns(st);
    expect(m.corefileSource).toBe('configmap');
    expect(answerQuery(m, 'web.shop.svc.cluster.local', 'A').reply.answer.map(formatRecord)).toEqual([
      'web.shop.svc.cluster.local. 7 IN A 10.96.0.20',
    ]);
  });
  it('falls back to kubeadm: ttl 30, cache 30, forward to the node resolv.conf', () => {
    const m = buildCoreDns(demoState(), { upstreams });
    expect(m.corefileSource).toBe('kubeadm-default');
    const web = answerQuery(m, 'web.shop.svc.cluster.local', 'A');
    expect(web.reply.answer.map(formatRecord)).toEqual(['web.shop.svc.cluster.local. 30 IN A 10.96.0.20']);
    const g = answerQuery(m, 'google.com', 'A');
    expect(g.forward).toEqual([{ upstream: '10.0.0.2', name: 'google.com.', outcome: 'NOERROR' }]);
    // cache 30 caps the upstream TTL of 300.
    expect(g.reply.answer.map(formatRecord)).toEqual(['google.com. 30 IN A 142.250.80.46']);
    expect(g.reply.flags).toMatchObject({ aa: false, ra: true });
    expect(web.reply.flags).toMatchObject({ aa: true, ra: false });
    // dns-version's hard-coded 28800 is clamped by the cache.
    expect(answerQuery(m, 'dns-version.cluster.local', 'TXT').reply.answer.map(formatRecord)).toEqual([
      'dns-version.cluster.local. 30 IN TXT "1.1.0"',
    ]);
  });
});

describe('cache', () => {
  const mk = (cache: string, ttl = 'ttl 5') =>
    buildCoreDns(demoState(), {
      upstreams,
      corefile: `.:53 {\n kubernetes cluster.local {\n ${ttl}\n }\n forward . 10.0.0.2\n ${cache}\n}\n`,
    });
  it('raises TTLs to MINTTL 5, so ttl 0 still goes out as 5', () => {
    const a = answerQuery(mk('cache 30', 'ttl 0'), 'web.shop.svc.cluster.local', 'A');
    expect(a.reply.answer[0]!.ttl).toBe(5);
  });
  it('caps success at the cache TTL and denial at the cache TTL', () => {
    const m = mk('cache 10');
    expect(answerQuery(m, 'google.com', 'A').reply.answer[0]!.ttl).toBe(10);
    const nx = answerQuery(m, 'nx.example.com', 'A').reply;
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authority.map((r) => r.ttl)).toEqual([10]);
  });
  it('uses the success/denial block caps and rewrites every section', () => {
    const m = mk('cache {\n success 9984 20\n denial 9984 7\n }');
    expect(answerQuery(m, 'google.com', 'A').reply.answer[0]!.ttl).toBe(20);
    expect(answerQuery(m, 'nx.example.com', 'A').reply.authority[0]!.ttl).toBe(7);
  });
  it('without cache, upstream TTLs pass unchanged', () => {
    expect(answerQuery(mk(''), 'google.com', 'A').reply.answer[0]!.ttl).toBe(300);
  });
});

describe('forward', () => {
  const mk = (fwd: string) => buildCoreDns(demoState(), { upstreams, corefile: `.:53 {\n ${fwd}\n}\n` });
  it('passes an upstream SERVFAIL through', () => {
    const a = answerQuery(mk('forward . 10.0.0.4'), 'google.com', 'A');
    expect(a.reply.rcode).toBe('SERVFAIL');
  });
  it('moves on from a silent upstream, listing the policy alternatives', () => {
    const a = answerQuery(mk('forward . 10.0.0.3 10.0.0.2'), 'google.com', 'A');
    expect(a.forward).toEqual([
      { upstream: '10.0.0.3', name: 'google.com.', outcome: 'timeout' },
      { upstream: '10.0.0.2', name: 'google.com.', outcome: 'NOERROR' },
    ]);
    expect(a.forwardAlternatives).toEqual(['10.0.0.2']);
    expect(a.reply.rcode).toBe('NOERROR');
  });
  it('answers SERVFAIL when no upstream replies within the deadline', () => {
    const a = answerQuery(mk('forward . 10.0.0.3'), 'google.com', 'A');
    expect(a.forward).toEqual([
      { upstream: '10.0.0.3', name: 'google.com.', outcome: 'timeout' },
      { upstream: '10.0.0.3', name: 'google.com.', outcome: 'timeout' },
    ]);
    expect(a.reply.rcode).toBe('SERVFAIL');
  });
  it('does not forward names under except (no next plugin: SERVFAIL)', () => {
    const a = answerQuery(mk('forward . 10.0.0.2 {\n except corp.internal\n }'), 'api.corp.internal', 'A');
    expect(a.forward).toEqual([]);
    expect(a.reply.rcode).toBe('SERVFAIL');
  });
});

describe('rewrite', () => {
  const mk = (rules: string) =>
    buildCoreDns(demoState(), {
      upstreams,
      corefile: `.:53 {\n ${rules}\n kubernetes cluster.local\n forward . 10.0.0.2\n}\n`,
    });
  it('exact: rewrites the question and maps the answer back to the asked name', () => {
    const a = answerQuery(
      mk('rewrite name db.corp.example web.shop.svc.cluster.local'),
      'db.corp.example',
      'A',
    );
    expect(a.reply.question.name).toBe('db.corp.example.');
    expect(a.reply.answer.map(formatRecord)).toEqual(['db.corp.example. 5 IN A 10.96.0.20']);
  });
  it('suffix without answer rewrite leaves the rewritten owner (clients that check owners see nothing)', () => {
    const a = answerQuery(
      mk('rewrite name suffix .corp.example .shop.svc.cluster.local'),
      'web.corp.example',
      'A',
    );
    expect(a.reply.answer.map(formatRecord)).toEqual(['web.shop.svc.cluster.local. 5 IN A 10.96.0.20']);
  });
  it('suffix with answer auto maps the owner back', () => {
    const a = answerQuery(
      mk('rewrite name suffix .corp.example .shop.svc.cluster.local answer auto'),
      'web.corp.example',
      'A',
    );
    expect(a.reply.answer.map(formatRecord)).toEqual(['web.corp.example. 5 IN A 10.96.0.20']);
  });
  it('regex with {n} groups and answer name', () => {
    const a = answerQuery(
      mk(
        'rewrite name regex (.*)\\.corp\\.example\\.$ {1}.shop.svc.cluster.local answer name (.*)\\.shop\\.svc\\.cluster\\.local\\.$ {1}.corp.example',
      ),
      'db-0.db.corp.example',
      'A',
    );
    expect(a.reply.answer.map(formatRecord)).toEqual(['db-0.db.corp.example. 5 IN A 10.244.1.10']);
  });
  it('prefix FROM/TO are normalized with a final dot, so a prefix matches whole leading labels', () => {
    const m = mk('rewrite name prefix internal web');
    expect(answerQuery(m, 'internal.shop.svc.cluster.local', 'A').reply.answer.map((r) => r.data)).toEqual([
      '10.96.0.20',
    ]);
    expect(answerQuery(m, 'internalx.shop.svc.cluster.local', 'A').reply.rcode).toBe('NXDOMAIN');
  });
  it('answer value rewrites CNAME targets', () => {
    const m = mk(
      'rewrite name exact alias.example ext.shop.svc.cluster.local answer value (.*)\\.com\\.$ {1}.net',
    );
    expect(answerQuery(m, 'alias.example', 'CNAME').reply.answer.map(formatRecord)).toEqual([
      'alias.example. 5 IN CNAME example.net.',
    ]);
  });
  it('stop ends the rules, continue chains them', () => {
    const two = (mode: string) =>
      mk(
        `rewrite ${mode} name exact a.example b.example\n rewrite name exact b.example web.shop.svc.cluster.local`,
      );
    expect(answerQuery(two('stop'), 'a.example', 'A').reply.rcode).toBe('NXDOMAIN'); // b.example forwarded upstream
    expect(answerQuery(two('continue'), 'a.example', 'A').reply.answer.map((r) => r.data)).toEqual([
      '10.96.0.20',
    ]);
  });
});

describe('hosts', () => {
  const mk = (hosts: string) =>
    buildCoreDns(demoState(), {
      upstreams,
      corefile: `.:53 {\n hosts {\n ${hosts}\n }\n forward . 10.0.0.2\n}\n`,
    });
  it('answers inline entries with TTL 3600 and their PTR', () => {
    const m = mk('10.1.2.3 legacy.corp.example\n fallthrough');
    expect(answerQuery(m, 'legacy.corp.example', 'A').reply.answer.map(formatRecord)).toEqual([
      'legacy.corp.example. 3600 IN A 10.1.2.3',
    ]);
    expect(answerQuery(m, '3.2.1.10.in-addr.arpa', 'PTR').reply.answer.map(formatRecord)).toEqual([
      '3.2.1.10.in-addr.arpa. 3600 IN PTR legacy.corp.example.',
    ]);
    expect(answerQuery(m, 'legacy.corp.example', 'AAAA').reply).toMatchObject({
      rcode: 'NOERROR',
      answer: [],
    });
    expect(answerQuery(m, 'google.com', 'A').forward).toHaveLength(1);
  });
  it('without fallthrough, a name not in hosts is SERVFAIL', () => {
    expect(answerQuery(mk('10.1.2.3 legacy.corp.example'), 'google.com', 'A').reply.rcode).toBe('SERVFAIL');
  });
  it('an unknown PTR always goes to the next plugin, fallthrough or not', () => {
    expect(answerQuery(mk('10.1.2.3 legacy.corp.example'), '4.3.2.1.in-addr.arpa', 'PTR').forward).toEqual([
      { upstream: '10.0.0.2', name: '4.3.2.1.in-addr.arpa.', outcome: 'NXDOMAIN' },
    ]);
  });
});

describe('autopath @kubernetes', () => {
  const mk = (pods: string) =>
    buildCoreDns(demoState(), {
      upstreams,
      corefile: `.:53 {\n autopath @kubernetes\n kubernetes cluster.local {\n pods ${pods}\n }\n forward . 10.0.0.2\n}\n`,
    });
  it('answers the first search name with a CNAME to the name that exists', () => {
    const a = answerQuery(mk('verified'), 'google.com.default.svc.cluster.local', 'A', {
      clientIP: client.status!.podIP!,
    });
    expect(a.reply.rcode).toBe('NOERROR');
    expect(a.reply.answer.map(formatRecord)).toEqual([
      'google.com.default.svc.cluster.local. 300 IN CNAME google.com.',
      'google.com. 300 IN A 142.250.80.46',
    ]);
  });
  it('finds a service in another namespace through svc.<zone>', () => {
    const a = answerQuery(mk('verified'), 'web.shop.default.svc.cluster.local', 'A', {
      clientIP: client.status!.podIP!,
    });
    expect(a.reply.answer.map(formatRecord)).toEqual([
      'web.shop.default.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local.',
      'web.shop.svc.cluster.local. 5 IN A 10.96.0.20',
    ]);
  });
  it('does nothing unless pods verified, or for an unknown client, or off the first search element', () => {
    expect(
      answerQuery(mk('insecure'), 'google.com.default.svc.cluster.local', 'A', { clientIP: '10.244.0.9' })
        .reply.rcode,
    ).toBe('NXDOMAIN');
    expect(
      answerQuery(mk('verified'), 'google.com.default.svc.cluster.local', 'A', { clientIP: '10.9.9.9' }).reply
        .rcode,
    ).toBe('NXDOMAIN');
    expect(
      answerQuery(mk('verified'), 'google.com.svc.cluster.local', 'A', { clientIP: '10.244.0.9' }).reply
        .rcode,
    ).toBe('NXDOMAIN');
  });
  it('returns the first NXDOMAIN when every candidate fails', () => {
    const a = answerQuery(mk('verified'), 'nx.example.com.default.svc.cluster.local', 'A', {
      clientIP: '10.244.0.9',
    });
    expect(a.reply.rcode).toBe('NXDOMAIN');
    expect(a.reply.authority.map((r) => r.name)).toEqual(['cluster.local.']);
  });
});
