import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECOVERY_BY_CODE } from "../../control-plane/src/mcp/tool-result.js";
import { readExecToEnd } from "../support/exec-reads.js";
import { callTool, textOf } from "../support/mcp-client.js";
import { startTwoPrincipalRunner, type TwoPrincipalRunner } from "../support/runner-session.js";

const READ_LIMITS = { maxCalls: 50, deadlineMs: 60_000 };
/** A refused exec_write leads to the exec tools (not to fs_list, the generic FAILED_PRECONDITION hint). */
const WRITE_REFUSED_HINT =
  "exec_read shows whether the process has ended and what it wrote; to feed it more input, run the command again with exec and stdin_open: true.";
const EXEC_NOT_FOUND_HINT =
  "exec_list shows this runner's processes, each with its exec_id; a process reaped since has lost its output, so run the command again with exec.";

/** `seq 1 n` as the runner prints it. */
function seqOutput(n: number): string {
  return Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
}

describe("exec, exec_read, exec_write, exec_signal, exec_list and the exec output resource", () => {
  let session: TwoPrincipalRunner;
  let asAlice: Client;
  let asBob: Client;
  let runner: string;

  beforeAll(async () => {
    session = await startTwoPrincipalRunner("exec");
    ({ asAlice, asBob, runnerId: runner } = session);
  });

  afterAll(async () => {
    expect(await session?.close()).toBe(0);
  });

  it("describes the exec tools with output schemas and truthful annotations", async () => {
    const { tools } = await asAlice.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    const hints = (name: string) => {
      const { readOnlyHint, destructiveHint, idempotentHint } = byName.get(name)?.annotations ?? {};
      return { readOnlyHint, destructiveHint, idempotentHint };
    };
    expect(hints("exec")).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false });
    expect(hints("exec_read")).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    expect(hints("exec_write")).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false });
    expect(hints("exec_signal")).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false });
    expect(hints("exec_list")).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    for (const name of ["exec", "exec_read", "exec_write", "exec_signal", "exec_list"]) {
      expect(byName.get(name)?.outputSchema?.type, name).toBe("object");
    }
    const { resourceTemplates } = await asAlice.listResourceTemplates();
    expect(resourceTemplates).toContainEqual(
      expect.objectContaining({
        name: "exec_output",
        uriTemplate: "devhatchery://runners/{runner}/execs/{exec}/output",
        mimeType: "text/plain",
      }),
    );
  });

  it("returns a process still running after yield_ms, then exec_read follows it to its exit with nothing lost", async () => {
    const command = "for i in 1 2 3 4 5 6; do echo out-$i; echo err-$i >&2; sleep 0.3; done; exit 4";
    const first = await callTool(asAlice, "exec", { runner, command, yield_ms: 400 });
    expect(first.structured).toMatchObject({
      state: "running",
      exit_code: null,
      reason: null,
      omitted_bytes: 0,
      dropped_bytes: 0,
    });
    const execId = first.structured.exec_id as string;
    expect(execId).toMatch(/^ex_[0-9a-f]{16}$/);
    const cursor = first.structured.next_cursor as number;
    expect(cursor).toBe(Buffer.byteLength(`${first.structured.stdout}${first.structured.stderr}`));
    expect(textOf(first.result)).toMatch(
      new RegExp(
        `^still running as ${execId} after 400 ms; continue with exec_read exec_id=${execId} cursor=${cursor}\n`,
      ),
    );

    const rest = await readExecToEnd(asAlice, { runner, exec_id: execId, cursor }, READ_LIMITS);
    expect(`${first.structured.stdout}${rest.stdout}`).toBe("out-1\nout-2\nout-3\nout-4\nout-5\nout-6\n");
    expect(`${first.structured.stderr}${rest.stderr}`).toBe("err-1\nerr-2\nerr-3\nerr-4\nerr-5\nerr-6\n");
    expect(rest.last).toMatchObject({
      state: "exited",
      exit_code: 4,
      reason: "exited",
      signal: null,
      eof: true,
      next_cursor: 72,
    });

    const fromStart = await callTool(asAlice, "exec_read", { runner, exec_id: execId, cursor: 0 });
    expect(fromStart.structured).toMatchObject({ cursor: 0, next_cursor: 72, eof: true, dropped_bytes: 0 });
    expect(textOf(fromStart.result)).toMatch(
      new RegExp(`^${execId} ended: exit code 4; bytes 0–72; end of output\n--- stdout ---\nout-1\n`),
    );
  });

  it("runs a command on a pty that resizes, with output keeping its cursor", async () => {
    const started = await callTool(asAlice, "exec", {
      runner,
      command: 'test -t 0 && echo "tty $TERM"; stty size; read line; stty size; echo "got $line"',
      pty: true,
      cols: 100,
      rows: 30,
      yield_ms: 1000,
    });
    expect(started.structured).toMatchObject({ state: "running", stderr: "" });
    expect(started.structured.stdout).toContain("tty xterm-256color\r\n30 100\r\n");
    const execId = started.structured.exec_id as string;
    const cursor = started.structured.next_cursor as number;
    const listed = (await callTool(asAlice, "exec_list", { runner })).structured.execs as Array<
      Record<string, unknown>
    >;
    expect(listed.find((exec) => exec.exec_id === execId)).toMatchObject({ pty: true, stdin_open: true });
    const resized = await callTool(asAlice, "exec_resize", { runner, exec_id: execId, cols: 120, rows: 40 });
    expect(resized.structured).toMatchObject({ runner_id: runner, exec: { exec_id: execId, pty: true } });
    await callTool(asAlice, "exec_write", { runner, exec_id: execId, data: "typed\r" });
    const rest = await readExecToEnd(asAlice, { runner, exec_id: execId, cursor }, READ_LIMITS);
    // The terminal echoes what was typed; the program then sees the new size.
    expect(rest.stdout).toContain("40 120\r\n");
    expect(rest.stdout).toContain("got typed");
    expect(rest.last).toMatchObject({ exit_code: 0, eof: true });
    // A process without a pty has no terminal to resize.
    const plain = await callTool(asAlice, "exec", { runner, command: "sleep 5", yield_ms: 0 });
    const refused = await callTool(asAlice, "exec_resize", {
      runner,
      exec_id: plain.structured.exec_id,
      cols: 80,
      rows: 24,
    });
    expect(textOf(refused.result)).toMatch(
      /^Error FAILED_PRECONDITION: .*\nOnly a process started with exec and pty: true/s,
    );
    await callTool(asAlice, "exec_signal", { runner, exec_id: plain.structured.exec_id, signal: "SIGKILL" });
  });

  it("feeds stdin: text closed at once, or kept open for exec_write", async () => {
    const piped = await callTool(asAlice, "exec", { runner, command: "tr a-z A-Z", stdin: "shout\n" });
    expect(piped.structured).toMatchObject({ state: "exited", exit_code: 0, stdout: "SHOUT\n" });

    const interactive = await callTool(asAlice, "exec", {
      runner,
      command: "echo 'name?'; read name; echo hello $name",
      stdin_open: true,
      yield_ms: 500,
    });
    expect(interactive.structured).toMatchObject({ state: "running", stdout: "name?\n" });
    const execId = interactive.structured.exec_id as string;
    const wrote = await callTool(asAlice, "exec_write", { runner, exec_id: execId, data: "world\n" });
    expect(wrote.structured).toEqual({
      runner_id: runner,
      exec_id: execId,
      written_bytes: 6,
      stdin_bytes: 6,
      closed: false,
    });
    const rest = await readExecToEnd(
      asAlice,
      { runner, exec_id: execId, cursor: interactive.structured.next_cursor as number },
      READ_LIMITS,
    );
    expect(rest.stdout).toBe("hello world\n");
    expect(rest.last).toMatchObject({ exit_code: 0, eof: true });

    const cat = await callTool(asAlice, "exec", {
      runner,
      command: "cat",
      stdin: "a",
      stdin_open: true,
      yield_ms: 300,
    });
    const catId = cat.structured.exec_id as string;
    expect(
      (await callTool(asAlice, "exec_write", { runner, exec_id: catId, data: "bc", close: true })).structured,
    ).toMatchObject({ stdin_bytes: 3, closed: true });
    expect((await readExecToEnd(asAlice, { runner, exec_id: catId, cursor: 0 }, READ_LIMITS)).stdout).toBe("abc");
    const late = await callTool(asAlice, "exec_write", { runner, exec_id: catId, data: "more" });
    expect(late.result.isError).toBe(true);
    expect(textOf(late.result)).toBe(
      `Error FAILED_PRECONDITION: Exec "${catId}" has already ended (exited with code 0); it cannot take input.\n${WRITE_REFUSED_HINT}`,
    );

    const closed = await callTool(asAlice, "exec", { runner, command: "sleep 30", yield_ms: 0 });
    const closedId = closed.structured.exec_id as string;
    const refused = await callTool(asAlice, "exec_write", { runner, exec_id: closedId, data: "x" });
    expect(textOf(refused.result)).toBe(
      `Error FAILED_PRECONDITION: Stdin of exec "${closedId}" is closed; start the process with stdin_open to write to it after it started.\n${WRITE_REFUSED_HINT}`,
    );
    await callTool(asAlice, "exec_signal", { runner, exec_id: closedId, signal: "KILL" });
  });

  it("signals the whole process group with any signal name", async () => {
    const trapped = await callTool(asAlice, "exec", {
      runner,
      command:
        "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
      yield_ms: 500,
    });
    const execId = trapped.structured.exec_id as string;
    expect(trapped.structured).toMatchObject({ state: "running", stdout: "ready\n" });
    const usr1 = await callTool(asAlice, "exec_signal", { runner, exec_id: execId, signal: "USR1" });
    expect(usr1.structured.exec).toMatchObject({ exec_id: execId, state: "running", stdin_open: false });
    // The shell may also report its killed `sleep` on stderr; read until the trap's line is there.
    let cursor = trapped.structured.next_cursor as number;
    let afterUsr1 = "";
    for (let reads = 0; reads < 10 && !afterUsr1.includes("got USR1"); reads++) {
      const read = await callTool(asAlice, "exec_read", { runner, exec_id: execId, cursor, wait_ms: 10_000 });
      expect(read.structured.state).toBe("running");
      afterUsr1 += read.structured.stdout as string;
      cursor = read.structured.next_cursor as number;
    }
    expect(afterUsr1).toBe("got USR1\n");
    await callTool(asAlice, "exec_signal", { runner, exec_id: execId });
    const rest = await readExecToEnd(asAlice, { runner, exec_id: execId, cursor }, READ_LIMITS);
    expect(rest.stdout).toBe("got TERM\n");
    expect(rest.last).toMatchObject({ reason: "exited", exit_code: 7 });

    const sleeper = await callTool(asAlice, "exec", { runner, command: ["sleep", "60"], yield_ms: 0 });
    const sleeperId = sleeper.structured.exec_id as string;
    await callTool(asAlice, "exec_signal", { runner, exec_id: sleeperId, signal: "SIGKILL" });
    const killed = await readExecToEnd(asAlice, { runner, exec_id: sleeperId, cursor: 0 }, READ_LIMITS);
    expect(killed.last).toMatchObject({ state: "exited", reason: "signaled", signal: "SIGKILL", exit_code: null });

    const bogus = await callTool(asAlice, "exec_signal", { runner, exec_id: sleeperId, signal: "SIGBOGUS" });
    expect(bogus.result.isError).toBe(true);
    expect(textOf(bogus.result)).toBe(
      'Error INVALID_ARGUMENT: Signal "SIGBOGUS" is not known; use a name such as "SIGTERM", "SIGINT", "SIGKILL", "SIGHUP" or "SIGUSR1".\n' +
        RECOVERY_BY_CODE.INVALID_ARGUMENT,
    );
  });

  it("cuts long output in the middle with a marker whose cursor exec_read continues from", async () => {
    const total = seqOutput(100_000);
    const { structured, result } = await callTool(asAlice, "exec", {
      runner,
      command: "seq 1 100000",
      yield_ms: 60_000,
    });
    expect(structured).toMatchObject({
      state: "exited",
      exit_code: 0,
      next_cursor: total.length,
      omitted_bytes: total.length - 256 * 1024,
    });
    const stdout = structured.stdout as string;
    const marker = /\n\[… (\d+) bytes of stdout omitted; read them with exec_read cursor=(\d+) …\]\n/.exec(stdout);
    expect(marker).not.toBeNull();
    const [omitted, cursor] = [Number(marker![1]), Number(marker![2])];
    expect(omitted).toBe(total.length - 256 * 1024);
    expect(cursor).toBe(128 * 1024);
    expect(stdout.slice(0, marker!.index)).toBe(total.slice(0, cursor));
    expect(stdout.slice(marker!.index + marker![0].length)).toBe(total.slice(cursor + omitted));
    expect(textOf(result)).toContain(`bytes of stdout omitted; read them with exec_read cursor=${cursor}`);

    const rest = await readExecToEnd(
      asAlice,
      { runner, exec_id: structured.exec_id as string, cursor, max_bytes: 100_000 },
      READ_LIMITS,
    );
    expect(rest.calls).toBeGreaterThan(4);
    expect(total.slice(0, cursor) + rest.stdout).toBe(total);
  });

  it("interrupts a process when the exec call is cancelled", async () => {
    const controller = new AbortController();
    const call = asAlice.callTool(
      { name: "exec", arguments: { runner, command: "echo cancel-me; sleep 60" } },
      undefined,
      {
        signal: controller.signal,
        onprogress: () => controller.abort(),
      },
    );
    await expect(call).rejects.toThrow();
    await expect
      .poll(
        async () => {
          const listed = (await callTool(asAlice, "exec_list", { runner })).structured.execs as {
            command: string;
            state: string;
            reason: string;
          }[];
          return listed.find((exec) => exec.command === "echo cancel-me; sleep 60");
        },
        { timeout: 10_000 },
      )
      .toMatchObject({ state: "exited", reason: "interrupted" });
  });

  it("lists the runner's processes with state, command, exit and output size", async () => {
    const running = await callTool(asAlice, "exec", { runner, command: "echo listed; sleep 30", yield_ms: 300 });
    const { structured, result } = await callTool(asAlice, "exec_list", { runner });
    const execs = structured.execs as Record<string, unknown>[];
    expect(execs.filter((exec) => exec.state === "running")).toHaveLength(1);
    expect(execs[0]).toMatchObject({
      exec_id: running.structured.exec_id,
      state: "running",
      command: "echo listed; sleep 30",
      cwd: "/work",
      output_bytes: 7,
      exit_code: null,
      ended_at: null,
    });
    expect(execs).toContainEqual(
      expect.objectContaining({
        command: "seq 1 100000",
        state: "exited",
        reason: "exited",
        exit_code: 0,
        output_bytes: seqOutput(100_000).length,
        dropped_bytes: 0,
      }),
    );
    expect(textOf(result)).toContain(`${running.structured.exec_id} running, 7 bytes of output: echo listed; sleep 30`);
    await callTool(asAlice, "exec_signal", { runner, exec_id: running.structured.exec_id, signal: "KILL" });
  });

  it("serves the tail of a process's output as a resource, owner only", async () => {
    const done = await callTool(asAlice, "exec", { runner, command: "echo resource-out; echo resource-err >&2" });
    const uri = `devhatchery://runners/${runner}/execs/${done.structured.exec_id as string}/output`;
    expect(await asAlice.readResource({ uri })).toEqual({
      contents: [{ uri, mimeType: "text/plain", text: "resource-out\nresource-err\n" }],
    });

    const big = await callTool(asAlice, "exec", { runner, command: "seq 1 100000" });
    const bigUri = `devhatchery://runners/${runner}/execs/${big.structured.exec_id as string}/output`;
    const { contents } = await asAlice.readResource({ uri: bigUri });
    const text = (contents[0] as { text: string }).text;
    const total = seqOutput(100_000);
    const omitted = total.length - 64 * 1024;
    expect(text).toBe(
      `[… ${omitted} earlier bytes omitted; read them with exec_read exec_id=${big.structured.exec_id as string} cursor=0 …]\n${total.slice(omitted)}`,
    );

    await expect(asBob.readResource({ uri })).rejects.toThrow(`Runner "${runner}" not found for this principal`);
    await expect(
      asAlice.readResource({ uri: `devhatchery://runners/${runner}/execs/ex_0000000000000000/output` }),
    ).rejects.toThrow(/Exec "ex_0000000000000000" not found/);
  });

  it("notifies a subscriber of the output resource when the process writes and when it ends", async () => {
    const updates: string[] = [];
    asAlice.setNotificationHandler(
      ResourceUpdatedNotificationSchema,
      (notification) => void updates.push(notification.params.uri),
    );
    const started = await callTool(asAlice, "exec", {
      runner,
      command: "echo one; read go; echo two-$go",
      stdin_open: true,
      yield_ms: 300,
    });
    const execId = started.structured.exec_id as string;
    const uri = `devhatchery://runners/${runner}/execs/${execId}/output`;
    await asAlice.subscribeResource({ uri });
    await expect(asBob.subscribeResource({ uri })).rejects.toThrow(`Runner "${runner}" not found for this principal`);
    expect(updates).toEqual([]);

    await callTool(asAlice, "exec_write", { runner, exec_id: execId, data: "go\n", close: true });
    await expect.poll(() => updates.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(new Set(updates)).toEqual(new Set([uri]));
    await expect
      .poll(async () => ((await asAlice.readResource({ uri })).contents[0] as { text: string }).text, {
        timeout: 10_000,
      })
      .toBe("one\ntwo-go\n");
    await asAlice.unsubscribeResource({ uri });
  });

  it("names the runner's id in results when the call named it by alias", async () => {
    const spawned = await callTool(asAlice, "runner_spawn", { alias: "exec-alias" });
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    const aliasedId = spawned.structured.runner_id as string;
    expect(aliasedId).not.toBe(runner);

    const ran = await callTool(asAlice, "exec", {
      runner: "exec-alias",
      command: "echo hi > /work/alias.txt; echo done",
    });
    expect(ran.structured).toMatchObject({ runner_id: aliasedId, state: "exited", exit_code: 0, stdout: "done\n" });
    expect(textOf(ran.result)).toMatch(
      new RegExp(`^\\[runner "exec-alias" is ${aliasedId}\\]\nexit code 0 \\(\\d+ ms\\)\n--- stdout ---\ndone\n$`),
    );
    const read = await callTool(asAlice, "fs_read", { runner: "exec-alias", path: "alias.txt" });
    expect(read.structured).toMatchObject({ runner_id: aliasedId, content: "hi\n", file: { path: "/work/alias.txt" } });
    expect(textOf(read.result)).toBe(`[runner "exec-alias" is ${aliasedId}]\nhi\n`);
    const byId = await callTool(asAlice, "exec", { runner: aliasedId, command: "true" });
    expect(byId.structured.runner_id).toBe(aliasedId);
    expect(textOf(byId.result)).toMatch(/^exit code 0 /);
  });

  it("keeps another principal's processes unreachable and reports unknown exec ids", async () => {
    const mine = await callTool(asAlice, "exec", { runner, command: "true" });
    const notFound = `Error NOT_FOUND: Runner "${runner}" not found for this principal; spawn one with runner_spawn.`;
    for (const [tool, args] of [
      ["exec_read", { runner, exec_id: mine.structured.exec_id, cursor: 0 }],
      ["exec_write", { runner, exec_id: mine.structured.exec_id, data: "x" }],
      ["exec_signal", { runner, exec_id: mine.structured.exec_id, signal: "KILL" }],
      ["exec_list", { runner }],
    ] as const) {
      const { result } = await callTool(asBob, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result).startsWith(notFound), tool).toBe(true);
    }
    const unknown = await callTool(asAlice, "exec_read", { runner, exec_id: "ex_0000000000000000", cursor: 0 });
    expect(textOf(unknown.result)).toMatch(/^Error NOT_FOUND: Exec "ex_0000000000000000" not found: /);
    expect(textOf(unknown.result).split("\n")[1]).toBe(EXEC_NOT_FOUND_HINT);
    const pastEnd = await callTool(asAlice, "exec_read", { runner, exec_id: mine.structured.exec_id, cursor: 5 });
    expect(textOf(pastEnd.result)).toMatch(/^Error INVALID_ARGUMENT: /);
  });
});
