import { describe, expect, it } from "vitest";
import { REDACTED, redactSecrets, redactText } from "./secret-redaction.js";

const RUNNER_TOKEN = "q7H2kP9xLmN4vB8cR1tY6uI0oE3wA5sD-fG_hJ2kL9z"; // base64url, 43 characters, like a runner token
const HEX_KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

describe("redactSecrets", () => {
  it("replaces the values of secret-named fields, whatever they hold", () => {
    expect(
      redactSecrets({
        token: "abc",
        Authorization: "Bearer x",
        password: "p",
        client_secret: "s",
        apiKey: "k",
        cookie: "c",
        runner: "r-1",
        size: 5,
      }),
    ).toEqual({
      token: REDACTED,
      Authorization: REDACTED,
      password: REDACTED,
      client_secret: REDACTED,
      apiKey: REDACTED,
      cookie: REDACTED,
      runner: "r-1",
      size: 5,
    });
  });

  it("keeps ordinary keys such as workspace_key and idempotency_key", () => {
    expect(redactSecrets({ workspace_key: "proj-a", idempotency_key: "spawn-1" })).toEqual({
      workspace_key: "proj-a",
      idempotency_key: "spawn-1",
    });
  });

  it("scrubs credentials, secret assignments, JWTs and blobs out of strings, nested too", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.dGhpcyBpcyBub3QgYSByZWFsIHNpZw";
    const event = {
      header: `Bearer ${RUNNER_TOKEN}`,
      nested: {
        note: `SECRET=hunter2-xyz make build && curl -H "Authorization: Basic dXNlcjpwYXNz" --password=swordfish`,
      },
      list: [`token: ${RUNNER_TOKEN}`, `jwt ${jwt}`, `key ${HEX_KEY}`],
    };
    const redacted = JSON.stringify(redactSecrets(event));
    for (const secret of [RUNNER_TOKEN, "hunter2", "dXNlcjpwYXNz", "swordfish", jwt, HEX_KEY])
      expect(redacted).not.toContain(secret);
    expect(redactSecrets(event)).toEqual({
      header: `Bearer ${REDACTED}`,
      nested: {
        note: `SECRET=${REDACTED} make build && curl -H "Authorization: Basic ${REDACTED}" --password=${REDACTED}`,
      },
      list: [`token: ${REDACTED}`, `jwt ${REDACTED}`, `key ${REDACTED}`],
    });
  });

  it("keeps paths, ids, image digests and manifest digests readable", () => {
    const event = {
      path: "/work/src/components/Header.tsx",
      image: `devhatchery-test/runner@sha256:${HEX_KEY}`,
      sha256: HEX_KEY,
      runner: "r-0a1b2c3d4e5f",
      correlation: "6f1c2a9e-7b1d-4c59-9d0e-1f2a3b4c5d6e",
    };
    expect(redactSecrets(event)).toEqual(event);
  });

  it("redacts a long mixed-case base64 blob but not a long plain word run", () => {
    expect(redactText(`data ${RUNNER_TOKEN} end`)).toBe(`data ${REDACTED} end`);
    expect(redactText("node_modules/some-very-long-package-name-without-digits")).toBe(
      "node_modules/some-very-long-package-name-without-digits",
    );
  });

  it("turns errors into their name and scrubbed message", () => {
    expect(redactSecrets({ err: new Error(`failed with token=${RUNNER_TOKEN}`) })).toEqual({
      err: { name: "Error", message: `failed with token=${REDACTED}` },
    });
  });
});
