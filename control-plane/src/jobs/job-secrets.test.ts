import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../auth/principal.js";
import type { JobProfileConfig, JobsConfig } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import { MAX_JOB_SECRETS, MAX_SECRET_BYTES, resolveJobSecrets, type GivenSecret } from "./job-secrets.js";

const ALICE: Principal = { id: "alice" };
const BOB: Principal = { id: "bob", groups: ["dev", "ops"] };
const CAROL: Principal = { id: "carol" };

let dir: string;
let operatorSecrets: JobsConfig["secrets"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "devhatchery-job-secrets-"));
  const secretFile = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };
  await mkdir(join(dir, "a-folder"));
  operatorSecrets = [
    { name: "anthropic", file: await secretFile("anthropic", "  sk-ant-0123456789\n"), principals: ["*"] },
    { name: "alice-only", file: await secretFile("alice-only", "alice-token-1234"), principals: ["alice"] },
    { name: "dev-team", file: await secretFile("dev-team", "dev-token-5678\n"), principals: ["carol", "group:dev"] },
    { name: "missing-file", file: join(dir, "not-there"), principals: ["*"] },
    { name: "folder", file: join(dir, "a-folder"), principals: ["*"] },
    { name: "blank", file: await secretFile("blank", " \n\t\n"), principals: ["*"] },
    { name: "huge", file: await secretFile("huge", "x".repeat(MAX_SECRET_BYTES + 1)), principals: ["*"] },
  ];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function profile(secrets: JobProfileConfig["secrets"] = []): JobProfileConfig {
  return {
    name: "claude-code",
    description: undefined,
    image: "devhatchery/claude:1",
    command: ["devhatchery-claude-job"],
    result: "stdout_json",
    timeoutS: 600,
    network: true,
    env: {},
    secrets,
  };
}

async function refusal(
  principal: Principal,
  given: Record<string, GivenSecret>,
  jobProfile = profile(),
): Promise<ControlPlaneError> {
  try {
    await resolveJobSecrets(principal, given, jobProfile, operatorSecrets);
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError);
    return error as ControlPlaneError;
  }
  throw new Error("resolveJobSecrets should have refused");
}

const notAvailable = (name: string, ref: string, asker = "secrets"): string =>
  `Secret ${name}: no operator secret "${ref}" is available to you (${asker} asked for it); ask the operator to add it to jobs.secrets with you in its principals, or pass the value.`;

describe("resolveJobSecrets", () => {
  it("takes values passed by value, recording only that they were values", async () => {
    const secrets = await resolveJobSecrets(ALICE, { API_KEY: "key-123456", OTHER: "  spaced  " }, profile(), []);
    expect(secrets.values).toEqual(
      new Map([
        ["API_KEY", "key-123456"],
        ["OTHER", "  spaced  "],
      ]),
    );
    expect(secrets.sources).toEqual({ API_KEY: { source: "value" }, OTHER: { source: "value" } });
  });

  it("reads an operator secret named by ref from its file, trimmed, recording the ref and not the value", async () => {
    const secrets = await resolveJobSecrets(
      ALICE,
      { ANTHROPIC_API_KEY: { ref: "anthropic" } },
      profile(),
      operatorSecrets,
    );
    expect(secrets.values).toEqual(new Map([["ANTHROPIC_API_KEY", "sk-ant-0123456789"]]));
    expect(secrets.sources).toEqual({ ANTHROPIC_API_KEY: { source: "operator", ref: "anthropic" } });
    expect(JSON.stringify(secrets.sources)).not.toContain("sk-ant");
  });

  it('lets "*" secrets be used by anyone, and others by the listed principal or a member of a listed group', async () => {
    const resolve = async (principal: Principal, ref: string) =>
      (await resolveJobSecrets(principal, { TOKEN: { ref } }, profile(), operatorSecrets)).values.get("TOKEN");
    expect(await resolve(CAROL, "anthropic")).toBe("sk-ant-0123456789");
    expect(await resolve(ALICE, "alice-only")).toBe("alice-token-1234");
    expect(await resolve(CAROL, "dev-team")).toBe("dev-token-5678");
    expect(await resolve(BOB, "dev-team")).toBe("dev-token-5678");
  });

  it("refuses a secret the principal may not use with the same answer as one that does not exist", async () => {
    const forbidden = await refusal(BOB, { TOKEN: { ref: "alice-only" } });
    const noGroups = await refusal(ALICE, { TOKEN: { ref: "dev-team" } });
    const wrongGroup = await refusal({ id: "dave", groups: ["ops", "developers"] }, { TOKEN: { ref: "dev-team" } });
    const saved = operatorSecrets;
    operatorSecrets = saved.filter((secret) => secret.name !== "alice-only");
    const absent = await refusal(BOB, { TOKEN: { ref: "alice-only" } });
    operatorSecrets = saved;
    expect([forbidden.code, forbidden.message]).toEqual(["PERMISSION_DENIED", notAvailable("TOKEN", "alice-only")]);
    expect([absent.code, absent.message]).toEqual([forbidden.code, forbidden.message]);
    expect([noGroups.code, noGroups.message]).toEqual(["PERMISSION_DENIED", notAvailable("TOKEN", "dev-team")]);
    expect([wrongGroup.code, wrongGroup.message]).toEqual(["PERMISSION_DENIED", notAvailable("TOKEN", "dev-team")]);
  });

  it("supplies a profile's secret from its operator secret when the caller leaves it out", async () => {
    const jobProfile = profile([{ name: "ANTHROPIC_API_KEY", from: "anthropic" }]);
    const secrets = await resolveJobSecrets(CAROL, { EXTRA: "extra-value" }, jobProfile, operatorSecrets);
    expect(secrets.values).toEqual(
      new Map([
        ["EXTRA", "extra-value"],
        ["ANTHROPIC_API_KEY", "sk-ant-0123456789"],
      ]),
    );
    expect(secrets.sources).toEqual({
      EXTRA: { source: "value" },
      ANTHROPIC_API_KEY: { source: "operator", ref: "anthropic" },
    });
  });

  it("lets the caller's value win over the profile's operator secret, without reading it", async () => {
    const jobProfile = profile([{ name: "TOKEN", from: "alice-only" }]);
    const secrets = await resolveJobSecrets(CAROL, { TOKEN: "my-own-token" }, jobProfile, operatorSecrets);
    expect(secrets.values).toEqual(new Map([["TOKEN", "my-own-token"]]));
    expect(secrets.sources).toEqual({ TOKEN: { source: "value" } });
  });

  it("refuses a profile's secret that the principal may not use, naming the profile as the asker", async () => {
    const error = await refusal(CAROL, {}, profile([{ name: "TOKEN", from: "alice-only" }]));
    expect([error.code, error.message]).toEqual([
      "PERMISSION_DENIED",
      notAvailable("TOKEN", "alice-only", 'profile "claude-code"'),
    ]);
  });

  it("refuses a job that leaves out a secret its profile needs and has no operator secret for, naming it", async () => {
    const error = await refusal(ALICE, { OTHER: "other-value" }, profile([{ name: "GITHUB_TOKEN", from: undefined }]));
    expect([error.code, error.message]).toEqual([
      "INVALID_ARGUMENT",
      'Profile "claude-code" needs the secret GITHUB_TOKEN; pass it in secrets, e.g. {"GITHUB_TOKEN": "…"} or {"GITHUB_TOKEN": {"ref": "<operator secret>"}}.',
    ]);
  });

  it.each([
    ["missing-file", "ENOENT"],
    ["folder", "EISDIR"],
  ])(
    "reports an operator secret whose file cannot be read (%s) as the operator's problem, without its path",
    async (ref, code) => {
      const error = await refusal(ALICE, { TOKEN: { ref } });
      expect([error.code, error.message]).toEqual([
        "FAILED_PRECONDITION",
        `Secret TOKEN: the operator secret "${ref}" cannot be read on the server (${code}); tell the operator (jobs.secrets, its file).`,
      ]);
      expect(error.message).not.toContain(dir);
    },
  );

  it("refuses an empty value, passed or read from an operator secret that holds only whitespace", async () => {
    const passed = await refusal(ALICE, { TOKEN: "" });
    expect([passed.code, passed.message]).toEqual([
      "INVALID_ARGUMENT",
      "Secret TOKEN: the value passed is empty; a secret needs a value.",
    ]);
    const blank = await refusal(ALICE, { TOKEN: { ref: "blank" } });
    expect([blank.code, blank.message]).toEqual([
      "INVALID_ARGUMENT",
      'Secret TOKEN: the operator secret "blank" is empty; a secret needs a value.',
    ]);
  });

  it(`takes a value of exactly ${MAX_SECRET_BYTES} bytes and refuses a larger one, counting UTF-8 bytes`, async () => {
    const exact = "x".repeat(MAX_SECRET_BYTES);
    expect((await resolveJobSecrets(ALICE, { BIG: exact }, profile(), [])).values.get("BIG")).toBe(exact);
    const tooLarge = `Secret BIG: the value passed is larger than ${MAX_SECRET_BYTES} bytes; secrets are keys and tokens, not files.`;
    for (const value of ["x".repeat(MAX_SECRET_BYTES + 1), "é".repeat(MAX_SECRET_BYTES / 2 + 1)]) {
      const error = await refusal(ALICE, { BIG: value });
      expect([error.code, error.message]).toEqual(["INVALID_ARGUMENT", tooLarge]);
    }
    const file = await refusal(ALICE, { BIG: { ref: "huge" } });
    expect([file.code, file.message]).toEqual([
      "INVALID_ARGUMENT",
      `Secret BIG: the operator secret "huge" is larger than ${MAX_SECRET_BYTES} bytes; secrets are keys and tokens, not files.`,
    ]);
  });

  it(`takes ${MAX_JOB_SECRETS} secrets and refuses more, counting the profile's by name`, async () => {
    const given = Object.fromEntries(
      Array.from({ length: MAX_JOB_SECRETS }, (_, index) => [`SECRET_${index}`, `value-${index}`]),
    );
    const sameName = profile([{ name: "SECRET_0", from: "anthropic" }]);
    expect((await resolveJobSecrets(ALICE, given, sameName, operatorSecrets)).values.size).toBe(MAX_JOB_SECRETS);
    const tooMany = `A job may have at most ${MAX_JOB_SECRETS} secrets; it has ${MAX_JOB_SECRETS + 1}.`;
    const extraGiven = await refusal(ALICE, { ...given, ONE_MORE: "value-x" });
    expect([extraGiven.code, extraGiven.message]).toEqual(["INVALID_ARGUMENT", tooMany]);
    const extraInProfile = await refusal(ALICE, given, profile([{ name: "ANTHROPIC_API_KEY", from: "anthropic" }]));
    expect([extraInProfile.code, extraInProfile.message]).toEqual(["INVALID_ARGUMENT", tooMany]);
  });
});
