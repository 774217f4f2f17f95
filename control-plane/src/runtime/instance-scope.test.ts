import { describe, expect, it } from "vitest";
import { InstanceScope } from "./instance-scope.js";

const mine = { "io.devhatchery.instance": "a" };
const theirs = { "io.devhatchery.instance": "b" };
const unlabelled = { "io.devhatchery.owner": "alice" };

describe("InstanceScope", () => {
  it("owns only its own instance's objects, and filters for them at the engine", () => {
    const scope = new InstanceScope("a");
    expect([scope.owns(mine), scope.owns(theirs), scope.owns(unlabelled), scope.owns(undefined)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(scope.labelFilter()).toEqual(["io.devhatchery.instance=a"]);
    expect(scope.labels()).toEqual(mine);
  });

  it("adopts objects made before instance labels only when told, never another instance's", () => {
    const scope = new InstanceScope("a", true);
    expect([
      scope.owns(mine),
      scope.owns(theirs),
      scope.owns(unlabelled),
      scope.owns({ "io.devhatchery.instance": "" }),
    ]).toEqual([true, false, true, true]);
    // An engine filter cannot match "label absent": the listing is filtered by owns() instead.
    expect(scope.labelFilter()).toEqual([]);
  });
});
