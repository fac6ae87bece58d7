// The clusters the server answers about: the one from the command line's manifests, plus clusters uploaded
// from the page (parsed in memory, never written to disk), each named by a hash of its files so a link
// that carries the name reproduces the view while the server runs.
import { createHash } from 'node:crypto';
import type { SourceText } from '../load/sources.js';
import { NotFoundError } from '../model/errors.js';
import { buildTwin, type Twin } from '../twin.js';

export interface Workspace {
  /** `cli` for the manifests given on the command line; a content hash for uploads. */
  id: string;
  files: string[];
  twin: Twin;
}

export const CLI_WORKSPACE = 'cli';

export class Workspaces {
  private readonly uploads = new Map<string, Workspace>();

  constructor(
    private readonly initial: Workspace,
    /** Uploaded clusters kept at most; the least recently used goes first. */
    private readonly keep = 8,
  ) {}

  get(id: string | null | undefined): Workspace {
    if (!id || id === CLI_WORKSPACE) return this.initial;
    const w = this.uploads.get(id);
    if (!w) {
      throw new NotFoundError(
        `manifests "${id}" are not loaded on this server (it was restarted, or they were evicted): load them again`,
      );
    }
    this.uploads.delete(id);
    this.uploads.set(id, w);
    return w;
  }

  /** Builds the twin of uploaded manifests; throws InputError (file:line:col) on bad input. */
  add(sources: SourceText[]): Workspace {
    const h = createHash('sha256');
    for (const s of sources) h.update(`${s.file}\0${s.text}\0`);
    const id = h.digest('hex').slice(0, 16);
    const known = this.uploads.get(id);
    if (known) return this.get(id);
    const w: Workspace = { id, files: sources.map((s) => s.file), twin: buildTwin(sources) };
    this.uploads.set(id, w);
    while (this.uploads.size > this.keep) {
      const oldest = this.uploads.keys().next().value;
      if (oldest === undefined) break;
      this.uploads.delete(oldest);
    }
    return w;
  }
}
