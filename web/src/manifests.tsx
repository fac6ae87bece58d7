// Loading other manifests: file upload, drag and drop (anywhere on the page), or paste. They are parsed on
// the server in memory; problems come back with file, line, column and field.
import { useState } from 'react';
import { ApiError, postManifests } from './api.js';

export interface Problem {
  file: string;
  line?: number;
  col?: number;
  field?: string;
  object?: string;
  message: string;
}

export async function readFiles(list: FileList | File[]): Promise<{ name: string; text: string }[]> {
  return Promise.all([...list].map(async (f) => ({ name: f.name, text: await f.text() })));
}

export function problemText(p: Problem): string {
  const where = [p.file, p.line, p.col].filter((x) => x !== undefined).join(':');
  const what = [p.object, p.field].filter(Boolean).join(' ');
  return `${where}: ${what ? `${what}: ` : ''}${p.message}`;
}

interface Props {
  files: string[];
  onLoaded(id: string): void;
  onClose(): void;
  /** Set when files were dropped on the page. */
  problems: Problem[];
  setProblems(p: Problem[]): void;
}

export async function upload(
  files: { name: string; text: string }[],
): Promise<{ id: string } | { problems: Problem[] }> {
  try {
    return await postManifests(files);
  } catch (err) {
    if (err instanceof ApiError) {
      return {
        problems: err.detail.problems ?? [
          { file: files.map((f) => f.name).join(', '), message: err.detail.message },
        ],
      };
    }
    throw err;
  }
}

export function ManifestsDialog({ files, onLoaded, onClose, problems, setProblems }: Props) {
  const [paste, setPaste] = useState('');
  const [busy, setBusy] = useState(false);
  const send = async (list: { name: string; text: string }[]) => {
    setBusy(true);
    try {
      const r = await upload(list);
      if ('id' in r) {
        setProblems([]);
        onLoaded(r.id);
      } else setProblems(r.problems);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="dialog" role="dialog" aria-modal="true" aria-label="load manifests">
      <h2>Manifests</h2>
      <p>Now showing: {files.join(', ')}</p>
      <label>
        Upload YAML or JSON files
        <input
          type="file"
          multiple
          accept=".yaml,.yml,.json"
          onChange={async (e) => e.target.files && (await send(await readFiles(e.target.files)))}
        />
      </label>
      <p className="sub">…or drop files anywhere on the page.</p>
      <label>
        Paste manifests
        <textarea rows={10} value={paste} onChange={(e) => setPaste(e.target.value)} spellCheck={false} />
      </label>
      <div className="buttons">
        <button
          type="button"
          disabled={busy || !paste.trim()}
          onClick={() => send([{ name: 'pasted.yaml', text: paste }])}
        >
          Load pasted
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {problems.length > 0 && (
        <ul className="problems" role="alert" aria-label="problems">
          {problems.map((p) => (
            <li key={problemText(p)}>
              <code>{problemText(p)}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
