import { describe, expect, it } from "vitest";
import { PullProgressTracker } from "./pull-progress.js";

describe("PullProgressTracker", () => {
  it("reports the bytes of all layers together, counting finished layers as complete", () => {
    const tracker = new PullProgressTracker();
    expect(tracker.update({ status: "Pulling from team/image", id: "1" })).toEqual({
      status: "Pulling from team/image",
      fraction: undefined,
    });
    expect(tracker.update({ status: "Downloading", id: "a", progressDetail: { current: 50, total: 100 } })).toEqual({
      status: "Downloading",
      fraction: 0.5,
    });
    expect(tracker.update({ status: "Downloading", id: "b", progressDetail: { current: 0, total: 300 } })).toEqual({
      status: "Downloading",
      fraction: 50 / 400,
    });
    expect(tracker.update({ status: "Download complete", id: "a" })).toEqual({
      status: "Download complete",
      fraction: 100 / 400,
    });
    expect(
      tracker.update({ status: "Downloading", id: "b", progressDetail: { current: 300, total: 300 } }).fraction,
    ).toBe(1);
    // Extraction reports bytes too, but of another quantity: it does not move the download fraction.
    expect(
      tracker.update({ status: "Extracting", id: "b", progressDetail: { current: 10, total: 900 } }).fraction,
    ).toBe(1);
  });
});
