import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  ListRootsRequestSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type Root,
} from "@modelcontextprotocol/sdk/types.js";

/** An SDK client that declares the roots capability and answers roots/list with roots the test sets. */
export interface RootsClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** How many times the server asked for the roots. */
  rootsRequests(): number;
  /** Replaces the roots and tells the server (notifications/roots/list_changed). */
  setRoots(roots: Root[]): Promise<void>;
}

/** What the server told a client about resources, in arrival order. */
export interface ResourceNotifications {
  /** URIs of notifications/resources/updated. */
  updated: string[];
  /** Count of notifications/resources/list_changed. */
  listChanged(): number;
}

export async function connectClientWithRoots(url: string, token: string, roots: Root[]): Promise<RootsClient> {
  let current = roots;
  let requests = 0;
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client(
    { name: "devhatchery-e2e-roots", version: "1.0.0" },
    { capabilities: { roots: { listChanged: true } } },
  );
  client.setRequestHandler(ListRootsRequestSchema, () => {
    requests += 1;
    return { roots: current };
  });
  await client.connect(transport);
  return {
    client,
    transport,
    rootsRequests: () => requests,
    async setRoots(next) {
      current = next;
      await client.sendRootsListChanged();
    },
  };
}

/** An SDK client with a transport the test can end the session with (terminateSession sends DELETE). */
export async function connectClientWithTransport(
  url: string,
  token: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "devhatchery-e2e-resources", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

/** Records resources/updated and resources/list_changed notifications sent to `client`. */
export function recordResourceNotifications(client: Client): ResourceNotifications {
  const updated: string[] = [];
  let listChanged = 0;
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    updated.push(notification.params.uri);
  });
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
    listChanged += 1;
  });
  return { updated, listChanged: () => listChanged };
}
