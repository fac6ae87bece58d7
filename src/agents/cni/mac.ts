// Deterministic MAC addresses and names for things the real agents pick at random (the kernel's random
// veth/bridge MACs, flannel's mac.NewHardwareAddr(), the bridge plugin's RandomVethName, containerd's
// netns UUID). kpath derives them from a stable seed so the same cluster renders byte for byte the same.
import { createHash } from 'node:crypto';

function digest(seed: string): Buffer {
  return createHash('sha256').update(seed).digest();
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** A locally administered unicast MAC (first byte: bit 1 set, bit 0 clear), as random kernel MACs are. */
export function derivedMac(seed: string): string {
  const d = digest(`mac/${seed}`);
  const bytes = [((d[0] ?? 0) & 0xfc) | 0x02, d[1] ?? 0, d[2] ?? 0, d[3] ?? 0, d[4] ?? 0, d[5] ?? 0];
  return bytes.map(hex2).join(':');
}

/** `veth` + 8 hex chars; the bridge plugin's real name comes from 4 random bytes (ip.RandomVethName). */
export function hostVethName(seed: string): string {
  return `veth${digest(`veth/${seed}`).subarray(0, 4).toString('hex')}`;
}

/** containerd names pod sandboxes `cni-<random UUID v4>`; this derives one with the same shape. */
export function sandboxNetnsName(seed: string): string {
  const h = digest(`netns/${seed}`).subarray(0, 16).toString('hex');
  const variant = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `cni-${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Parses `aa:bb:cc:dd:ee:ff` into six bytes. */
export function macBytes(mac: string): number[] {
  return mac.split(':').map((b) => Number.parseInt(b, 16));
}
