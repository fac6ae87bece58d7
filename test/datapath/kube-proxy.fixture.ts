// A kube-proxy (iptables mode) node in iptables-save's canonical form, shaped after /work/shared/reference/kube-proxy.md
// §1.4-1.10 and upstream pkg/proxy/iptables/proxier_test.go: default/my-app (ClusterIP 10.96.0.15:80, NodePort 30080,
// LB 203.0.113.50 with loadBalancerSourceRanges 198.51.100.0/24, eTP Local) with three endpoints, and
// default/empty (10.96.0.20:80) with none.
export const KUBE_PROXY_NODE = `
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -d 203.0.113.50/32 -p tcp -m comment --comment "default/my-app traffic not accepted by KUBE-FW-MYAPP" -m tcp --dport 80 -j DROP
-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "default/empty has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-EXT-MYAPP - [0:0]
:KUBE-FW-MYAPP - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-C - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-MYAPP - [0:0]
:KUBE-SVL-MYAPP - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-EXT-MYAPP -s 10.244.0.0/16 -m comment --comment "pod traffic for default/my-app external destinations" -j KUBE-SVC-MYAPP
-A KUBE-EXT-MYAPP -m comment --comment "masquerade LOCAL traffic for default/my-app external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-MYAPP -m comment --comment "route LOCAL traffic for default/my-app external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-MYAPP
-A KUBE-EXT-MYAPP -j KUBE-SVL-MYAPP
-A KUBE-FW-MYAPP -s 198.51.100.0/24 -m comment --comment "default/my-app loadbalancer IP" -j KUBE-EXT-MYAPP
-A KUBE-FW-MYAPP -m comment --comment "other traffic to default/my-app will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/my-app" -m tcp --dport 30080 -j KUBE-EXT-MYAPP
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SEP-A -s 10.244.0.3/32 -m comment --comment "default/my-app" -j KUBE-MARK-MASQ
-A KUBE-SEP-A -p tcp -m comment --comment "default/my-app" -m tcp -j DNAT --to-destination 10.244.0.3:8080
-A KUBE-SEP-B -s 10.244.1.3/32 -m comment --comment "default/my-app" -j KUBE-MARK-MASQ
-A KUBE-SEP-B -p tcp -m comment --comment "default/my-app" -m tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-C -s 10.244.2.3/32 -m comment --comment "default/my-app" -j KUBE-MARK-MASQ
-A KUBE-SEP-C -p tcp -m comment --comment "default/my-app" -m tcp -j DNAT --to-destination 10.244.2.3:8080
-A KUBE-SERVICES -d 10.96.0.15/32 -p tcp -m comment --comment "default/my-app cluster IP" -m tcp --dport 80 -j KUBE-SVC-MYAPP
-A KUBE-SERVICES -d 203.0.113.50/32 -p tcp -m comment --comment "default/my-app loadbalancer IP" -m tcp --dport 80 -j KUBE-FW-MYAPP
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-MYAPP ! -s 10.244.0.0/16 -d 10.96.0.15/32 -p tcp -m comment --comment "default/my-app cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-MYAPP -m comment --comment "default/my-app -> 10.244.0.3:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A
-A KUBE-SVC-MYAPP -m comment --comment "default/my-app -> 10.244.1.3:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B
-A KUBE-SVC-MYAPP -m comment --comment "default/my-app -> 10.244.2.3:8080" -j KUBE-SEP-C
-A KUBE-SVL-MYAPP -m comment --comment "default/my-app -> 10.244.0.3:8080" -j KUBE-SEP-A
COMMIT
`;
