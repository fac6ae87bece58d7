#!/bin/sh
# Re-captures the iproute2 samples used by golden.test.ts (Debian 12, iproute2 6.1.0; captured on
# kernel 6.18). Builds a Flannel-VXLAN-shaped node in throwaway namespaces, prints, deletes them.
set -e
N=kpath-t-node; P=kpath-t-pod1; U=kpath-t-ul
ip netns add $U; ip netns add $N; ip netns add $P
ip -n $N link set lo up; ip -n $P link set lo up
ip -n $U link add ul0 type veth peer name eth0 netns $N
ip -n $N link set eth0 address 02:42:c0:a8:01:0a
ip -n $N addr add 192.168.1.10/24 brd + dev eth0
ip -n $N link set eth0 up; ip -n $U link set ul0 up
ip -n $N route add default via 192.168.1.1 dev eth0
ip -n $N link add flannel.1 address 0e:00:c0:a8:01:0a type vxlan id 1 local 192.168.1.10 dev eth0 dstport 8472 nolearning
ip -n $N link set flannel.1 mtu 1450
ip -n $N addr add 10.244.0.0/32 dev flannel.1
ip -n $N link set flannel.1 up
ip -n $N route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
ip -n $N neigh add 10.244.1.0 lladdr 0e:00:c0:a8:01:0b dev flannel.1 nud permanent
bridge -n $N fdb append 0e:00:c0:a8:01:0b dev flannel.1 dst 192.168.1.11 self permanent
ip -n $N link add cni0 type bridge
ip -n $N link set cni0 address 0a:58:0a:f4:00:01 mtu 1450
ip -n $N link set cni0 up
ip -n $P link add eth0 address 0a:58:0a:f4:00:05 mtu 1450 type veth peer name veth1a2b3c4d address 0a:11:22:33:44:55 mtu 1450 netns $N
ip -n $N link set veth1a2b3c4d master cni0
ip -n $N link set veth1a2b3c4d type bridge_slave hairpin on
ip -n $N link set veth1a2b3c4d up
ip -n $P link set eth0 up
ip -n $P addr add 10.244.0.5/24 brd 10.244.0.255 dev eth0
ip -n $P route add default via 10.244.0.1 dev eth0
ip -n $P route add 10.244.0.0/16 via 10.244.0.1 dev eth0
ip -n $N addr add 10.244.0.1/24 brd 10.244.0.255 dev cni0
sleep 3
ip -n $N link > node-ip-link.txt
ip -n $N addr > node-ip-addr.txt
ip -n $N route > node-ip-route.txt
ip -n $N route show table local > node-ip-route-local.txt
ip -n $N neigh > node-ip-neigh.txt
bridge -n $N fdb show > node-bridge-fdb.txt
ip -n $P link > pod-ip-link.txt
ip -n $P addr > pod-ip-addr.txt
ip -n $P route > pod-ip-route.txt
ip -n $P route show table local > pod-ip-route-local.txt
bridge -n $P fdb show > pod-bridge-fdb.txt
# Route attributes the agents do not produce today, for the printer: proto, metric, mtu, blackhole, tables.
ip -n $N route add 10.6.0.0/16 via 10.244.3.0 dev flannel.1 onlink metric 7 mtu 1300 proto 80
ip -n $N route add 10.7.0.0/16 dev eth0 scope link src 192.168.1.10 proto static
ip -n $N route add blackhole 10.8.0.0/16
ip -n $N route add 10.9.0.0/16 via 192.168.1.12 dev eth0 metric 100 mtu 1400
ip -n $N route add 10.244.0.0/16 via 192.168.1.12 dev eth0 metric 5
ip -n $N route add 10.244.0.0/16 via 192.168.1.13 dev eth0 metric 1
ip -n $N route add 10.99.0.0/16 dev eth0 table 100
ip -n $N -4 route show table all > node-ip-route-all.txt
ip netns del $P; ip netns del $N; ip netns del $U
