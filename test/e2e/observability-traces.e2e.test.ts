import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, textOf } from "../support/mcp-client.js";

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

interface TraceExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: ExportedSpan[] }[];
  }[];
}

/** A real OTLP/HTTP JSON receiver on a loopback port: keeps every span it is sent. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: ExportedSpan[]; services: Set<string> }> {
  const spans: ExportedSpan[] = [];
  const services = new Set<string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (
        request.method === "POST" &&
        request.url === "/v1/traces" &&
        request.headers["content-type"] === "application/json"
      ) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as TraceExport;
        for (const resource of body.resourceSpans) {
          for (const attribute of resource.resource.attributes)
            if (attribute.key === "service.name") services.add(attribute.value.stringValue ?? "");
          for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else {
        response.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/traces`, spans, services };
}

const attribute = (span: ExportedSpan, key: string): string | undefined =>
  span.attributes.find((entry) => entry.key === key)?.value.stringValue;

describe("OpenTelemetry traces to an OTLP/HTTP endpoint", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-traces-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-traces-${suffix}`;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: ControlPlaneProcess | undefined;
  let client: Client | undefined;

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_OTLP_ENDPOINT: receiver.url,
    });
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await removeTestRunners([principal], network);
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it("sends HTTP request → MCP tool call → runtime operation / agent call spans, nested, with the correlation id", async () => {
    let requestId = `trace-spawn-${suffix}`;
    const transport = new StreamableHTTPClientTransport(new URL(server!.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: (url, init) => {
        const headers = new Headers(init?.headers);
        headers.set("x-request-id", requestId);
        return fetch(url, { ...init, headers });
      },
    });
    client = new Client({ name: "devhatchery-e2e-traces", version: "1.0.0" });
    await client.connect(transport);
    const spawned = await callTool(client, "runner_spawn", {});
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    requestId = `trace-exec-${suffix}`;
    const exec = await callTool(client, "exec", { runner: spawned.structured.runner_id, command: "true" });
    expect(exec.result.isError, textOf(exec.result)).toBeFalsy();
    await client.close();
    client = undefined;
    // Shutdown exports what is still buffered.
    expect(await server!.stop()).toBe(0);
    server = undefined;

    expect(receiver.services).toEqual(new Set(["devhatchery-control-plane"]));
    const byId = new Map(receiver.spans.map((span) => [span.spanId, span]));
    const ancestors = (span: ExportedSpan): string[] => {
      const names: string[] = [];
      for (
        let parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined, i = 0;
        parent && i < 10;
        parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined, i++
      ) {
        names.push(parent.name);
      }
      return names;
    };

    const startRunner = receiver.spans.find((span) => span.name === "runtime startRunner");
    expect(startRunner && ancestors(startRunner)).toEqual(["mcp tools/call runner_spawn", "HTTP POST"]);
    expect(startRunner && attribute(startRunner, "devhatchery.correlation_id")).toBe(`trace-spawn-${suffix}`);

    const agentExec = receiver.spans.find((span) => span.name === "agent /devhatchery.agent.v1.ExecService/Exec");
    expect(agentExec && ancestors(agentExec)).toEqual(["mcp tools/call exec", "HTTP POST"]);
    expect(agentExec && attribute(agentExec, "devhatchery.correlation_id")).toBe(`trace-exec-${suffix}`);
    const toolSpan = receiver.spans.find((span) => span.name === "mcp tools/call exec");
    expect(toolSpan && attribute(toolSpan, "gen_ai.tool.name")).toBe("exec");
    expect(agentExec?.traceId).toBe(toolSpan?.traceId);
  });
});
