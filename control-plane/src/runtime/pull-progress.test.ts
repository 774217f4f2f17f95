import { describe, expect, it } from "vitest";
import { describePullProgress, PullProgressTracker } from "./pull-progress.js";

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
      bytes: { current: 50, total: 100 },
    });
    expect(
      tracker.update({ status: "Downloading", id: "b", progressDetail: { current: 0, total: 300 } }),
    ).toMatchObject({
      status: "Downloading",
      fraction: 50 / 400,
    });
    expect(tracker.update({ status: "Download complete", id: "a" })).toMatchObject({
      status: "Download complete",
      fraction: 100 / 400,
      bytes: { current: 100, total: 400 },
    });
    expect(
      tracker.update({ status: "Downloading", id: "b", progressDetail: { current: 300, total: 300 } }).fraction,
    ).toBe(1);
    // Extraction reports bytes too, but of another quantity: it does not move the download fraction.
    expect(
      tracker.update({ status: "Extracting", id: "b", progressDetail: { current: 10, total: 900 } }).fraction,
    ).toBe(1);
  });

  it("counts the image's layers and those that are local, and says it in words", () => {
    const tracker = new PullProgressTracker();
    tracker.update({ status: "Pulling from team/image", id: "1" });
    tracker.update({ status: "Already exists", id: "aaaaaaaaaaaa" });
    tracker.update({ status: "Pulling fs layer", id: "bbbbbbbbbbbb" });
    const downloading = tracker.update({
      status: "Downloading",
      id: "bbbbbbbbbbbb",
      progressDetail: { current: 13_550_000, total: 27_100_000 },
    });
    expect(downloading.layers).toEqual({ done: 1, total: 2 });
    expect(describePullProgress(downloading)).toBe("50% of 27.1 MB, 1 of 2 layers");
    expect(describePullProgress(tracker.update({ status: "Pull complete", id: "bbbbbbbbbbbb" }))).toBe(
      "100% of 27.1 MB, 2 of 2 layers",
    );
    expect(describePullProgress({ status: "Pulling from team/image", fraction: undefined })).toBe(
      "Pulling from team/image",
    );
  });
});
