// The iptables state kubelet (not kube-proxy) owns (pkg/kubelet/kubelet_network_linux.go, after
// IPTablesOwnershipCleanup): the KUBE-IPTABLES-HINT chain, the KUBE-FIREWALL anti-martian rule for
// IPv4, and the KUBE-KUBELET-CANARY chains of its iptables monitor. No KUBE-MARK-DROP any more.
import type { IptablesCommand } from '../../node/iptables/types.js';

export interface KubeletIptablesOptions {
  family: 4 | 6;
}

export function kubeletIptablesCommands(opts: KubeletIptablesOptions): IptablesCommand[] {
  const out: IptablesCommand[] = [{ table: 'mangle', op: 'new-chain', chain: 'KUBE-IPTABLES-HINT' }];
  if (opts.family === 4) {
    out.push({ table: 'filter', op: 'new-chain', chain: 'KUBE-FIREWALL' });
    // Prepended OUTPUT first, then INPUT (EnsureRule(Prepend) order in syncIPTablesRules).
    out.push({ table: 'filter', op: 'insert', chain: 'OUTPUT', position: 1, args: ['-j', 'KUBE-FIREWALL'] });
    out.push({ table: 'filter', op: 'insert', chain: 'INPUT', position: 1, args: ['-j', 'KUBE-FIREWALL'] });
    // Kubelet spells it --dst/--src; the kernel stores the same rule as kube-proxy's -d/-s copy.
    out.push({
      table: 'filter',
      op: 'append',
      chain: 'KUBE-FIREWALL',
      args: [
        '-m',
        'comment',
        '--comment',
        'block incoming localnet connections',
        '--dst',
        '127.0.0.0/8',
        '!',
        '--src',
        '127.0.0.0/8',
        '-m',
        'conntrack',
        '!',
        '--ctstate',
        'RELATED,ESTABLISHED,DNAT',
        '-j',
        'DROP',
      ],
    });
  }
  // The monitor's canary chains, created once the rules above are in place.
  for (const table of ['mangle', 'nat', 'filter'] as const) {
    out.push({ table, op: 'new-chain', chain: 'KUBE-KUBELET-CANARY' });
  }
  return out;
}
