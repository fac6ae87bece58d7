// The node:http edge of `kpath serve`: sockets, request-size limits, the built page's files, and the API.
// Everything it serves is either in memory (the page, read once at start) or computed from the twins.
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, sep } from 'node:path';
import { handleApi } from './api.js';
import type { Workspaces } from './workspaces.js';

/** Largest request body accepted (uploaded manifests included). */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_URL_BYTES = 8 * 1024;

export interface ServeOptions {
  workspaces: Workspaces;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The built page (dist/web); absent or missing files give a page that says how to build it. */
  webRoot?: string;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

interface StaticFile {
  type: string;
  body: Buffer;
}

async function loadPage(root: string | undefined): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  if (!root) return files;
  let entries: string[];
  try {
    entries = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return files;
  }
  for (const path of entries) {
    const type = TYPES[extname(path)];
    if (!type) continue;
    const url = `/${relative(root, path).split(sep).join('/')}`;
    files.set(url, { type, body: await readFile(path) });
  }
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>kpath</title>
<p>The kpath page is not built. Run <code>npm run build</code> in the kpath folder; the API answers at <a href="/api/topology">/api/topology</a>.</p>`;

// A page bound to loopback must not answer requests a hostile site's DNS name was re-pointed at (DNS rebinding).
function allowedHost(req: IncomingMessage, bound: string): boolean {
  const loopback = bound === '127.0.0.1' || bound === '::1' || bound === 'localhost';
  if (!loopback) return true;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'content-security-policy':
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  send(res, status, 'application/json', JSON.stringify({ error: { kind: 'usage', message } }));
}

/** Reads the body up to `limit` bytes; undefined when it was larger (the caller answers 413). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const page = await loadPage(opts.webRoot);
  const server = createServer(async (req, res) => {
    try {
      if ((req.url ?? '').length > MAX_URL_BYTES) return sendError(res, 414, 'the URL is too long');
      if (!allowedHost(req, opts.host)) return sendError(res, 421, 'this server answers only to localhost');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      if (url.pathname.startsWith('/api/')) {
        let body: string | undefined;
        if (method === 'POST') {
          body = await readBody(req, MAX_BODY_BYTES);
          if (body === undefined) {
            res.setHeader('connection', 'close');
            return sendError(res, 413, `the request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
          }
        }
        const r = handleApi(opts.workspaces, { method, path: url.pathname, query: url.searchParams, body });
        const type = r.contentType === 'application/json' ? 'application/json' : 'text/plain; charset=utf-8';
        return send(res, r.status, type, r.body);
      }
      if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405, 'the page takes GET');
      // Only the files of the built page, looked up by exact name: no path from the URL reaches the filesystem.
      const file = page.get(url.pathname === '/' ? '/index.html' : url.pathname);
      if (file) return send(res, 200, file.type, file.body);
      if (url.pathname === '/' || url.pathname === '/index.html')
        return send(res, 200, TYPES['.html']!, NOT_BUILT);
      return sendError(res, 404, `no such file ${url.pathname}`);
    } catch (err) {
      sendError(res, 500, err instanceof Error ? err.message : String(err));
    }
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
