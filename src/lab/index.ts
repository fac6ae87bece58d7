// Lab mode: the cluster's network in real Linux namespaces — build, probe, verify, clean up.
export { type Attempt, type ConnectRequest, connectFrom, parseReply } from './client.js';
export * from './compare.js';
export * from './conntrack-evidence.js';
export * from './divergences.js';
export * from './features.js';
export * from './hop-evidence.js';
export * from './journal.js';
export * from './lifecycle.js';
export * from './names.js';
export * from './plan.js';
export { predictProbe } from './predict.js';
export * from './probes.js';
export { SERVER_MARK, serverArgv, startServer } from './servers.js';
export * from './verify.js';
export * from './verify-dns.js';
export * from './verify-reach.js';
