import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** git run apart from the machine's and the user's configuration, as a fixed author at a fixed time (stable shas). */
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "DevHatchery Tests",
  GIT_AUTHOR_EMAIL: "tests@example.invalid",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_NAME: "DevHatchery Tests",
  GIT_COMMITTER_EMAIL: "tests@example.invalid",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run("git", args, { cwd, env: GIT_ENV })).stdout.trim();
}

export interface BareRepositoryOptions {
  /** The repository's name: it is created at `<dir>/<name>.git` (default "repo"). */
  name?: string;
  /** The default branch, holding `files` (default "main"). */
  branch?: string;
  /** More branches, each forked from the default branch with these files added or replaced. */
  extraBranches?: Record<string, Record<string, string>>;
}

export interface BareRepository {
  /** `<dir>/<name>.git` */
  path: string;
  /** The default branch's commit. */
  head: string;
  /** Every branch's commit, the default branch's included. */
  branches: Record<string, string>;
}

/** Commits `files` (path → content) and makes a bare repository of them at `<dir>/<name>.git`, to serve. */
export async function createBareRepository(
  dir: string,
  files: Record<string, string>,
  options: BareRepositoryOptions = {},
): Promise<BareRepository> {
  const { name = "repo", branch = "main", extraBranches = {} } = options;
  const work = await mkdtemp(join(tmpdir(), "devhatchery-git-work-"));
  try {
    await git(work, "init", "--quiet", `--initial-branch=${branch}`);
    const commit = async (content: Record<string, string>, message: string): Promise<string> => {
      for (const [path, text] of Object.entries(content)) {
        await mkdir(dirname(join(work, path)), { recursive: true });
        await writeFile(join(work, path), text);
      }
      await git(work, "add", "--all");
      await git(work, "commit", "--quiet", "--allow-empty", "--message", message);
      return git(work, "rev-parse", "HEAD");
    };
    const branches: Record<string, string> = { [branch]: await commit(files, "Initial commit") };
    for (const [extra, content] of Object.entries(extraBranches)) {
      await git(work, "checkout", "--quiet", "-b", extra, branch);
      branches[extra] = await commit(content, `Branch ${extra}`);
    }
    await git(work, "checkout", "--quiet", branch);
    const path = join(dir, `${name}.git`);
    await mkdir(dir, { recursive: true });
    await git(dir, "clone", "--quiet", "--bare", work, path);
    return { path, head: branches[branch]!, branches };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A port free on `host` at the time of asking (bound once, then released). */
async function freePortOn(host: string): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const done = (accepted: boolean): void => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}

/** Ends a child process started in its own process group, with whatever it forked, and waits for it. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-(child.pid as number), "SIGTERM");
  } catch {
    // Already gone.
  }
  await exited;
}

export interface GitServer extends AsyncDisposable {
  /** The clone URL of `<baseDir>/<repoName>.git`. */
  url(repoName: string): string;
  close(): Promise<void>;
}

/** `git daemon` serving every repository under `baseDir` over git:// on `host`; resolves once it accepts connections. */
export async function startGitDaemon(options: { baseDir: string; host: string }): Promise<GitServer> {
  const { baseDir, host } = options;
  for (let attempt = 1; ; attempt++) {
    const port = await freePortOn(host);
    const child = spawn(
      "git",
      ["daemon", "--reuseaddr", "--export-all", `--base-path=${baseDir}`, `--listen=${host}`, `--port=${port}`].concat([
        "--informative-errors",
        baseDir,
      ]),
      { env: GIT_ENV, stdio: ["ignore", "ignore", "pipe"], detached: true },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const close = (): Promise<void> => stopGroup(child);
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && !(await accepts(host, port))) {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`git daemon did not accept connections on ${host}:${port} within 10 s: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (child.exitCode === null) {
      return { url: (name) => `git://${host}:${port}/${name}.git`, close, [Symbol.asyncDispose]: close };
    }
    // Another process took the port between asking and listening: ask again.
    if (!/in use/i.test(stderr) || attempt === 5) {
      throw new Error(`git daemon on ${host}:${port} exited with code ${child.exitCode}: ${stderr}`);
    }
  }
}

export interface GitHttpServer extends GitServer {
  /** Requests received so far, refused ones included. */
  readonly requests: number;
}

/**
 * Git's smart HTTP protocol (`git http-backend` run as CGI) for every repository under `baseDir`, on an ephemeral port
 * of `host`, behind HTTP Basic authentication with one account. Fetch and push both work.
 */
export async function startGitHttpServer(options: {
  baseDir: string;
  host: string;
  username: string;
  password: string;
}): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const backends = new Set<ChildProcess>();
  let requests = 0;
  const server = createHttpServer((request, response) => {
    requests++;
    if (request.headers.authorization !== expected) {
      response.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" });
      response.end("Authentication required.\n");
      return;
    }
    const backend = runHttpBackend(request, response, options.baseDir, options.username);
    backends.add(backend);
    backend.once("exit", () => backends.delete(backend));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    for (const backend of backends) backend.kill("SIGKILL");
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return {
    url: (name) => `http://${options.host}:${port}/${name}.git`,
    get requests() {
      return requests;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Runs one request through `git http-backend` (CGI, RFC 3875): its header block becomes the response's head. */
function runHttpBackend(
  request: IncomingMessage,
  response: ServerResponse,
  baseDir: string,
  user: string,
): ChildProcess {
  const url = new URL(request.url ?? "/", "http://git");
  const cgi: Record<string, string> = {
    GIT_PROJECT_ROOT: baseDir,
    GIT_HTTP_EXPORT_ALL: "1",
    REQUEST_METHOD: request.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: request.headers["content-type"] ?? "",
    REMOTE_USER: user,
    REMOTE_ADDR: request.socket.remoteAddress ?? "",
  };
  if (request.headers["content-length"]) cgi.CONTENT_LENGTH = request.headers["content-length"];
  // http-backend inflates gzip bodies itself, and takes the protocol version (v2) from this header.
  if (request.headers["content-encoding"]) cgi.HTTP_CONTENT_ENCODING = request.headers["content-encoding"];
  const protocol = request.headers["git-protocol"];
  if (typeof protocol === "string") cgi.HTTP_GIT_PROTOCOL = protocol;
  const backend = spawn("git", ["http-backend"], { env: { ...GIT_ENV, ...cgi }, stdio: ["pipe", "pipe", "pipe"] });
  request.pipe(backend.stdin);
  backend.stdin.on("error", () => undefined);
  let stderr = "";
  backend.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let head = Buffer.alloc(0);
  let headSent = false;
  backend.stdout.on("data", (chunk: Buffer) => {
    if (headSent) return void response.write(chunk);
    head = Buffer.concat([head, chunk]);
    const text = head.toString("latin1");
    const match = /\r?\n\r?\n/.exec(text);
    if (!match) return;
    headSent = true;
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of text.slice(0, match.index).split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    response.writeHead(status, headers);
    response.write(head.subarray(match.index + match[0].length));
  });
  backend.once("error", (error) => {
    if (!response.headersSent) response.writeHead(500, { "Content-Type": "text/plain" });
    response.end(`git http-backend failed to start: ${error.message}\n`);
  });
  backend.once("close", (code) => {
    if (!headSent && !response.headersSent) {
      response.writeHead(500, { "Content-Type": "text/plain" });
      response.write(`git http-backend exited with code ${code} before its headers: ${stderr}\n`);
    }
    response.end();
  });
  return backend;
}
