import { describe, expect, it } from "vitest";
import { MIN_REDACTED_LENGTH, SecretRedactor } from "./secret-redactor.js";

const TOKEN = "ghp_0123456789abcdef";

/** Pushes every chunk and flushes, returning what each call let through. */
function stream(redactor: SecretRedactor, chunks: string[]): string[] {
  return [...chunks.map((chunk) => redactor.push(chunk)), redactor.flush()];
}

describe("SecretRedactor", () => {
  it("replaces every occurrence of a value in a chunk with its name", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(redactor.push(`token=${TOKEN} again ${TOKEN}\n`)).toBe(
      "token=[secret GITHUB_TOKEN] again [secret GITHUB_TOKEN]\n",
    );
    expect(redactor.flush()).toBe("");
  });

  it("redacts a value split across two chunks, holding back only the part that could start it", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(stream(redactor, [`auth: ${TOKEN.slice(0, 7)}`, `${TOKEN.slice(7)} ok`])).toEqual([
      "auth: ",
      "[secret GITHUB_TOKEN] ok",
      "",
    ]);
  });

  it("redacts a value split across three chunks, the middle one letting nothing through", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(stream(redactor, [`a ${TOKEN.slice(0, 3)}`, TOKEN.slice(3, 12), `${TOKEN.slice(12)} b`])).toEqual([
      "a ",
      "",
      "[secret GITHUB_TOKEN] b",
      "",
    ]);
  });

  it("redacts a value cut at every position between two chunks", () => {
    for (let cut = 0; cut <= TOKEN.length; cut++) {
      const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
      const text = stream(redactor, [`<${TOKEN.slice(0, cut)}`, `${TOKEN.slice(cut)}>`]).join("");
      expect(text, `cut at ${cut}`).toBe("<[secret GITHUB_TOKEN]>");
    }
  });

  it("lets a held-back start through on the next push once it turns out not to be a secret", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(redactor.push("see ghp_01")).toBe("see ");
    expect(redactor.push("9 more")).toBe("ghp_019 more");
    expect(redactor.flush()).toBe("");
  });

  it("lets a held-back start through on flush when the stream ends, and only once", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(redactor.push("last words ghp_0123")).toBe("last words ");
    expect(redactor.flush()).toBe("ghp_0123");
    expect(redactor.flush()).toBe("");
  });

  it(`leaves values shorter than ${MIN_REDACTED_LENGTH} characters alone and holds nothing back for them`, () => {
    const short = "x".repeat(MIN_REDACTED_LENGTH - 1);
    const shortest = "y".repeat(MIN_REDACTED_LENGTH);
    const redactor = new SecretRedactor(
      new Map([
        ["SHORT", short],
        ["SHORTEST_REDACTED", shortest],
      ]),
    );
    expect(redactor.push(`${short} ${shortest} x`)).toBe(`${short} [secret SHORTEST_REDACTED] x`);
    expect(redactor.push("xx")).toBe("xx");
    expect(redactor.redact(`${short}!`)).toBe(`${short}!`);
  });

  it("replaces a value that contains another one whole, whichever order they were given in", () => {
    const password = "hunter22";
    const url = `postgres://app:${password}@db/app`;
    for (const secrets of [
      [
        ["DB_PASSWORD", password],
        ["DATABASE_URL", url],
      ],
      [
        ["DATABASE_URL", url],
        ["DB_PASSWORD", password],
      ],
    ] as Array<Array<[string, string]>>) {
      const redactor = new SecretRedactor(new Map(secrets));
      expect(redactor.push(`connect ${url} (password ${password})\n`)).toBe(
        "connect [secret DATABASE_URL] (password [secret DB_PASSWORD])\n",
      );
      expect(redactor.redact(`${url}${password}`)).toBe("[secret DATABASE_URL][secret DB_PASSWORD]");
    }
  });

  it("replaces a value containing another whole also when a chunk ends right after the inner one", () => {
    const password = "hunter22";
    const url = `postgres://app:${password}@db/app`;
    const redactor = new SecretRedactor(
      new Map([
        ["DB_PASSWORD", password],
        ["DATABASE_URL", url],
      ]),
    );
    const out = [redactor.push("connect postgres://app:hunter22"), redactor.push("@db/app\n"), redactor.flush()];
    expect(out.join("")).toBe("connect [secret DATABASE_URL]\n");
    // The inner value alone, cut the same way, is still the inner value.
    const alone = [redactor.push("pw hunter22"), redactor.push(" ok"), redactor.flush()].join("");
    expect(alone).toBe("pw [secret DB_PASSWORD] ok");
  });

  it("never cuts a whole value when the end held back is the start of another", () => {
    const redactor = new SecretRedactor(
      new Map([
        ["FIRST", "SECRETVALUE"],
        ["SECOND", "LUEzzzz"],
      ]),
    );
    const out = [redactor.push("xx SECRETVALUE"), redactor.push("yy"), redactor.flush()].join("");
    expect(out).toBe("xx [secret FIRST]yy");
    expect(out).not.toContain("SECRET" + "VAL");
  });

  it("redacts a whole text at once without holding anything back", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(redactor.redact(`{"error":"bad token ${TOKEN}"} ends with ghp_01`)).toBe(
      '{"error":"bad token [secret GITHUB_TOKEN]"} ends with ghp_01',
    );
    // redact() does not touch the stream's held-back text.
    expect(redactor.flush()).toBe("");
  });

  it("passes text through unchanged when there are no secrets", () => {
    const redactor = new SecretRedactor(new Map());
    expect(redactor.push("ghp_0123 anything\n")).toBe("ghp_0123 anything\n");
    expect(redactor.flush()).toBe("");
    expect(redactor.redact("anything")).toBe("anything");
  });

  it("passes text through unchanged when no secret value appears in it", () => {
    const redactor = new SecretRedactor(new Map([["GITHUB_TOKEN", TOKEN]]));
    expect(stream(redactor, ["nothing to hide\n", "still nothing."])).toEqual([
      "nothing to hide\n",
      "still nothing.",
      "",
    ]);
  });
});
