import { defineConfig } from "vitest/config";

// Three tiers (STYLE.md): unit tests beside the code, docker tests against the real engine, and end-to-end
// tests from a real MCP client through the control plane to an agent in a real runner.
const dockerEnv = {
  // The reaper image cannot be pulled on offline machines; tests clean up by label themselves.
  TESTCONTAINERS_RYUK_DISABLED: "true",
  TESTCONTAINERS_HOST_OVERRIDE: "localhost",
};

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["runner-agent/src/**/*.test.ts", "control-plane/src/**/*.test.ts"],
          exclude: ["**/*.docker.test.ts", "**/node_modules/**", "**/dist/**"],
          // No Docker and no developer state: HOME, XDG folders and DOCKER_HOST point at nothing real.
          setupFiles: ["control-plane/test/unit-isolation.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "docker",
          include: ["runner-agent/src/**/*.docker.test.ts", "control-plane/src/**/*.docker.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          env: dockerEnv,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          env: dockerEnv,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
