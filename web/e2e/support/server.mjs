// Starts carepass for browser tests: builds the binary once, creates a
// database of its own on the developer's PostgreSQL cluster (so a run never
// touches the database `make run` uses), runs `carepass dev` against it and
// removes both again afterwards.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const DB_PREFIX = 'carepass_e2e_';
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

// Go is often only in /usr/local/go/bin (the Makefile adds it to PATH too).
const toolPath = [process.env.PATH, join(repoRoot, '.data', 'bin'), '/usr/local/go/bin']
  .filter(Boolean)
  .join(delimiter);

/**
 * run executes a command and resolves with its output, or rejects with the
 * output when it fails.
 */
function run(cmd, args, { cwd = repoRoot, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...env, PATH: toolPath }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/** readEnvFile parses KEY=VALUE lines (the format of .data/pg.env). */
function readEnvFile(path) {
  const vars = {};
  if (!existsSync(path)) return vars;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    vars[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

/**
 * databaseURLs returns the app, owner and superuser URLs: from the
 * environment (what `make test-e2e` exports), else from .data/pg.env.
 */
function databaseURLs() {
  const file = readEnvFile(join(repoRoot, '.data', 'pg.env'));
  const pick = (name) => process.env[name] || file[name] || '';
  const urls = {
    app: pick('DATABASE_URL'),
    owner: pick('MIGRATION_DATABASE_URL'),
    admin: pick('ADMIN_DATABASE_URL'),
  };
  const missing = Object.entries({ DATABASE_URL: urls.app, MIGRATION_DATABASE_URL: urls.owner, ADMIN_DATABASE_URL: urls.admin })
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) {
    throw new Error(`browser tests need ${missing.join(', ')}: run them with \`make test-e2e\`, ` +
      'or start the local cluster with `make db-start` (its URLs are in .data/pg.env)');
  }
  // The superuser URL must reach the same server as the app's.
  const server = (url) => { const u = new URL(url); return `${u.hostname}:${u.port || '5432'}`; };
  if (server(urls.admin) !== server(urls.app) || server(urls.owner) !== server(urls.app)) {
    throw new Error('DATABASE_URL, MIGRATION_DATABASE_URL and ADMIN_DATABASE_URL must name the same PostgreSQL server ' +
      '(set ADMIN_DATABASE_URL, a superuser that may create databases, alongside the other two)');
  }
  return urls;
}

/** withDatabase returns url pointing at database name instead. */
function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

/**
 * psql runs one SQL statement as the superuser. The connection goes through
 * PG* variables so no password appears on a command line.
 */
function psql(adminURL, sql) {
  const u = new URL(adminURL);
  const env = {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    PGSSLMODE: u.searchParams.get('sslmode') || 'prefer',
    PGCONNECT_TIMEOUT: '10',
  };
  return run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env });
}

function identifier(name) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected role or database name ${JSON.stringify(name)}`);
  return name;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * dropAbandoned removes databases left behind by earlier runs that were
 * killed before their clean-up ran (their process no longer exists).
 */
async function dropAbandoned(adminURL) {
  const out = await psql(adminURL, `SELECT datname FROM pg_database WHERE datname LIKE '${DB_PREFIX}%'`);
  for (const name of out.split('\n').map((s) => s.trim()).filter(Boolean)) {
    const m = new RegExp(`^${DB_PREFIX}(\\d+)_[0-9a-f]+$`).exec(name);
    if (m && !alive(Number(m[1]))) {
      await psql(adminURL, `DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
    }
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * startMailCatcher starts the mail catcher (maildev, from the devDependencies)
 * on free ports: carepass delivers to it over SMTP, and the journeys read
 * what arrived through its REST API.
 */
async function startMailCatcher(logStream) {
  const smtp = await freePort();
  const web = await freePort();
  const bin = join(repoRoot, 'node_modules', '.bin', 'maildev');
  if (!existsSync(bin)) throw new Error('the mail catcher is not installed: run `make assets` (npm ci) first');
  const child = spawn(bin, ['--ip', '127.0.0.1', '--smtp', String(smtp), '--web', String(web), '--web-ip', '127.0.0.1'],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(logStream, { end: false });
  child.stderr.pipe(logStream, { end: false });
  const api = `http://127.0.0.1:${web}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${api}/email`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the mail catcher did not start');
    }
    await sleep(100);
  }
  return {
    smtp,
    /** messages resolves with every email received so far (maildev's JSON). */
    messages: async () => (await fetch(`${api}/email`)).json(),
    /** attachment resolves with the text of one attachment of a message. */
    attachment: async (id, name) => (await fetch(`${api}/email/${id}/attachment/${encodeURIComponent(name)}`)).text(),
    stop: () => { if (child.exitCode === null) child.kill('SIGTERM'); },
  };
}

/**
 * startServer builds and starts carepass on a fresh database and resolves
 * once /readyz answers. Call stop() on the result, even after a failure.
 * Its email goes to a mail catcher of its own, read with mail.messages().
 */
export async function startServer() {
  const urls = databaseURLs();
  const dir = await mkdtemp(join(tmpdir(), 'carepass-e2e-'));
  const bin = join(dir, 'carepass');
  const logPath = join(dir, 'server.log');
  const db = `${DB_PREFIX}${process.pid}_${randomBytes(6).toString('hex')}`;
  const owner = identifier(decodeURIComponent(new URL(urls.owner).username));

  let child = null;
  let mail = null;
  let dbCreated = false;
  let exited = null;

  const logTail = async () => {
    try {
      const text = await readFile(logPath, 'utf8');
      return text.split('\n').slice(-40).join('\n');
    } catch {
      return '(no server output)';
    }
  };

  const stop = async () => {
    if (child && exited === null) {
      child.kill('SIGTERM');
      let timer;
      const done = await Promise.race([
        new Promise((r) => child.once('exit', () => r(true))),
        new Promise((r) => { timer = setTimeout(() => r(false), STOP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (!done && exited === null) child.kill('SIGKILL');
    }
    if (mail) {
      mail.stop();
      mail = null;
    }
    if (dbCreated) {
      await psql(urls.admin, `DROP DATABASE IF EXISTS ${identifier(db)} WITH (FORCE)`);
      dbCreated = false;
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await run('go', ['build', '-o', bin, './cmd/carepass']);
    await dropAbandoned(urls.admin);
    await psql(urls.admin, `CREATE DATABASE ${identifier(db)} OWNER ${owner}`);
    dbCreated = true;

    const port = await freePort();
    const baseURL = `http://127.0.0.1:${port}`;
    const env = { ...process.env };
    delete env.ADMIN_DATABASE_URL; // the server never gets the superuser
    Object.assign(env, {
      DATABASE_URL: withDatabase(urls.app, db),
      MIGRATION_DATABASE_URL: withDatabase(urls.owner, db),
      ADDR: '127.0.0.1',
      PORT: String(port),
      CAREPASS_ENV: 'development',
    });
    const log = createWriteStream(logPath);
    mail = await startMailCatcher(log);
    Object.assign(env, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(mail.smtp), SMTP_TLS: 'none' });
    child = spawn(bin, ['dev'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.on('exit', (code, signal) => { exited = { code, signal }; });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) {
        throw new Error(`carepass dev exited (${exited.signal || exited.code}) before it was ready:\n${await logTail()}`);
      }
      try {
        const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`carepass dev did not answer /readyz within ${READY_TIMEOUT_MS / 1000}s:\n${await logTail()}`);
      }
      await sleep(100);
    }
    return { baseURL, database: db, stop, logTail, mail };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
