// The demo cluster with a DNS world outside it (spec.dns, the example of docs/cluster-config.md grown a
// little): a recursive resolver with records at the gateway, one that never answers, one that SERVFAILs,
// one routed beyond the underlay; pods with dnsPolicy Default and None; an ExternalName service.
export const DNS_WORLD = `  dns:
    upstreams:
      - name: corp-dns
        ip: 192.168.1.1
        records:
          - { name: google.com, type: A, data: 142.250.80.46 }
          - "google.com. 300 IN AAAA 2607:f8b0:4004:c1b::71"
          - { name: www.example.com, type: CNAME, data: example.com, ttl: 3600 }
          - { name: example.com, type: A, data: 93.184.215.14 }
          - { name: txt-only.example.com, type: TXT, data: "hello" }
          - { name: db.corp.example, type: A, data: 192.168.1.40 }
      - { name: dead-dns, ip: 192.168.1.2, behaviour: timeout }
      - { name: broken-dns, ip: 192.168.1.3, behaviour: servfail }
      - name: far-dns
        ip: 198.51.100.53
        records:
          - { name: far.example, type: A, data: 198.51.100.99 }
    nodeResolvConf: |
      nameserver 192.168.1.1
      nameserver 192.168.1.2
`;

const EXTRA = `
---
apiVersion: v1
kind: Pod
metadata: {name: host-dns, namespace: default}
spec:
  nodeName: node-1
  dnsPolicy: Default
  containers: [{name: c, image: debian:12}]
status: {podIP: 10.244.0.20}
---
apiVersion: v1
kind: Pod
metadata: {name: servfail-first, namespace: default}
spec:
  nodeName: node-2
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.168.1.3, 192.168.1.1]
    searches: [corp.example]
    options: [{name: ndots, value: "2"}, {name: timeout, value: "1"}, {name: attempts, value: "1"}]
  containers: [{name: c, image: debian:12}]
status: {podIP: 10.244.1.20}
---
apiVersion: v1
kind: Pod
metadata: {name: far-only, namespace: default}
spec:
  nodeName: node-3
  dnsPolicy: None
  dnsConfig:
    nameservers: [198.51.100.53]
  containers: [{name: c, image: debian:12}]
status: {podIP: 10.244.2.20}
---
apiVersion: v1
kind: Pod
metadata: {name: dead-only, namespace: default}
spec:
  nodeName: node-3
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.168.1.2]
    options: [{name: timeout, value: "1"}, {name: attempts, value: "1"}]
  containers: [{name: c, image: debian:12}]
status: {podIP: 10.244.2.21}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: default}
spec: {type: ExternalName, externalName: www.example.com}
`;

/** The edit for demoTwin(): the Cluster document gains spec.dns, the my-app file the extra objects. */
export function withDnsWorld(text: string): string {
  if (text.includes('kind: Cluster')) return text.replace('  externalHosts:', `${DNS_WORLD}  externalHosts:`);
  if (text.includes('my-app-6d8f7b9c5d-p2w8h')) return `${text.trimEnd()}\n${EXTRA}`;
  return text;
}
