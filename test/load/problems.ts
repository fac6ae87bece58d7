// Test support: load YAML text and get the formatted problems (or the Cluster).

import { loadCluster } from '../../src/load/index.js';
import type { Cluster } from '../../src/model/cluster.js';
import { formatProblem, InputError } from '../../src/model/errors.js';

export function problems(text: string, file = 'in.yaml'): string[] {
  try {
    loadCluster([{ file, text }]);
    return [];
  } catch (e) {
    if (e instanceof InputError) return e.problems.map(formatProblem);
    throw e;
  }
}

export function load(text: string, file = 'in.yaml'): Cluster {
  return loadCluster([{ file, text }]);
}
